package flowglad_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// burstLatency is the fake's answer time in the burst tests: long enough that the page's
// concurrent reads overlap even on a busy machine. Only call counts are asserted, never
// durations.
const burstLatency = 150 * time.Millisecond

// pageLoad is what a page that mounts useBilling, usePricingModel, useUsageMeters,
// useResources and useFeatures sends at once.
func pageLoad(user string) []request {
	return []request{
		{user: user, key: "customers/billing", body: `{}`},
		{user: user, key: "pricing-models/retrieve", body: `{}`},
		{user: user, key: "usage-meters/balances", body: `{}`},
		{user: user, key: "resources/usages", noBody: true},
		{user: user, key: "features/access", body: `{}`},
	}
}

// fireTogether sends the requests concurrently, released together by a barrier, and returns
// the answers in order.
func fireTogether(env *testEnv, reqs []request) []*response {
	out := make([]*response, len(reqs))
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i, rq := range reqs {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = env.do(rq)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// TestPageLoadBurst: the React SDK's page-load burst costs at most 3 Flowglad calls, because
// the four billing-based reads share one billing read (the reference makes about 11).
func TestPageLoadBurst(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.fake.SetLatency(burstLatency)
	for round := range 3 {
		for _, res := range fireTogether(env, pageLoad("user_alice")) {
			res.data(t)
		}
		calls := env.calls()
		assert.LessOrEqual(t, len(calls), 3, "round %d: %v", round, calls)
		assert.ElementsMatch(t, []string{aliceBilling, aliceBalances, aliceUsages}, calls, "round %d", round)
	}
}

func TestConcurrentBillingReads(t *testing.T) {
	t.Parallel()
	t.Run("one customer: one call", func(t *testing.T) {
		env := newEnv(t)
		env.fake.SetLatency(burstLatency)
		reqs := make([]request, 50)
		for i := range reqs {
			reqs[i] = request{user: "user_alice", key: "customers/billing", body: `{}`}
		}
		res := fireTogether(env, reqs)
		for _, r := range res {
			assert.Equal(t, string(res[0].Body), string(r.Body), "every waiter gets the same billing")
		}
		res[0].data(t)
		assert.Equal(t, []string{aliceBilling}, env.calls())
	})
	t.Run("different customers: one each", func(t *testing.T) {
		env := newEnv(t)
		env.fake.SetLatency(burstLatency)
		var reqs []request
		for range 20 {
			for _, u := range []string{"user_alice", "user_bob", "user_carol"} {
				reqs = append(reqs, request{user: u, key: "customers/billing", body: `{}`})
			}
		}
		for _, r := range fireTogether(env, reqs) {
			r.data(t)
		}
		assert.ElementsMatch(t, []string{aliceBilling, bobBilling, carolBilling, "POST /api/v1/customers", carolBilling}, env.calls(),
			"one read per customer; Carol is created once")
		assert.Len(t, env.fake.Customers(), 3)
	})
	t.Run("a failure is shared too, and not remembered", func(t *testing.T) {
		env := newEnv(t)
		env.fake.SetLatency(burstLatency)
		env.fake.FailNext(3, flowgladapitest.Fault{Status: 500})
		reqs := make([]request, 10)
		for i := range reqs {
			reqs[i] = request{user: "user_alice", key: "customers/billing", body: `{}`}
		}
		for _, r := range fireTogether(env, reqs) {
			r.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
		}
		assert.Equal(t, repeat(aliceBilling, 3), env.calls(), "one read, retried")
		env.post("user_alice", "customers/billing", `{}`).data(t)
		assert.Equal(t, []string{aliceBilling}, env.calls())
	})
}

// TestMutationInvalidatesBilling: with a billing cache, reads are free until a mutation for
// the customer, after which the next read goes to Flowglad and sees the change.
func TestMutationInvalidatesBilling(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withConfig(func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour }))
	availableBalance := func(res *response) any {
		d := res.data(t)
		subs, _ := d["currentSubscriptions"].([]any)
		require.Len(t, subs, 1)
		bals, _ := subs[0].(map[string]any)["experimental"].(map[string]any)["usageMeterBalances"].([]any)
		require.Len(t, bals, 1)
		return bals[0].(map[string]any)["availableBalance"]
	}

	assert.EqualValues(t, 1000, availableBalance(env.post("user_alice", "customers/billing", `{}`)))
	assert.Equal(t, []string{aliceBilling}, env.calls())
	env.post("user_alice", "customers/billing", `{}`).data(t)
	env.post("user_alice", "features/access", `{}`).data(t)
	assert.Empty(t, env.calls(), "served from the cache")

	env.post("user_bob", "customers/billing", `{}`).data(t)
	assert.Equal(t, []string{bobBilling}, env.calls(), "the cache is per customer")

	mustPost(t, env, "user_alice", "usage-events/create", `{"usageMeterSlug": "api-calls", "amount": 5}`)
	assert.Equal(t, []string{"POST /api/v1/usage-events"}, env.calls(), "billing came from the cache")

	assert.EqualValues(t, 995, availableBalance(env.post("user_alice", "customers/billing", `{}`)))
	assert.Equal(t, []string{aliceBilling}, env.calls(), "the mutation forgot Alice's billing")

	env.post("user_bob", "customers/billing", `{}`).data(t)
	assert.Empty(t, env.calls(), "Bob's billing is still cached")

	mustPost(t, env, "user_alice", "subscriptions/cancel", `{"id": "sub_alice_pro", "cancellation": {"timing": "at_end_of_current_billing_period"}}`)
	env.calls()
	d := env.post("user_alice", "customers/billing", `{}`).data(t)
	assert.Equal(t, []string{aliceBilling}, env.calls(), "cancel forgot Alice's billing")
	subs, _ := d["currentSubscriptions"].([]any)
	require.Len(t, subs, 1)
	assert.Equal(t, "cancellation_scheduled", subs[0].(map[string]any)["status"])
}

// TestMutationBetweenUncachedReads: without a cache every read goes to Flowglad, and a read
// after a mutation sees it.
func TestMutationBetweenUncachedReads(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.post("user_alice", "customers/billing", `{}`).data(t)
	mustPost(t, env, "user_alice", "usage-events/create", `{"usageMeterSlug": "api-calls"}`)
	assert.Equal(t, []string{aliceBilling, aliceBilling, "POST /api/v1/usage-events"}, env.calls())
	env.post("user_alice", "customers/billing", `{}`).data(t)
	assert.Equal(t, []string{aliceBilling}, env.calls())
}

// benchHandler is a handler on a fake Flowglad API, without the OpenAPI validation the tests
// add (it would dominate the numbers).
func benchHandler(b *testing.B) (*flowglad.Handler, *flowgladapitest.Server) {
	b.Helper()
	fake := flowgladapitest.NewServer(b, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()), flowgladapitest.WithClock(testNow))
	p := fastRetries
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey: fake.APIKey(), BaseURL: fake.URL, Auth: testAuth,
		Logger: slog.New(slog.DiscardHandler), RetryPolicy: &p,
	})
	require.NoError(b, err)
	return h, fake
}

func serveOnce(h http.Handler, rq request) int {
	var body io.Reader
	if !rq.noBody {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(http.MethodPost, "/api/flowglad/"+rq.key, body)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Test-User", rq.user)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func BenchmarkServeBilling(b *testing.B) {
	h, fake := benchHandler(b)
	b.ReportAllocs()
	rq := request{user: "user_alice", key: "customers/billing", body: `{}`}
	fake.ResetRequests()
	for b.Loop() {
		if code := serveOnce(h, rq); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
	b.ReportMetric(float64(len(fake.Requests()))/float64(b.N), "flowglad-calls/op")
}

func BenchmarkPageLoadBurst(b *testing.B) {
	h, fake := benchHandler(b)
	b.ReportAllocs()
	reqs := pageLoad("user_alice")
	fake.ResetRequests()
	for b.Loop() {
		var wg sync.WaitGroup
		codes := make([]int, len(reqs))
		for i, rq := range reqs {
			wg.Go(func() { codes[i] = serveOnce(h, rq) })
		}
		wg.Wait()
		for _, c := range codes {
			if c != http.StatusOK {
				b.Fatalf("status %d", c)
			}
		}
	}
	b.ReportMetric(float64(len(fake.Requests()))/float64(b.N), "flowglad-calls/op")
}
