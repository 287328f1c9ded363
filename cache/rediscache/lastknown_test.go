package rediscache_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/cache/rediscache"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

var _ flowglad.StaleBillingCache = (*rediscache.Cache)(nil)

// TestRedisLastKnown: a customer's last-known billing survives Delete, a read older than
// the one kept does not replace it, and it expires with its TTL.
func TestRedisLastKnown(t *testing.T) {
	srv := startRedis(t)
	c := newCache(t, srv.client(true))
	ctx := t.Context()
	t0 := time.UnixMilli(1_765_000_000_000)

	_, _, found, err := c.GetLastKnown(ctx, alice)
	require.NoError(t, err)
	assert.False(t, found)

	require.NoError(t, c.SetLastKnown(ctx, alice, []byte(`{"v":2}`), t0.Add(time.Second), time.Hour))
	require.NoError(t, c.SetLastKnown(ctx, alice, []byte(`{"v":1}`), t0, time.Hour), "an older read")
	require.NoError(t, c.Delete(ctx, alice))
	body, readAt, found, err := c.GetLastKnown(ctx, alice)
	require.NoError(t, err)
	require.True(t, found, "kept through Delete")
	assert.Equal(t, `{"v":2}`, string(body), "the newer read is kept")
	assert.True(t, readAt.Equal(t0.Add(time.Second)), "%v", readAt)

	require.NoError(t, c.SetLastKnown(ctx, alice, []byte(`{"v":3}`), t0.Add(2*time.Second), 50*time.Millisecond))
	rdb := srv.client(true)
	pttl, err := rdb.PTTL(ctx, aliceKey+":last").Result()
	require.NoError(t, err)
	assert.True(t, pttl > 0 && pttl <= 50*time.Millisecond, "expires with its TTL: %v", pttl)
	assert.Error(t, c.SetLastKnown(ctx, alice, []byte(`{}`), t0, 0))
}

// TestRedisStaleIfErrorAcrossInstances: what instance A last read is what instance B serves
// when Flowglad fails, though B never read it itself.
func TestRedisStaleIfErrorAcrossInstances(t *testing.T) {
	srv := startRedis(t)
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	newHandler := func() *flowglad.Handler {
		h, err := flowglad.NewHandler(flowglad.Config{
			APIKey: fake.APIKey(), BaseURL: fake.URL,
			Auth: flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
				return flowglad.Customer{ExternalID: alice, Email: "alice@example.com"}, nil
			}),
			BillingCacheTTL: time.Hour,
			BillingCache:    newCache(t, srv.client(true), rediscache.WithSettle(0)),
			StaleIfError:    time.Hour,
			RetryPolicy:     &flowgladapi.RetryPolicy{MaxRetries: 0},
		})
		require.NoError(t, err)
		return h
	}
	serve := func(h *flowglad.Handler) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/flowglad/customers/billing", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	a, b := newHandler(), newHandler()
	fresh := serve(a)
	require.Equal(t, http.StatusOK, fresh.Code)
	// The cached body is forgotten (a mutation, say); the last-known one is not.
	require.NoError(t, a.Service().InvalidateBilling(t.Context(), alice))

	fake.FailNext(1, flowgladapitest.Fault{Status: http.StatusServiceUnavailable})
	stale := serve(b)
	require.Equal(t, http.StatusOK, stale.Code, "%.200s", stale.Body.String())
	assert.NotEmpty(t, stale.Header().Get("Age"))
	assert.JSONEq(t, fresh.Body.String(), stale.Body.String())
}
