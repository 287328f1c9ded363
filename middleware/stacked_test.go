package middleware_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gpuMinutes is a second usage meter, added to the demo pricing model and granted by Pro.
const gpuMinutes = "gpu-minutes"

func withGPUMinutes(s *flowgladapitest.Seed) {
	s.PricingModel.UsageMeters = append(s.PricingModel.UsageMeters, flowgladapitest.UsageMeter{Slug: gpuMinutes, Name: "GPU minutes"})
}

// TestStackedMeters: MeterUsage at group level and again on a route for the same usage
// meter records one event (the outer one's, with what the handler set); a request may be
// metered on several meters, each set by name.
func TestStackedMeters(t *testing.T) {
	type want struct {
		slug   string
		amount int64
		txID   string // "" any
	}
	tests := []struct {
		name   string
		chain  func(e *env, h http.Handler) http.Handler
		handle func(t *testing.T, r *http.Request)
		want   []want
	}{
		{
			name: "the same meter twice: one event with SetUsage's amount",
			chain: func(e *env, h http.Handler) http.Handler {
				return middleware.MeterUsage(e.h, "api-calls")(middleware.MeterUsage(e.h, "api-calls")(h))
			},
			handle: func(t *testing.T, r *http.Request) {
				assert.True(t, middleware.SetUsage(r.Context(), 5))
				assert.True(t, middleware.SetTransactionID(r.Context(), "job-1"))
			},
			want: []want{{"api-calls", 5, "job-1"}},
		},
		{
			name: "the same meter twice, a gate between: one event",
			chain: func(e *env, h http.Handler) http.Handler {
				return middleware.MeterUsage(e.h, "api-calls")(middleware.RequireFeature(e.h, "premium")(middleware.MeterUsage(e.h, "api-calls")(h)))
			},
			handle: func(t *testing.T, r *http.Request) {
				assert.True(t, middleware.SetUsageFor(r.Context(), "api-calls", 4))
			},
			want: []want{{"api-calls", 4, ""}},
		},
		{
			name: "the same meter twice, nothing set: one event of 1",
			chain: func(e *env, h http.Handler) http.Handler {
				return middleware.MeterUsage(e.h, "api-calls")(middleware.MeterUsage(e.h, "api-calls")(h))
			},
			want: []want{{"api-calls", 1, ""}},
		},
		{
			name: "two meters, each set by name",
			chain: func(e *env, h http.Handler) http.Handler {
				return middleware.MeterUsage(e.h, "api-calls")(middleware.MeterUsage(e.h, gpuMinutes)(h))
			},
			handle: func(t *testing.T, r *http.Request) {
				assert.True(t, middleware.SetUsageFor(r.Context(), "api-calls", 3))
				assert.True(t, middleware.SetUsageFor(r.Context(), gpuMinutes, 9))
				assert.True(t, middleware.SetTransactionIDFor(r.Context(), gpuMinutes, "render-9"))
				assert.False(t, middleware.SetUsageFor(r.Context(), "no-such-meter", 1), "no MeterUsage for it")
				assert.False(t, middleware.SetTransactionIDFor(r.Context(), "no-such-meter", "x"))
			},
			want: []want{{"api-calls", 3, ""}, {gpuMinutes, 9, "render-9"}},
		},
		{
			name: "two meters: SetUsage sets the innermost",
			chain: func(e *env, h http.Handler) http.Handler {
				return middleware.MeterUsage(e.h, "api-calls")(middleware.MeterUsage(e.h, gpuMinutes)(h))
			},
			handle: func(t *testing.T, r *http.Request) { middleware.SetUsage(r.Context(), 6) },
			want:   []want{{"api-calls", 1, ""}, {gpuMinutes, 6, ""}},
		},
		{
			name: "two meters: SetUsageFor 0 records nothing on that one",
			chain: func(e *env, h http.Handler) http.Handler {
				return middleware.MeterUsage(e.h, "api-calls")(middleware.MeterUsage(e.h, gpuMinutes)(h))
			},
			handle: func(t *testing.T, r *http.Request) { middleware.SetUsageFor(r.Context(), "api-calls", 0) },
			want:   []want{{gpuMinutes, 1, ""}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvSeed(t, withGPUMinutes)
			h := tc.chain(e, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.handle != nil {
					tc.handle(t, r)
				}
				_, _ = io.WriteString(w, "done")
			}))
			e.fake.ResetRequests()
			w := e.serve(h, "alice")
			require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body)
			assert.Equal(t, len(tc.want), countCalls(e.calls(), "POST /api/v1/usage-events"))
			evs := e.events(flowgladapitest.DemoCustomerAlice)
			require.Len(t, evs, len(tc.want))
			got := map[string]flowgladapitest.UsageEvent{}
			for _, ev := range evs {
				got[ev.UsageMeterSlug] = ev
			}
			for _, wt := range tc.want {
				ev, found := got[wt.slug]
				require.True(t, found, "an event on %s", wt.slug)
				assert.Equal(t, wt.amount, ev.Amount, wt.slug)
				if wt.txID != "" {
					// Server code's ids are stored per customer (flowglad.ServerTransactionID).
					assert.Equal(t, flowglad.ServerTransactionID(flowgladapitest.DemoCustomerAlice, wt.txID), ev.TransactionID)
				}
			}
		})
	}
}

// TestMeterEndsWithTheRequest: after MeterUsage's handler returns, the meter can no longer
// be set (a goroutine the handler left behind cannot change what was recorded).
func TestMeterEndsWithTheRequest(t *testing.T) {
	e := newEnv(t)
	var kept *http.Request
	h := metered(e, http.StatusOK, func(r *http.Request) { kept = r })
	e.serve(h, "alice")
	require.NotNil(t, kept)
	assert.False(t, middleware.SetUsage(kept.Context(), 5))
	assert.False(t, middleware.SetUsageFor(kept.Context(), "api-calls", 5))
	evs := e.events(flowgladapitest.DemoCustomerAlice)
	require.Len(t, evs, 1)
	assert.Equal(t, int64(1), evs[0].Amount)
}

// TestMeterStatus: what the handler answers decides whether the request is metered; the
// answer is the handler's.
func TestMeterStatus(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(w http.ResponseWriter)
		status  int
		metered bool
	}{
		{"a 500 with a body", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "failed")
		}, http.StatusInternalServerError, false},
		{"a body alone is a 200", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "ok") }, http.StatusOK, true},
		{"nothing written is a 200", func(http.ResponseWriter) {}, http.StatusOK, true},
		{"a 200, then a superfluous 500", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusOK)
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusOK, true},
		{"a 103 Early Hints, then a 500", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusInternalServerError)
		}, 0, false}, // httptest's recorder keeps the 103 as the status; a server sends the 500
		{"a 299", func(w http.ResponseWriter) { w.WriteHeader(299) }, 299, true},
		{"a 300", func(w http.ResponseWriter) { w.WriteHeader(http.StatusMultipleChoices) }, http.StatusMultipleChoices, false},
		{"a 500 flushed", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusInternalServerError)
			w.(http.Flusher).Flush()
		}, http.StatusInternalServerError, false},
		{"a flush alone is a 200", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, http.StatusOK, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			h := middleware.MeterUsage(e.h, "api-calls")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { tc.handle(w) }))
			w := e.serve(h, "alice")
			if tc.status != 0 {
				assert.Equal(t, tc.status, w.Code)
			}
			if tc.metered {
				assert.Len(t, e.events(flowgladapitest.DemoCustomerAlice), 1)
			} else {
				assert.Empty(t, e.events(flowgladapitest.DemoCustomerAlice))
			}
		})
	}
}
