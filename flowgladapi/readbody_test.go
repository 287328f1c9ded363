package flowgladapi_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigBilling is a valid billing body of about n bytes.
func bigBilling(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"customer":{"id":"c1"},"invoices":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"inv_` + strconv.Itoa(i) + `","status":"paid","amount":1234}`)
	}
	b.WriteString(`],"subscriptions":[]}`)
	return []byte(b.String())
}

// cannedBody answers every request with body, declaring length (-1: none, as net/http
// reports a compressed or chunked answer) and status.
func cannedBody(status int, body []byte, length int64) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: length, Request: r}, nil
	})
}

// TestReadBodyKeepsExactBytes: a body the client returns (relayed, cached) holds no spare
// capacity, whether its length was declared, missing (gzip through a real server),
// understated or overstated; an error body too.
func TestReadBodyKeepsExactBytes(t *testing.T) {
	t.Parallel()
	body := bigBilling(40 << 10)
	for _, c := range []struct {
		name   string
		length int64
		want   []byte
	}{
		{"declared", int64(len(body)), body},
		{"unknown", -1, body},
		{"longer than declared", int64(len(body)) - 100, body},
		{"shorter than declared", int64(len(body)) + 100, body},
		{"empty, declared", 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			send := body
			if c.want == nil {
				send = nil
			}
			c2, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL("https://flowglad.invalid"),
				flowgladapi.WithHTTPClient(&http.Client{Transport: cannedBody(200, send, c.length)}))
			require.NoError(t, err)
			got, err := c2.GetBillingBody(t.Context(), "u1")
			if c.want == nil {
				assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse, "an empty body is not billing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, string(c.want), string(got.JSON()))
			assert.Equal(t, len(got.JSON()), cap(got.JSON()), "no spare capacity kept")
		})
	}
	t.Run("gzip over a socket", func(t *testing.T) {
		t.Parallel()
		c, _ := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			require.Contains(t, r.Header.Get("Accept-Encoding"), "gzip", "net/http asks for gzip")
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			_, _ = zw.Write(body)
			_ = zw.Close()
		})
		got, err := c.GetBillingBody(t.Context(), "u1")
		require.NoError(t, err)
		assert.Equal(t, string(body), string(got.JSON()))
		assert.Equal(t, len(got.JSON()), cap(got.JSON()), "no spare capacity kept")
	})
	t.Run("error body", func(t *testing.T) {
		t.Parallel()
		errBody := []byte(`{"error":"` + strings.Repeat("x", 5000) + `","code":"BAD_REQUEST"}`)
		for _, length := range []int64{int64(len(errBody)), -1} {
			c, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL("https://flowglad.invalid"),
				flowgladapi.WithHTTPClient(&http.Client{Transport: cannedBody(400, errBody, length)}))
			require.NoError(t, err)
			_, err = c.GetBillingBody(t.Context(), "u1")
			var apiErr *flowgladapi.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, string(errBody), string(apiErr.Body), "length %d", length)
		}
	})
}

// TestReadBodyBytesPerCall: reading a body of unknown length allocates about the body once
// (its copy); the buffer it is read into is reused from call to call, not grown anew.
func TestReadBodyBytesPerCall(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocations and drops pooled buffers")
	}
	body := bigBilling(40 << 10)
	c, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL("https://flowglad.invalid"),
		flowgladapi.WithHTTPClient(&http.Client{Transport: cannedBody(200, body, -1)}))
	require.NoError(t, err)
	call := func() {
		_, err := c.GetBillingBody(t.Context(), "u1")
		require.NoError(t, err)
	}
	call() // the pool's buffer grows to the body once
	const n = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		call()
	}
	runtime.ReadMemStats(&after)
	perCall := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("%.0f bytes per call for a %d-byte body", perCall, len(body))
	assert.Less(t, perCall, 1.5*float64(len(body)), "bytes allocated per call")
}

// BenchmarkGetBillingBody: one billing read of a 40 KB body through an in-process
// RoundTripper, its length declared or not (a gzip or chunked answer): bytes and
// allocations per read.
func BenchmarkGetBillingBody(b *testing.B) {
	body := bigBilling(40 << 10)
	for _, c := range []struct {
		name   string
		length int64
	}{{"declared", int64(len(body))}, {"unknown", -1}} {
		b.Run(c.name, func(b *testing.B) {
			cl, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL("https://flowglad.invalid"),
				flowgladapi.WithHTTPClient(&http.Client{Transport: cannedBody(200, body, c.length)}))
			require.NoError(b, err)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cl.GetBillingBody(b.Context(), "u1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestConnectionReusedAfterBody: whatever the answer (a body of declared length read to its
// end, a gzip one, an error body, one longer than the client keeps), the next call reuses
// the connection: the client reads or drains each body to its end before closing it.
func TestConnectionReusedAfterBody(t *testing.T) {
	t.Parallel()
	body := bigBilling(40 << 10)
	longErr := []byte(`{"error":"` + strings.Repeat("x", 100<<10) + `"}`)
	for _, c := range []struct {
		name   string
		status int
		gzip   bool
		body   []byte
	}{
		{"2xx, declared length", http.StatusOK, false, body},
		{"2xx, gzip", http.StatusOK, true, body},
		{"error body", http.StatusBadRequest, false, []byte(`{"error":"bad"}`)},
		{"error body longer than kept", http.StatusBadRequest, false, longErr},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cl, _ := newStub(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if c.gzip {
					w.Header().Set("Content-Encoding", "gzip")
					w.WriteHeader(c.status)
					zw := gzip.NewWriter(w)
					_, _ = zw.Write(c.body)
					_ = zw.Close()
					return
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(c.body)))
				w.WriteHeader(c.status)
				_, _ = w.Write(c.body)
			})
			var reused []bool
			ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) },
			})
			for range 2 {
				_, err := cl.GetBillingBody(ctx, "u1")
				if c.status == http.StatusOK {
					require.NoError(t, err)
				} else {
					require.Error(t, err)
				}
			}
			assert.Equal(t, []bool{false, true}, reused, "the second call reuses the first's connection")
		})
	}
}
