//go:build !race

// The race detector drops pooled buffers at random: this is not built with -race.

package flowglad

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadsReuseBodyBuffers: with no cache, the reads that nothing keeps (the billing
// route's, once answered; an ownership check's, once it has the status) go into pooled
// buffers given back when done: each allocates less than one buffer of the body's size
// (the request and the answer's headers, a few KB), where each read took one.
func TestReadsReuseBodyBuffers(t *testing.T) {
	bodies := poolBodies()
	h := poolHandler(t, bodiesTransport(bodies))
	w := &bytesRecorder{h: http.Header{}}
	want := []byte(`{"data":` + string(bodies["u3"]) + `}`)
	for _, tc := range []struct {
		name string
		read func(t *testing.T)
	}{
		{"the billing route", func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/flowglad/customers/billing", nil)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Session", "u3")
			clear(w.h)
			w.b.Reset() // keeps its room: the answer's bytes are not the handler's
			h.ServeHTTP(w, r)
			require.True(t, bytes.Equal(want, w.b.Bytes()), "the customer's body")
		}},
		{"an ownership check", func(t *testing.T) {
			status, err := h.Service().subscriptionStatus(t.Context(), Customer{ExternalID: "u3"}, "sub_u3")
			require.NoError(t, err)
			require.Equal(t, poolStatuses[3], status)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.read(t)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const n = 20
			for range n {
				tc.read(t)
			}
			runtime.ReadMemStats(&after)
			perRead := float64(after.TotalAlloc-before.TotalAlloc) / n
			t.Logf("%.0f bytes allocated per read of a %d-byte body", perRead, len(bodies["u3"]))
			assert.Less(t, perRead, float64(len(bodies["u3"])), "less than one buffer of the body per read")
		})
	}
}

// bytesRecorder keeps the answer's bytes in one buffer reused from answer to answer.
type bytesRecorder struct {
	h http.Header
	b bytes.Buffer
}

func (w *bytesRecorder) Header() http.Header         { return w.h }
func (w *bytesRecorder) Write(p []byte) (int, error) { return w.b.Write(p) }
func (w *bytesRecorder) WriteHeader(int)             {}
