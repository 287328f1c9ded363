package flowgladapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKey is distinctive so a leak into any error string or log is easy to
// spot; assertNoSecret searches for it.
const testKey = "sk_test_K3yMustNeverLeak_9f8e7d"

// rawID must reach the server as one escaped segment.
const (
	rawID     = "a b/c?d"
	escapedID = "a%20b%2Fc%3Fd"
)

// recorded is one request as the test server saw it, path still escaped.
type recorded struct {
	Method string
	Path   string
	Query  string
	Body   string
	Header http.Header
}

// stub is an httptest server that records every request and answers with
// respond.
type stub struct {
	mu      sync.Mutex
	reqs    []recorded
	respond http.HandlerFunc
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path, query, _ := strings.Cut(r.RequestURI, "?")
	s.mu.Lock()
	s.reqs = append(s.reqs, recorded{Method: r.Method, Path: path, Query: query, Body: string(body), Header: r.Header.Clone()})
	s.mu.Unlock()
	s.respond(w, r)
}

// soleRequest checks that reqs holds one request, to method path?query, and returns it.
func soleRequest(t *testing.T, reqs []recorded, method, path, query string) recorded {
	t.Helper()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, method, r.Method)
	assert.Equal(t, path, r.Path)
	assert.Equal(t, query, r.Query)
	return r
}

func (s *stub) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// newStub starts a recording server answering with respond and a client
// pointed at it. Sleeping is recorded instead of spent unless opts or the
// test override it.
func newStub(t *testing.T, respond http.HandlerFunc, opts ...flowgladapi.Option) (*flowgladapi.Client, *stub) {
	t.Helper()
	s := &stub{respond: respond}
	all := append([]flowgladapi.Option{flowgladapi.WithBaseURL(newServer(t, s) + "/")}, opts...)
	c, err := flowgladapi.NewClient(testKey, all...)
	require.NoError(t, err)
	return c, s
}

// newServer starts an httptest server closed at the end of the test and
// returns its URL.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// jsonReply answers status with body as JSON.
func jsonReply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// sequence answers with each handler in turn, repeating the last one.
func sequence(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(n, len(hs)-1)]
		n++
		mu.Unlock()
		h(w, r)
	}
}

// waits records the durations a client was asked to sleep.
type waits struct {
	mu sync.Mutex
	ds []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.ds = append(w.ds, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.ds...)
}

// recordWaits makes c record sleeps and use the full backoff bound as its
// jitter, so waits are deterministic.
func recordWaits(c *flowgladapi.Client) *waits {
	w := &waits{}
	flowgladapi.SetSleep(c, w.sleep)
	flowgladapi.SetJitter(c, func(d time.Duration) time.Duration { return d })
	return w
}

// assertNoSecret checks that the API key appears nowhere in err.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	assert.NotContains(t, err.Error(), testKey)
	assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), testKey)
}

// fastRetries is a policy with tiny waits for tests that really sleep.
func fastRetries() flowgladapi.RetryPolicy {
	return flowgladapi.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond}
}
