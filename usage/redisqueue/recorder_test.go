package redisqueue_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/redistest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/redisqueue"
)

// TestSendersLedgerIsTheRecorders: two instances share a queue, and each recorder was given
// the queue only (as the package example shows). Any instance sends what any of them
// recorded, so the one that sends an event must forget its pending usage where the one that
// recorded it noted it: with an in-process ledger each, A's balances subtracted forever the
// usage B had sent, until a paying customer's gate answered 402.
func TestSendersLedgerIsTheRecorders(t *testing.T) {
	srv := redistest.Start(t)
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	alice := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice}
	const meter = flowgladapitest.DemoUsageMeterAPICalls

	instance := func(consumer string) (*flowglad.Service, *usage.Recorder) {
		svc, err := flowglad.NewService(flowglad.Config{
			APIKey: fake.APIKey(), BaseURL: fake.URL, Logger: slog.New(slog.DiscardHandler),
			RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 0},
		})
		require.NoError(t, err)
		q := newQueue(t, srv.Client(), "shared", redisqueue.WithConsumer(consumer))
		rec, err := usage.NewRecorder(svc, usage.WithQueue(q), usage.WithFlushInterval(time.Hour))
		require.NoError(t, err)
		t.Cleanup(func() {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			assert.NoError(t, rec.Close(c))
			assert.NoError(t, q.Close())
		})
		return svc, rec
	}
	svcA, recA := instance("a")
	_, recB := instance("b")

	balance := func(svc *flowglad.Service) float64 {
		subs, err := svc.CurrentSubscriptions(ctx, alice)
		require.NoError(t, err)
		require.NotEmpty(t, subs)
		b := subs[0].UsageBalance(meter)
		require.NotNil(t, b)
		return b.AvailableBalance
	}
	before := balance(svcA)
	_, err := recA.Record(ctx, alice, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 5})
	require.NoError(t, err)
	require.Equal(t, before-5, balance(svcA), "A's balance sees its pending event")

	require.NoError(t, recB.Flush(ctx), "B sends A's event")
	require.Len(t, fake.UsageEvents(), 1)
	assert.Equal(t, before-5, balance(svcA), "the usage is subtracted once: by Flowglad, no longer as pending")
}
