package flowglad

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/logbuf"
	"github.com/flowglad-go/flowglad/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// staleEnv is a handler on the fake with Config.StaleIfError, its loader on a test clock.
type staleEnv struct {
	fake  *flowgladapitest.Server
	h     *Handler
	clock *testclock.Clock
	logs  *logbuf.Buffer
}

var staleAlice = Customer{ExternalID: flowgladapitest.DemoCustomerAlice, Email: "alice@example.com"}

func newStaleEnv(t *testing.T, staleFor time.Duration, edit func(*Config)) *staleEnv {
	t.Helper()
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	logs := &logbuf.Buffer{}
	cfg := Config{
		APIKey: fake.APIKey(), BaseURL: fake.URL, StaleIfError: staleFor,
		Auth:        AuthenticatorFunc(func(*http.Request) (Customer, error) { return staleAlice, nil }),
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 0},
		Timeout:     time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	h, err := NewHandler(cfg)
	require.NoError(t, err)
	clock := testclock.New(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	st, err := cfg.resolve()
	require.NoError(t, err)
	h.svc.billing = newBillingReads(h.svc, cfg.serviceOptions(st), clock.Now)
	return &staleEnv{fake: fake, h: h, clock: clock, logs: logs}
}

func (e *staleEnv) post(t *testing.T, key string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/flowglad/"+key, strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// TestStaleIfError: with Config.StaleIfError, a billing read that fails for Flowglad's
// reasons answers the last billing read, with its age, up to StaleIfError; a refusal, or
// billing too old, is answered as without it.
func TestStaleIfError(t *testing.T) {
	t.Parallel()
	outages := []struct {
		name  string
		fault flowgladapitest.Fault
	}{
		{"500", flowgladapitest.Fault{Status: http.StatusInternalServerError}},
		{"503", flowgladapitest.Fault{Status: http.StatusServiceUnavailable}},
		{"429", flowgladapitest.Fault{Status: http.StatusTooManyRequests}},
		// Live Flowglad answers a rate-limited key with 401: once the key has worked, that
		// is an outage, not a refusal.
		{"401 to a key that has worked", flowgladapitest.Fault{Status: http.StatusUnauthorized}},
		// (Without keep-alives: net/http retries an idempotent request by itself when a
		// reused connection drops.)
		{"no answer", flowgladapitest.Fault{CloseConnection: true}},
		{"garbled 200", flowgladapitest.Fault{Status: http.StatusOK, Body: `{"customer":`}},
	}
	for _, tc := range outages {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newStaleEnv(t, 5*time.Minute, func(c *Config) {
				c.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			})
			fresh := env.post(t, "customers/billing")
			require.Equal(t, http.StatusOK, fresh.Code, fresh.Body.String())
			assert.Empty(t, fresh.Header().Get("Age"), "fresh billing has no Age")

			env.clock.Advance(90 * time.Second)
			env.fake.FailNext(1, tc.fault)
			stale := env.post(t, "customers/billing")
			require.Equal(t, http.StatusOK, stale.Code, stale.Body.String())
			assert.Equal(t, "90", stale.Header().Get("Age"))
			assert.JSONEq(t, fresh.Body.String(), stale.Body.String(), "the last-known billing, as it was read")
			assert.Contains(t, env.logs.String(), "serving last-known billing")

			// The other reads of billing serve it too.
			env.fake.FailNext(1, tc.fault)
			access := env.post(t, "features/access")
			require.Equal(t, http.StatusOK, access.Code, access.Body.String())
			assert.Equal(t, "90", access.Header().Get("Age"))

			// Once Flowglad answers again, billing is fresh.
			again := env.post(t, "customers/billing")
			require.Equal(t, http.StatusOK, again.Code)
			assert.Empty(t, again.Header().Get("Age"))

			// Too old: the failure is answered as it would be without StaleIfError.
			env.clock.Advance(5*time.Minute + time.Second)
			env.fake.FailNext(1, tc.fault)
			old := env.post(t, "customers/billing")
			assert.GreaterOrEqual(t, old.Code, 500)
			assert.Empty(t, old.Header().Get("Age"))
		})
	}
}

// TestStaleIfErrorNotForRefusals: a refusal is not an outage, and StaleIfError off serves
// nothing stale.
func TestStaleIfErrorNotForRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		staleFor time.Duration
		fault    flowgladapitest.Fault
		status   int
		code     string
	}{
		{"forbidden", time.Hour, flowgladapitest.Fault{Status: http.StatusForbidden}, http.StatusBadGateway, "flowglad_auth_failed"},
		{"bad request", time.Hour, flowgladapitest.Fault{Status: http.StatusBadRequest}, http.StatusBadRequest, "flowglad_rejected"},
		{"off", 0, flowgladapitest.Fault{Status: http.StatusInternalServerError}, http.StatusBadGateway, "flowglad_unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newStaleEnv(t, tc.staleFor, nil)
			require.Equal(t, http.StatusOK, env.post(t, "customers/billing").Code)
			env.fake.FailNext(1, tc.fault)
			w := env.post(t, "customers/billing")
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), `"code":"`+tc.code+`"`)
			assert.Empty(t, w.Header().Get("Age"))
		})
	}
}

// TestStaleIfErrorService: Go callers see that billing is last-known, and when it was read;
// last-known billing survives an invalidation (it is what was last known) but is never
// cached as fresh.
func TestStaleIfErrorService(t *testing.T) {
	t.Parallel()
	env := newStaleEnv(t, time.Hour, func(c *Config) { c.BillingCacheTTL = time.Minute })
	svc := env.h.Service()
	readAt := env.clock.Now()
	b, err := svc.Billing(t.Context(), staleAlice)
	require.NoError(t, err)
	assert.False(t, b.Stale)
	assert.Equal(t, readAt, b.ReadAt)

	require.NoError(t, svc.InvalidateBilling(t.Context(), staleAlice.ExternalID))
	env.clock.Advance(10 * time.Minute)
	env.fake.FailNext(2, flowgladapitest.Fault{Status: http.StatusBadGateway})
	b, err = svc.Billing(t.Context(), staleAlice)
	require.NoError(t, err)
	assert.True(t, b.Stale)
	assert.Equal(t, readAt, b.ReadAt)
	subs, err := svc.CurrentSubscriptions(t.Context(), staleAlice)
	require.NoError(t, err, "the gates' view is served too (not cached: read again, and failed)")
	assert.NotEmpty(t, subs)
	assert.Equal(t, 3, len(env.fake.Requests()))

	// Not cached: the next read asks Flowglad, and is fresh.
	calls := len(env.fake.Requests())
	b, err = svc.Billing(t.Context(), staleAlice)
	require.NoError(t, err)
	assert.False(t, b.Stale)
	assert.Equal(t, calls+1, len(env.fake.Requests()))
}

// TestStaleIfErrorBounded: last-known billing in process is bounded in bytes, like the cache.
func TestStaleIfErrorBounded(t *testing.T) {
	t.Parallel()
	env := newStaleEnv(t, time.Hour, nil)
	// Room for one body only.
	b, err := env.h.Service().Billing(t.Context(), staleAlice)
	require.NoError(t, err)
	opts := serviceOptions{staleIfError: time.Hour, cacheMaxBytes: int64(len(b.Raw)) + 10, logger: env.h.svc.logger}
	env.h.svc.billing = newBillingReads(env.h.svc, opts, env.clock.Now)
	bob := Customer{ExternalID: flowgladapitest.DemoCustomerBob, Email: "bob@example.com"}
	for _, c := range []Customer{staleAlice, bob} {
		_, err := env.h.Service().Billing(t.Context(), c)
		require.NoError(t, err)
	}
	env.fake.FailNext(2, flowgladapitest.Fault{Status: http.StatusInternalServerError})
	_, err = env.h.Service().Billing(t.Context(), staleAlice)
	assert.Error(t, err, "Alice's last-known billing made room for Bob's")
	got, err := env.h.Service().Billing(t.Context(), bob)
	require.NoError(t, err)
	assert.True(t, got.Stale)
}

func TestStaleIfErrorConfig(t *testing.T) {
	t.Parallel()
	_, err := NewService(Config{APIKey: "sk_test_x", StaleIfError: -time.Second})
	assert.ErrorContains(t, err, "StaleIfError must not be negative")
}

// TestAgeHeaderOldest: the Age of an answer is that of the oldest billing it was built
// from, in whole seconds.
func TestAgeHeaderOldest(t *testing.T) {
	t.Parallel()
	var none *staleNote
	_, ok := none.ageHeader()
	assert.False(t, ok)
	noteStale(t.Context(), time.Second) // a context without a note: nothing to record

	n := &staleNote{}
	_, ok = n.ageHeader()
	assert.False(t, ok, "nothing stale served")
	ctx := context.WithValue(t.Context(), staleNoteKey{}, n)
	for _, age := range []time.Duration{1500 * time.Millisecond, 61*time.Second + 900*time.Millisecond, 3 * time.Second} {
		noteStale(ctx, age)
	}
	h, ok := n.ageHeader()
	assert.True(t, ok)
	assert.Equal(t, "61", h)
}
