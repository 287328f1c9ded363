package rediscache_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/internal/logbuf"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/cache/rediscache"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

const (
	alice        = flowgladapitest.DemoCustomerAlice
	aliceBilling = "GET /api/v1/customers/user_alice/billing"
	aliceSub     = "sub_alice_pro"
	// The body key of Alice's billing.
	aliceKey = rediscache.DefaultPrefix + "{" + alice + "}"
)

// instance is one process of a deployment: a handler with a Redis billing cache of its own
// (its own client and Cache), and its log.
type instance struct {
	t    *testing.T
	name string
	h    *flowglad.Handler
	logs *logbuf.Buffer
}

func newInstance(t *testing.T, name string, fake *flowgladapitest.Server, cache flowglad.BillingCache) *instance {
	t.Helper()
	logs := &logbuf.Buffer{}
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  fake.APIKey(),
		BaseURL: fake.URL,
		Auth: flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
			if r.Header.Get("X-User") != alice {
				return flowglad.Customer{}, flowglad.ErrUnauthenticated
			}
			return flowglad.Customer{ExternalID: alice, Name: "Alice Example", Email: "alice@example.com"}, nil
		}),
		BillingCacheTTL: time.Hour,
		BillingCache:    cache,
		Logger:          slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	return &instance{t: t, name: name, h: h, logs: logs}
}

// serve sends a browser request for Alice to the route (safe off the test goroutine).
func (in *instance) serve(key, body string) (int, []byte) {
	r := httptest.NewRequest(http.MethodPost, "/api/flowglad/"+key, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-User", alice)
	w := httptest.NewRecorder()
	in.h.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// post sends a request and returns the envelope's data, failing the test unless the answer
// is 200.
func (in *instance) post(key, body string) map[string]any {
	in.t.Helper()
	status, b := in.serve(key, body)
	require.Equal(in.t, http.StatusOK, status, "%s %s: %s", in.name, key, b)
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	require.NoError(in.t, json.Unmarshal(b, &env), "%s", b)
	var d map[string]any
	require.NoError(in.t, json.Unmarshal(env.Data, &d), "%s", b)
	return d
}

// billing reads Alice's billing through the route: her api-calls balance and her Pro
// subscription's status.
func (in *instance) billing() (balance float64, status string) {
	in.t.Helper()
	return parseBilling(in.t, in.post("customers/billing", `{}`))
}

// parseBilling picks Alice's api-calls balance and her Pro subscription's status out of
// her billing.
func parseBilling(t *testing.T, d map[string]any) (balance float64, status string) {
	t.Helper()
	balance, status = parseBillingValues(d)
	require.NotEmpty(t, status, "no %s in billing", aliceSub)
	return balance, status
}

// assertBalance reads Alice's billing through the route and checks her api-calls balance.
func (in *instance) assertBalance(want float64, why ...string) {
	in.t.Helper()
	bal, _ := in.billing()
	assert.EqualValues(in.t, want, bal, "through %s: %s", in.name, strings.Join(why, "; "))
}

// useAPI records usage through the route.
func (in *instance) useAPI(amount int) {
	in.t.Helper()
	in.post("usage-events/create", `{"usageMeterSlug":"api-calls","amount":`+itoa(amount)+`}`)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// billingReads counts the fake's billing reads since the last call.
func billingReads(fake *flowgladapitest.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Method+" "+r.Path == aliceBilling {
			n++
		}
	}
	fake.ResetRequests()
	return n
}

// TestRedisSharedAcrossInstances: two instances share one Redis. A read through one fills
// the cache for both; a mutation through the first, and an invalidation after a change made
// elsewhere (a webhook), are seen by the second's next read.
func TestRedisSharedAcrossInstances(t *testing.T) {
	srv := startRedis(t)
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	a := newInstance(t, "A", fake, newCache(t, srv.client(true)))
	b := newInstance(t, "B", fake, newCache(t, srv.client(true)))

	a.assertBalance(1000)
	assert.Equal(t, 1, billingReads(fake), "A's read fills the shared cache")
	b.assertBalance(1000)
	assert.Zero(t, billingReads(fake), "B's read is a hit")

	a.useAPI(5)
	fake.ResetRequests()
	b.assertBalance(995, "B sees A's usage event at once")
	a.assertBalance(995)
	assert.Equal(t, 1, billingReads(fake), "B's read filled the cache again")

	a.post("subscriptions/cancel", `{"id":"`+aliceSub+`","cancellation":{"timing":"at_end_of_current_billing_period"}}`)
	_, status := b.billing()
	assert.Equal(t, "cancellation_scheduled", status, "B sees A's cancellation at once")

	// A change made outside the handler (a webhook on A): B's next read sees it.
	assert.Equal(t, 1, billingReads(fake), "B read once, after the cancellation, and filled the cache")
	require.NoError(t, fake.SetSubscriptionStatus(aliceSub, "past_due"))
	_, status = b.billing()
	assert.Equal(t, "cancellation_scheduled", status, "cached until someone invalidates")
	require.NoError(t, a.h.Service().InvalidateBilling(context.Background(), alice))
	_, status = b.billing()
	assert.Equal(t, "past_due", status)
}

// TestRedisReadRacingMutation: B reads Flowglad before A's mutation, but its answer comes
// back after A's mutation and Delete. B answers its own request with what it read (it asked
// first), but must not store that body: B's next read sees the mutation.
func TestRedisReadRacingMutation(t *testing.T) {
	srv := startRedis(t)
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	// B reaches the same fake through a link that can hold billing answers back.
	read, release := make(chan struct{}), make(chan struct{})
	var hold sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, r) // Flowglad computes the answer now...
		if r.Method+" "+r.URL.EscapedPath() == aliceBilling {
			hold.Do(func() { close(read); <-release }) // ...and it arrives later
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(slow.Close)
	a := newInstance(t, "A", fake, newCache(t, srv.client(true)))
	bFake := *fake
	bFake.URL = slow.URL
	b := newInstance(t, "B", &bFake, newCache(t, srv.client(true)))

	type answer struct {
		status int
		body   []byte
	}
	first := make(chan answer, 1)
	go func() {
		status, body := b.serve("customers/billing", `{}`)
		first <- answer{status, body}
	}()
	<-read
	a.useAPI(5) // A reads billing (and caches it), records usage, deletes
	close(release)
	got := <-first
	require.Equal(t, http.StatusOK, got.status, "%s", got.body)
	var env struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(got.body, &env))
	bal, _ := parseBilling(t, env.Data)
	assert.EqualValues(t, 1000, bal, "B's first read was answered before the usage event")

	b.assertBalance(995, "B did not cache what it read before A's Delete")
	a.assertBalance(995)
}

// TestRedisOutage: Redis dies. Reads still answer from Flowglad (logged); a mutation during
// the outage cannot delete the cached body. Redis comes back with that old body (a restart
// that kept its data): neither instance serves it.
func TestRedisOutage(t *testing.T) {
	srv := startRedis(t)
	raw := srv.client(true)
	ctx := context.Background()
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	// No background replay during the test: B must be protected without A's help.
	opts := []rediscache.Option{rediscache.WithTimeout(100 * time.Millisecond), rediscache.WithReplayInterval(time.Hour)}
	a := newInstance(t, "A", fake, newCache(t, srv.client(true), opts...))
	b := newInstance(t, "B", fake, newCache(t, srv.client(true), opts...))

	a.billing()
	b.billing()
	require.Equal(t, 1, billingReads(fake), "cached, and shared")
	old, err := raw.Dump(ctx, aliceKey).Result()
	require.NoError(t, err)

	srv.kill()
	for _, in := range []*instance{a, b} {
		in.assertBalance(1000)
		assert.Contains(t, in.logs.String(), "reading the billing cache failed; reading Flowglad", in.name)
	}
	assert.Equal(t, 2, billingReads(fake), "both read Flowglad")

	a.useAPI(7) // its Delete fails
	assert.Contains(t, a.logs.String(), "deleting from the billing cache failed")
	a.assertBalance(993, "A reads Flowglad while Redis is down")

	// Redis comes back holding the body from before the usage event.
	srv.restart()
	require.NoError(t, raw.Restore(ctx, aliceKey, time.Hour, old).Err())
	fake.ResetRequests()
	b.assertBalance(993, "B must not serve the body from before the restart")
	assert.Equal(t, 1, billingReads(fake))
	a.assertBalance(993)
	b.assertBalance(993)

	// A mutation after the outage is seen as before.
	a.useAPI(3)
	b.assertBalance(990)
}

// TestRedisPartition: A loses Redis while B keeps it, and Redis keeps its data. That is
// the documented limit: B may read the body A could not delete until A reaches Redis again.
// A replays its deletes as soon as it does (here in the background, with no request to A),
// and from then on B reads the change.
func TestRedisPartition(t *testing.T) {
	srv := startRedis(t)
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	link := newProxy(t, srv.sock)
	opts := []rediscache.Option{rediscache.WithTimeout(100 * time.Millisecond), rediscache.WithReplayInterval(20 * time.Millisecond)}
	aCache, err := rediscache.New(unixClient(t, link.sock, true), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = aCache.Close() })
	a := newInstance(t, "A", fake, aCache)
	b := newInstance(t, "B", fake, newCache(t, srv.client(true), opts...))

	a.billing()
	b.billing()
	require.Equal(t, 1, billingReads(fake))

	link.setCut(true)
	a.useAPI(5)
	assert.Contains(t, a.logs.String(), "deleting from the billing cache failed")
	a.assertBalance(995, "A does not trust the cache for Alice until its Delete succeeds")
	b.assertBalance(1000, "the documented limit: B still reads the body A could not delete")

	link.setCut(false)
	require.Eventually(t, func() bool {
		bal, _ := b.billing()
		return bal == 995
	}, 5*time.Second, 10*time.Millisecond, "A's background replay deletes the old body")
	a.assertBalance(995)
}
