//go:build !race

// The race detector allocates on its own account, so these pins are not built with -race.

package flowglad_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBillingHitAllocs pins the allocations of a cache hit of customers/billing: the
// handler's own, with a request and a writer reused (they allocate nothing per request) and
// an authenticator that allocates nothing. What a hit allocates today, and why:
//
//   - the request id, when the request brings none (one string: requestIDs.next);
//   - the slice holding the X-Request-Id and Content-Length values, and the
//     Content-Length digits (setJSONHeaders);
//   - the request body's buffer (readBody).
//
// If a change makes a hit allocate more, this fails: make the change cheaper, or, if the
// allocation is worth its cost, raise the pin in the same commit and say there what it buys.
// When a change saves an allocation, lower the pin so it is kept. No figure of time is
// asserted: allocations are exact, times on a shared machine are not.
func TestBillingHitAllocs(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		pin     float64
	}{
		{"no request id: a new one", nil, 4},
		{"the request's own id", map[string]string{"X-Request-Id": "req-1"}, 3},
		{"a browser's request: Origin and Sec-Fetch-Site", map[string]string{
			"X-Request-Id": "req-1", "Origin": "https://app.example", "Sec-Fetch-Site": "same-origin"}, 3},
	}
	h, canned := cannedHandler(t, time.Hour)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hit, w := servesBilling(h, tc.headers)
			hit() // the miss that fills the cache
			require.Equal(t, http.StatusOK, w.status)
			calls := canned.calls.Load()
			// The least of three measurements: an allocation of another goroutine (a
			// finished test's server winding down) can land in one, not in all.
			allocs := testing.AllocsPerRun(100, hit)
			for range 2 {
				allocs = min(allocs, testing.AllocsPerRun(100, hit))
			}
			require.Equal(t, http.StatusOK, w.status)
			require.Equal(t, calls, canned.calls.Load(), "every request measured was a hit")
			assert.LessOrEqual(t, allocs, tc.pin, "allocations of a billing hit")
			if allocs < tc.pin {
				t.Logf("a hit allocates %v, fewer than its pin %v: lower the pin", allocs, tc.pin)
			}
		})
	}
}

// TestBillingMissAllocs pins the allocations of a miss of customers/billing (no cache, one
// Flowglad read per request): the handler's own and its Flowglad client's, with a request
// and a writer reused and an authenticator that allocates nothing, as TestBillingHitAllocs
// does. The canned RoundTripper's own (the response, its header, its body's readers: 6)
// are in the figure too, the same whatever the handler does. What a miss allocates, from
// a memory profile of this test:
//
//   - what a hit does (TestBillingHitAllocs: the request id, the answer's varying header
//     values, the request body);
//   - the billing read that concurrent callers share (its flight and its channel: 2);
//   - the client call: its timeout (context.WithTimeout: 4), its path (1), its Request,
//     URL and header map (4), and what http.Client.Do copies of them for a redirect (the
//     header: 3, the URL: 1, the slice of requests: 1);
//   - Flowglad's body, in one buffer of its length (1), the BillingBody that locates its
//     members (1), and the entry the route relays (1).
//
// Same rules as the hit's pin: a change that makes a miss allocate more fails here; lower
// the pin when a change saves an allocation. (Before issue 17's second round of miss work:
// 38 and 37.)
func TestBillingMissAllocs(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		pin     float64
	}{
		{"no request id: a new one", nil, 29},
		{"the request's own id", map[string]string{"X-Request-Id": "req-1"}, 28},
	}
	h, canned := cannedHandler(t, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			miss, w := servesBilling(h, tc.headers)
			allocs := measureReads(t, canned, w, miss, 1)
			assert.LessOrEqual(t, allocs, tc.pin, "allocations of a billing miss")
			if allocs < tc.pin {
				t.Logf("a miss allocates %v, fewer than its pin %v: lower the pin", allocs, tc.pin)
			}
		})
	}
}

// TestCancelAllocs pins the allocations of subscriptions/cancel with billing read from
// Flowglad (no cache): the request's body decoded and checked, billing read and its narrow
// index read in the pass that checks it (the customer's id; each subscription's id,
// customer and status, in one string), ownership decided, the cancel POSTed (its body
// built, not encoded) and Flowglad's subscription relayed. Same harness and rules as
// TestBillingMissAllocs: the canned RoundTripper's own allocations are in the figure (6 per
// call, two calls). 127 before issue 17's second round of cancel work.
func TestCancelAllocs(t *testing.T) {
	const pin = 83
	h, canned := cannedHandler(t, 0)
	br := newBenchRequest("subscriptions/cancel", `{"id":"sub_pro_2","cancellation":{"timing":"at_end_of_current_billing_period"}}`)
	br.r.Header.Set("X-Session", "user_42")
	br.r.Header.Set("X-Request-Id", "req-1")
	w := &discardWriter{h: http.Header{}}
	cancel := func() {
		clear(w.h)
		w.status = http.StatusOK
		h.ServeHTTP(w, br.rewind())
	}
	allocs := measureReads(t, canned, w, cancel, 2) // billing, then the POST
	assert.LessOrEqual(t, allocs, float64(pin), "allocations of a cancel")
	if allocs < pin {
		t.Logf("a cancel allocates %v, fewer than its pin %v: lower the pin", allocs, pin)
	}
}

// cannedHandler is a Handler on a canned Flowglad with a billing cache of ttl (0: none, every
// request reads Flowglad), whose authenticator takes the customer from the X-Session header
// without allocating: the figures are the handler's.
func cannedHandler(t *testing.T, ttl time.Duration) (*flowglad.Handler, *cannedFlowglad) {
	t.Helper()
	canned := &cannedFlowglad{billing: realisticBilling(t)}
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:     "sk_test_allocs",
		BaseURL:    "https://flowglad.invalid",
		HTTPClient: &http.Client{Transport: canned},
		Logger:     slog.New(slog.DiscardHandler),
		Auth: flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
			if id := r.Header.Get("X-Session"); id != "" {
				return flowglad.Customer{ExternalID: id}, nil
			}
			return flowglad.Customer{}, flowglad.ErrUnauthenticated
		}),
		BillingCacheTTL: ttl,
	})
	require.NoError(t, err)
	return h, canned
}

// measureReads returns the fewest allocations of serve in three runs of AllocsPerRun, after
// a first call, checking that every call answered 200 and made calls Flowglad calls.
func measureReads(t *testing.T, canned *cannedFlowglad, w *discardWriter, serve func(), calls int64) float64 {
	t.Helper()
	serve()
	require.Equal(t, http.StatusOK, w.status)
	before := canned.calls.Load()
	allocs := testing.AllocsPerRun(100, serve)
	for range 2 {
		allocs = min(allocs, testing.AllocsPerRun(100, serve))
	}
	require.Equal(t, http.StatusOK, w.status)
	require.Equal(t, before+calls*3*101, canned.calls.Load(), "every request measured read Flowglad")
	return allocs
}

// servesBilling returns a function that serves customers/billing for user_42, with headers,
// through h, one rewound request and a writer that keeps nothing, and that writer.
func servesBilling(h http.Handler, headers map[string]string) (serve func(), w *discardWriter) {
	br := newBenchRequest("customers/billing", `{}`)
	br.r.Header.Set("X-Session", "user_42")
	for k, v := range headers {
		br.r.Header.Set(k, v)
	}
	w = &discardWriter{h: http.Header{}}
	return func() {
		clear(w.h)
		w.status = http.StatusOK
		h.ServeHTTP(w, br.rewind())
	}, w
}
