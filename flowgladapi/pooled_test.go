package flowgladapi_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGetBillingBodyPooled: a pooled read returns the body byte for byte whatever its
// declared length; a body of declared length, or of unknown length (gzipped or chunked, as
// live Flowglad's are), is in a pooled buffer until Release, after which the body is empty
// and a second Release does nothing; a body longer than declared is not pooled and Release
// leaves it alone.
func TestGetBillingBodyPooled(t *testing.T) {
	t.Parallel()
	body := bigBilling(40 << 10)
	for _, c := range []struct {
		name   string
		length int64
		pooled bool
	}{
		{"declared", int64(len(body)), true},
		{"unknown", -1, true},
		{"longer than declared", int64(len(body)) - 100, false},
		{"shorter than declared", int64(len(body)) + 100, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cl, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL("https://flowglad.invalid"),
				flowgladapi.WithHTTPClient(&http.Client{Transport: cannedBody(200, body, c.length)}))
			require.NoError(t, err)
			b, err := cl.GetBillingBodyPooled(t.Context(), "u1", nil)
			require.NoError(t, err)
			assert.Equal(t, string(body), string(b.JSON()))
			assert.NotNil(t, b.Member("invoices"), "members located")
			assert.Equal(t, c.pooled, b.Pooled())
			b.Release()
			b.Release()
			assert.False(t, b.Pooled())
			if c.pooled {
				assert.Nil(t, b.JSON(), "a released body is empty, not another body")
				assert.Nil(t, b.Member("invoices"))
			} else {
				assert.Equal(t, string(body), string(b.JSON()), "an unpooled body stays")
			}
		})
	}
}

// TestPooledBodyNotReusedWhileHeld: a buffer goes to another read only once its body is
// released. Bodies of two customers are read in turn, each held while the next is read:
// each keeps its own bytes until released, and once the first is released, a later read
// may take its buffer (without the race detector, which drops pooled buffers at random, it
// does).
func TestPooledBodyNotReusedWhileHeld(t *testing.T) {
	for _, declared := range []bool{true, false} {
		t.Run(map[bool]string{true: "declared length", false: "unknown length"}[declared], func(t *testing.T) {
			bodies := map[string][]byte{"u1": bigBilling(30 << 10), "u2": bigBilling(31 << 10)}
			cl := customersClient(t, func(id string) ([]byte, int64) {
				if !declared {
					return bodies[id], -1
				}
				return bodies[id], int64(len(bodies[id]))
			})
			held, err := cl.GetBillingBodyPooled(t.Context(), "u1", nil)
			require.NoError(t, err)
			require.True(t, held.Pooled())
			last, heldID := &held.JSON()[0], "u1"
			for i := range 20 {
				id := []string{"u2", "u1"}[i%2]
				next, err := cl.GetBillingBodyPooled(t.Context(), id, nil)
				require.NoError(t, err)
				require.Equal(t, string(bodies[id]), string(next.JSON()))
				require.Equal(t, string(bodies[heldID]), string(held.JSON()), "a held body keeps its bytes")
				held.Release()
				held, heldID = next, id
			}
			held.Release()
			reused := false
			for range 20 {
				next, err := cl.GetBillingBodyPooled(t.Context(), "u1", nil)
				require.NoError(t, err)
				reused = reused || &next.JSON()[0] == last
				last = &next.JSON()[0]
				next.Release()
			}
			if !raceEnabled {
				assert.True(t, reused, "a released buffer is read into again")
			}
		})
	}
}

// TestPooledReadLongerThanDeclaredIsItsOwn: a body longer than its declared length is not
// pooled (Release does nothing), so it must not be in the pooled buffer it was first read
// into: once a larger body has left a buffer with room to spare in the pool, the longer
// body is read, kept, and many pooled reads of another body go through that buffer; the
// kept body is still byte for byte what was sent.
func TestPooledReadLongerThanDeclaredIsItsOwn(t *testing.T) {
	large := bytes.ReplaceAll(bigBilling(60<<10), []byte(`"paid"`), []byte(`"void"`))
	longer := bigBilling(20 << 10)
	cl := customersClient(t, func(id string) ([]byte, int64) {
		if id == "longer" {
			return longer, int64(len(longer)) - 100
		}
		return large, int64(len(large))
	})
	first, err := cl.GetBillingBodyPooled(t.Context(), "large", nil)
	require.NoError(t, err)
	require.True(t, first.Pooled())
	first.Release() // a buffer of the large body's size is in the pool
	kept, err := cl.GetBillingBodyPooled(t.Context(), "longer", nil)
	require.NoError(t, err)
	require.False(t, kept.Pooled())
	kept.Release() // does nothing: the body is not pooled
	for range 20 {
		b, err := cl.GetBillingBodyPooled(t.Context(), "large", nil)
		require.NoError(t, err)
		require.Equal(t, string(large), string(b.JSON()))
		b.Release()
	}
	assert.Equal(t, string(longer), string(kept.JSON()), "the longer body is its own")
}

// TestPooledReadTooLargeIsItsOwn: a body of unknown length that grows past what the pool
// keeps (1 MiB) is not pooled, and the buffer it grew into never goes to the pool: kept
// while many pooled reads of a smaller body follow, it is still byte for byte what was
// sent.
func TestPooledReadTooLargeIsItsOwn(t *testing.T) {
	large, small := bigBilling(3<<19), bigBilling(20<<10) // 1.5 MiB and 20 KB
	cl := customersClient(t, func(id string) ([]byte, int64) {
		if id == "large" {
			return large, -1
		}
		return small, -1
	})
	kept, err := cl.GetBillingBodyPooled(t.Context(), "large", nil)
	require.NoError(t, err)
	assert.False(t, kept.Pooled(), "larger than the pool keeps")
	for range 20 {
		b, err := cl.GetBillingBodyPooled(t.Context(), "small", nil)
		require.NoError(t, err)
		require.Equal(t, string(small), string(b.JSON()))
		b.Release()
	}
	require.True(t, bytes.Equal(large, kept.JSON()), "the large body is its own")
}

// customersClient is a client whose Flowglad answers each customer's billing with the body
// and declared length (-1: none) that answer gives for the customer's external id.
func customersClient(t *testing.T, answer func(id string) (body []byte, length int64)) *flowgladapi.Client {
	t.Helper()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/customers/"), "/billing")
		b, n := answer(id)
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(b)), ContentLength: n, Request: r}, nil
	})
	cl, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL("https://flowglad.invalid"),
		flowgladapi.WithHTTPClient(&http.Client{Transport: rt}))
	require.NoError(t, err)
	return cl
}
