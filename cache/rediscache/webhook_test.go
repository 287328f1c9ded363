package rediscache_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/cache/rediscache"
	"github.com/flowglad-go/flowglad/internal/logbuf"
	"github.com/flowglad-go/flowglad/webhook"
)

var webhookSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("rediscache webhook test key"))

const canceledBody = `{"object":"subscription","id":"sub_1","customer":{"id":"cus_1","externalId":"user_42"},"pricingModelId":"pm_1"}`

// webhookInstance is one process receiving Flowglad's webhooks: a webhook handler whose
// store is a WebhookStore of its own, over its own Redis client.
type webhookInstance struct {
	name  string
	h     http.Handler
	store *rediscache.WebhookStore
	logs  *logbuf.Buffer

	mu   sync.Mutex
	runs map[string]int // event function calls by message id
	// block, when it holds a message id, makes the event function signal that it started
	// and wait for a value to return: a delivery that never ends, until the test says so.
	block map[string]*blocked
}

type blocked struct {
	started chan struct{}
	release chan error
}

func newWebhookInstance(t *testing.T, name string, srv *redisServer, opts ...rediscache.WebhookOption) *webhookInstance {
	t.Helper()
	in := &webhookInstance{
		name:  name,
		store: rediscache.NewWebhookStore(srv.client(true), opts...),
		logs:  &logbuf.Buffer{},
		runs:  map[string]int{},
		block: map[string]*blocked{},
	}
	h, err := webhook.NewHandler(webhookSecret, in.handle,
		webhook.WithStore(in.store),
		webhook.WithEventType(webhook.SubscriptionCanceled),
		webhook.WithLogger(slog.New(slog.NewTextHandler(in.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	in.h = h
	return in
}

func (in *webhookInstance) handle(_ context.Context, e webhook.Event) error {
	in.mu.Lock()
	in.runs[e.ID]++
	b := in.block[e.ID]
	delete(in.block, e.ID)
	in.mu.Unlock()
	if b == nil {
		return nil
	}
	close(b.started)
	return <-b.release // ignores its context, as a stuck dependency would
}

// blockOn makes the next run of the event function for id wait for a value to return.
func (in *webhookInstance) blockOn(id string) *blocked {
	in.mu.Lock()
	defer in.mu.Unlock()
	b := &blocked{started: make(chan struct{}), release: make(chan error, 1)}
	in.block[id] = b
	return b
}

func (in *webhookInstance) ran(id string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.runs[id]
}

// deliver posts message id signed as Flowglad sends it and returns the status (safe off
// the test goroutine).
func (in *webhookInstance) deliver(id string) int {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/flowglad/subscription-canceled", strings.NewReader(canceledBody))
	h, err := webhook.Sign(webhookSecret, id, time.Now(), []byte(canceledBody))
	if err != nil {
		panic(err)
	}
	maps.Copy(r.Header, h)
	w := httptest.NewRecorder()
	in.h.ServeHTTP(w, r)
	return w.Code
}

// TestWebhookStoreSharedByInstances: two instances share one Redis. Each message is handled
// once across both: a redelivery to the other instance is acknowledged without running
// again, concurrent copies run once, a failure is handled again by whichever instance gets
// the retry, and a delivery whose instance died is taken over once its claim expires.
func TestWebhookStoreSharedByInstances(t *testing.T) {
	srv := startRedis(t)
	const claimTTL = 300 * time.Millisecond
	a := newWebhookInstance(t, "A", srv, rediscache.WithClaimTTL(claimTTL))
	b := newWebhookInstance(t, "B", srv, rediscache.WithClaimTTL(claimTTL))

	t.Run("a redelivery to the other instance", func(t *testing.T) {
		assert.Equal(t, http.StatusNoContent, a.deliver("msg_once"))
		assert.Equal(t, http.StatusNoContent, b.deliver("msg_once"))
		assert.Equal(t, http.StatusNoContent, a.deliver("msg_once"))
		assert.Equal(t, 1, a.ran("msg_once")+b.ran("msg_once"))
	})

	t.Run("concurrent copies run once", func(t *testing.T) {
		statuses := make(chan int, 20)
		var wg sync.WaitGroup
		for i := range 20 {
			in := []*webhookInstance{a, b}[i%2]
			wg.Go(func() { statuses <- in.deliver("msg_concurrent") })
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			assert.Contains(t, []int{http.StatusNoContent, http.StatusConflict}, s)
		}
		assert.Equal(t, 1, a.ran("msg_concurrent")+b.ran("msg_concurrent"))
		assert.Equal(t, http.StatusNoContent, b.deliver("msg_concurrent"))
		assert.Equal(t, 1, a.ran("msg_concurrent")+b.ran("msg_concurrent"))
	})

	t.Run("a failure is handled again elsewhere", func(t *testing.T) {
		a.blockOn("msg_fails").release <- errors.New("downstream refused")
		assert.Equal(t, http.StatusInternalServerError, a.deliver("msg_fails"))
		assert.Equal(t, http.StatusNoContent, b.deliver("msg_fails"), "released: the retry is handled")
		assert.Equal(t, 1, b.ran("msg_fails"))
		assert.Equal(t, http.StatusNoContent, a.deliver("msg_fails"))
		assert.Equal(t, 1, a.ran("msg_fails"))
	})

	t.Run("an instance killed mid-delivery", func(t *testing.T) {
		// A's function never returns: as far as the others can tell, A died holding the
		// claim.
		stuck := a.blockOn("msg_killed")
		answered := make(chan int, 1)
		go func() { answered <- a.deliver("msg_killed") }()
		select {
		case <-stuck.started:
		case <-time.After(10 * time.Second):
			t.Fatal("A never started the delivery")
		}
		assert.Equal(t, http.StatusConflict, b.deliver("msg_killed"), "claimed by A: Flowglad retries later")
		assert.Zero(t, b.ran("msg_killed"))

		// Flowglad retries; once A's claim has expired B handles the message.
		require.Eventually(t, func() bool { return b.deliver("msg_killed") == http.StatusNoContent },
			10*time.Second, claimTTL/10)
		assert.Equal(t, 1, b.ran("msg_killed"))
		assert.Equal(t, http.StatusNoContent, b.deliver("msg_killed"), "handled")
		assert.Equal(t, 1, b.ran("msg_killed"))

		// A comes back to life and fails: its release must not undo B's completion.
		stuck.release <- errors.New("gave up")
		select {
		case status := <-answered:
			assert.Equal(t, http.StatusInternalServerError, status)
		case <-time.After(10 * time.Second):
			t.Fatal("A never answered")
		}
		assert.Equal(t, http.StatusNoContent, b.deliver("msg_killed"))
		assert.Equal(t, http.StatusNoContent, a.deliver("msg_killed"))
		assert.Equal(t, 1, b.ran("msg_killed"))
		assert.Equal(t, 1, a.ran("msg_killed"))
	})
}

// TestWebhookStore: the states of an id and their TTLs in Redis, and failures.
func TestWebhookStore(t *testing.T) {
	srv := startRedis(t)
	raw := srv.client(true)
	ctx := context.Background()
	a := rediscache.NewWebhookStore(srv.client(true), rediscache.WithClaimTTL(time.Hour), rediscache.WithCompletedTTL(2*time.Hour))
	b := rediscache.NewWebhookStore(srv.client(true))
	claim := func(s *rediscache.WebhookStore, id string) webhook.ClaimStatus {
		t.Helper()
		st, err := s.Claim(ctx, id)
		require.NoError(t, err)
		return st
	}
	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := raw.PTTL(ctx, key).Result()
		require.NoError(t, err)
		return d
	}

	assert.Equal(t, webhook.Claimed, claim(a, "msg_1"))
	assert.Equal(t, webhook.InFlight, claim(b, "msg_1"))
	assert.Equal(t, webhook.InFlight, claim(a, "msg_1"), "a second copy in the same instance")
	assert.InDelta(t, time.Hour, pttl(rediscache.DefaultWebhookPrefix+"msg_1"), float64(time.Minute), "the claim TTL")

	require.NoError(t, b.Release(ctx, "msg_1"), "not B's claim: nothing to release")
	assert.Equal(t, webhook.InFlight, claim(b, "msg_1"))
	require.NoError(t, a.Release(ctx, "msg_1"))
	assert.Equal(t, webhook.Claimed, claim(b, "msg_1"), "released")

	require.NoError(t, b.Complete(ctx, "msg_1"))
	assert.Equal(t, webhook.Completed, claim(a, "msg_1"))
	assert.Equal(t, webhook.Completed, claim(b, "msg_1"))
	assert.InDelta(t, rediscache.DefaultCompletedTTL, pttl(rediscache.DefaultWebhookPrefix+"msg_1"), float64(time.Minute), "B's completed TTL")
	require.NoError(t, a.Release(ctx, "msg_1"), "released after completion: nothing to do")
	assert.Equal(t, webhook.Completed, claim(b, "msg_1"))

	assert.Equal(t, webhook.Claimed, claim(a, "msg_2"))
	require.NoError(t, a.Complete(ctx, "msg_2"))
	assert.InDelta(t, 2*time.Hour, pttl(rediscache.DefaultWebhookPrefix+"msg_2"), float64(time.Minute), "A's completed TTL")

	t.Run("prefixes separate applications", func(t *testing.T) {
		other := rediscache.NewWebhookStore(srv.client(true), rediscache.WithWebhookPrefix("staging:webhook:"))
		assert.Equal(t, webhook.Claimed, claim(other, "msg_1"))
		assert.Equal(t, int64(1), raw.Exists(ctx, "staging:webhook:msg_1").Val())
	})

	t.Run("failures", func(t *testing.T) {
		none := rediscache.NewWebhookStore(nil)
		_, err := none.Claim(ctx, "msg_3")
		assert.Error(t, err)
		assert.Error(t, none.Complete(ctx, "msg_3"))
		assert.Error(t, none.Release(ctx, "msg_3"))

		down := startRedis(t)
		s := rediscache.NewWebhookStore(down.client(true), rediscache.WithWebhookTimeout(100*time.Millisecond))
		assert.Equal(t, webhook.Claimed, claim(s, "msg_3"))
		down.kill()
		_, err = s.Claim(ctx, "msg_4")
		assert.Error(t, err)
		assert.Error(t, s.Release(ctx, "msg_3"))
		assert.Error(t, s.Complete(ctx, "msg_3"))
	})
}

// TestWebhookStoreReclaimBySameStore: a delivery whose claim expired while its function
// still ran (ignoring its context) is claimed again by a redelivery to the same instance.
// The first delivery failing then must not release the second's claim, which a third
// delivery would then take while the second still runs.
func TestWebhookStoreReclaimBySameStore(t *testing.T) {
	srv := startRedis(t)
	raw := srv.client(true)
	ctx := context.Background()
	a := rediscache.NewWebhookStore(srv.client(true))
	other := rediscache.NewWebhookStore(srv.client(true))
	key := rediscache.DefaultWebhookPrefix + "msg_slow"

	st, err := a.Claim(ctx, "msg_slow")
	require.NoError(t, err)
	require.Equal(t, webhook.Claimed, st, "the first delivery")
	require.NoError(t, raw.Del(ctx, key).Err()) // its claim expires; its function runs on
	st, err = a.Claim(ctx, "msg_slow")
	require.NoError(t, err)
	require.Equal(t, webhook.Claimed, st, "the redelivery, to the same instance")

	require.NoError(t, a.Release(ctx, "msg_slow"), "the first delivery fails")
	st, err = other.Claim(ctx, "msg_slow")
	require.NoError(t, err)
	assert.Equal(t, webhook.InFlight, st, "the redelivery still holds its claim")

	require.NoError(t, a.Complete(ctx, "msg_slow"), "the redelivery is handled")
	st, err = other.Claim(ctx, "msg_slow")
	require.NoError(t, err)
	assert.Equal(t, webhook.Completed, st)
}
