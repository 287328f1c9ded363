package rediscache_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

// TestRedisDefaultsCacheAfterMutation: with the Cache's default options, the first read
// after a mutation is cached, on every instance: an active customer's reads are hits, not
// one Flowglad call each for seconds after every change.
func TestRedisDefaultsCacheAfterMutation(t *testing.T) {
	srv := startRedis(t)
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	a := newInstance(t, "A", fake, newCache(t, srv.client(true)))
	b := newInstance(t, "B", fake, newCache(t, srv.client(true)))

	a.assertBalance(1000)
	for i, in := range []*instance{a, b} {
		in.useAPI(5)
		want := float64(1000 - 5*(i+1))
		fake.ResetRequests()
		for range 3 {
			a.assertBalance(want, "after a usage event through "+in.name)
			b.assertBalance(want)
		}
		assert.Equal(t, 1, billingReads(fake), "after a usage event through %s: one Flowglad read, then hits", in.name)
	}
}

// TestRedisSeveralLoadersOneCache: with the default options, several loaders share one
// Cache in a process (a Handler and a worker's Service) while another instance changes the
// customer. The worker's read, begun before the change and answered after it, is not stored
// over it; the handler's first read after the change is, and is a hit everywhere after.
func TestRedisSeveralLoadersOneCache(t *testing.T) {
	srv := startRedis(t)
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	link := newHeldLink(t, fake)
	shared := newCache(t, srv.client(true))
	a := newInstance(t, "A", fake, shared)
	worker, err := flowglad.NewService(flowglad.Config{
		APIKey:          fake.APIKey(),
		BaseURL:         link.fake.URL,
		BillingCacheTTL: time.Hour,
		BillingCache:    shared,
		Logger:          slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	other := newInstance(t, "other", fake, newCache(t, srv.client(true)))

	type result struct {
		balance float64
		err     error
	}
	workerRead := make(chan result, 1)
	go func() {
		b, err := worker.Billing(context.Background(), flowglad.Customer{ExternalID: alice})
		if err != nil {
			workerRead <- result{err: err}
			return
		}
		bal := -1.0
		if m := b.CheckUsageBalance("api-calls"); m != nil {
			bal = m.AvailableBalance
		}
		workerRead <- result{balance: bal}
	}()
	within(t, link.read, "the worker's read never reached Flowglad")

	a.assertBalance(1000, "the handler reads while the worker's read runs")
	other.useAPI(5)
	fake.ResetRequests()
	a.assertBalance(995, "the handler sees the other instance's change")

	link.release()
	select {
	case got := <-workerRead:
		require.NoError(t, got.err)
		assert.EqualValues(t, 1000, got.balance, "the worker asked before the change")
	case <-time.After(10 * time.Second):
		t.Fatal("the worker's read never ended")
	}

	for range 3 {
		a.assertBalance(995, "the worker's old answer was not stored")
		other.assertBalance(995)
	}
	assert.Equal(t, 1, billingReads(fake), "the handler's read after the change was cached")
}
