package billingread

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pooledBody reads body with flowgladapi's GetBillingBodyPooled through a canned transport.
func pooledBody(t *testing.T, c *flowgladapi.Client) *flowgladapi.BillingBody {
	t.Helper()
	b, err := c.GetBillingBodyPooled(t.Context(), "u1", nil)
	require.NoError(t, err)
	require.True(t, b.Pooled())
	return b
}

func pooledClient(t *testing.T, body []byte) *flowgladapi.Client {
	t.Helper()
	rt := roundTrip(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
	})
	c, err := flowgladapi.NewClient("sk_test_pool", flowgladapi.WithBaseURL("https://flowglad.invalid"),
		flowgladapi.WithHTTPClient(&http.Client{Transport: rt}))
	require.NoError(t, err)
	return c
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestEntryShareRelease: a shared pooled entry keeps its body until its last holder
// releases it, however the holders' releases interleave (run with -race: each holder reads
// the body, then releases, on a goroutine of its own); an entry that was not shared, or
// whose body is not pooled, is never given back.
func TestEntryShareRelease(t *testing.T) {
	body := []byte(`{"customer":{"id":"cus_1"},"subscriptions":[{"id":"s_1","customerId":"cus_1","status":"active"}]}`)
	t.Run("shared: the last release gives the body back", func(t *testing.T) {
		for _, holders := range []int{1, 2, 8} {
			e := NewEntry(pooledBody(t, pooledClient(t, body)))
			e.Share(holders)
			var wg sync.WaitGroup
			for range holders - 1 {
				wg.Go(func() {
					assert.Equal(t, string(body), string(e.Raw()))
					x, err := e.Index()
					if assert.NoError(t, err) {
						assert.Equal(t, "s_1", x.Subscriptions[0].ID)
					}
					e.Release()
				})
			}
			wg.Wait()
			assert.Equal(t, string(body), string(e.Raw()), "one holder left: the body stays")
			assert.True(t, e.Pooled())
			e.Release()
			assert.Nil(t, e.Raw(), "all released: the body is given back")
			assert.False(t, e.Pooled())
		}
	})
	t.Run("not shared: kept, and counts nothing down", func(t *testing.T) {
		e := NewEntry(pooledBody(t, pooledClient(t, body)))
		for range 3 {
			e.Release() // as the hits of a cached entry do
		}
		assert.Equal(t, string(body), string(e.Raw()))
		assert.True(t, e.Pooled())
		assert.Zero(t, e.holders.Load(), "no count below zero, which could wrap around to zero")
	})
	t.Run("released more often than shared", func(t *testing.T) {
		e := NewEntry(pooledBody(t, pooledClient(t, body)))
		e.Share(1)
		e.Release()
		e.Release()
		assert.Nil(t, e.Raw())
		assert.Zero(t, e.holders.Load())
	})
	t.Run("not pooled: kept", func(t *testing.T) {
		b, err := flowgladapi.ParseBillingBody(body)
		require.NoError(t, err)
		e := NewEntry(b)
		e.Share(1)
		e.Release()
		assert.Equal(t, string(body), string(e.Raw()))
	})
}
