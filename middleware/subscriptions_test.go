package middleware_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSeveralCurrentSubscriptions: Alice on Pro plus a newer Free subscription, through
// the route's features/access and the gates and the meter side by side. A toggle feature
// is granted when any current subscription grants it (as the route lists it); the balance
// checked and the event recorded are those of the first current subscription (newest
// first) with the meter; WithSubscription picks another.
func TestSeveralCurrentSubscriptions(t *testing.T) {
	pro := flowgladapitest.DemoAliceSubscriptionID
	pickPro := middleware.WithSubscription(func(*flowgladapi.Billing) string { return pro })
	tests := []struct {
		name      string
		opts      func(free string) []middleware.Option
		feature   int     // RequireFeature(premium)'s status
		balance   int     // RequireUsageBalance(api-calls, 101)'s status
		available float64 // its json.available on a 402
		eventOn   func(free string) string
	}{
		{
			name: "default rule", opts: func(string) []middleware.Option { return nil },
			feature: http.StatusOK, balance: http.StatusPaymentRequired, available: 100,
			eventOn: func(free string) string { return free },
		},
		{
			name: "WithSubscription picks Pro", opts: func(string) []middleware.Option { return []middleware.Option{pickPro} },
			feature: http.StatusOK, balance: http.StatusOK,
			eventOn: func(string) string { return pro },
		},
		{
			name: "WithSubscription picks Free",
			opts: func(free string) []middleware.Option {
				return []middleware.Option{middleware.WithSubscription(func(b *flowgladapi.Billing) string {
					assert.Len(t, b.CurrentSubscriptions, 2, "the whole billing, as read")
					return free
				})}
			},
			feature: http.StatusForbidden, balance: http.StatusPaymentRequired, available: 100,
			eventOn: func(free string) string { return free },
		},
		{
			name: "WithSubscription returns \"\": the default rule",
			opts: func(string) []middleware.Option {
				return []middleware.Option{middleware.WithSubscription(func(*flowgladapi.Billing) string { return "" })}
			},
			feature: http.StatusOK, balance: http.StatusPaymentRequired, available: 100,
			eventOn: func(free string) string { return free },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			free := e.addFree()
			opts := tc.opts(free)

			// The route lists premium: Pro grants it.
			w := e.route("features/access", "alice", `{}`)
			require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body)
			var access struct {
				Data struct {
					Features []struct{ Slug string } `json:"features"`
				} `json:"data"`
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &access))
			var slugs []string
			for _, f := range access.Data.Features {
				slugs = append(slugs, f.Slug)
			}
			assert.Contains(t, slugs, flowgladapitest.DemoFeaturePremium)

			w = e.serve(middleware.RequireFeature(e.h, flowgladapitest.DemoFeaturePremium, opts...)(&ok{}), "alice")
			assert.Equal(t, tc.feature, w.Code, "RequireFeature: %s", w.Body)

			w = e.serve(middleware.RequireUsageBalance(e.h, flowgladapitest.DemoUsageMeterAPICalls, 101, opts...)(&ok{}), "alice")
			assert.Equal(t, tc.balance, w.Code, "RequireUsageBalance: %s", w.Body)
			if tc.balance == http.StatusPaymentRequired {
				_, j := errorEnvelope(t, w)
				assert.InDelta(t, tc.available, j["available"], 0)
			}

			w = e.serve(metered(e, http.StatusOK, func(r *http.Request) { middleware.SetUsage(r.Context(), 7) }, opts...), "alice")
			assert.Equal(t, http.StatusOK, w.Code)
			evs := e.events(flowgladapitest.DemoCustomerAlice)
			require.Len(t, evs, 1)
			assert.Equal(t, tc.eventOn(free), evs[0].SubscriptionID)
			assert.Equal(t, int64(7), evs[0].Amount)
		})
	}
}

// TestWithSubscriptionNotCurrent: a picked id that is not a current subscription grants
// nothing, and the meter's event for it fails to the hook, with that id.
func TestWithSubscriptionNotCurrent(t *testing.T) {
	e := newEnv(t)
	pick := middleware.WithSubscription(func(*flowgladapi.Billing) string { return flowgladapitest.DemoBobSubscriptionID })
	assert.Equal(t, http.StatusForbidden, e.serve(middleware.RequireFeature(e.h, "premium", pick)(&ok{}), "alice").Code)
	assert.Equal(t, http.StatusPaymentRequired, e.serve(middleware.RequireUsageBalance(e.h, "api-calls", 1, pick)(&ok{}), "alice").Code)
	var failures []middleware.MeterFailure
	h := metered(e, http.StatusOK, nil, pick, middleware.OnMeterFailure(func(_ context.Context, f middleware.MeterFailure) {
		failures = append(failures, f)
	}))
	assert.Equal(t, http.StatusOK, e.serve(h, "alice").Code)
	require.Len(t, failures, 1)
	assert.Equal(t, flowgladapitest.DemoBobSubscriptionID, failures[0].Params.SubscriptionID)
	assert.Empty(t, e.events(flowgladapitest.DemoCustomerAlice))
}

// primaryIsOldest rewrites the fake's billing answers so that billing's
// currentSubscription is the oldest current subscription, not the newest: Flowglad's
// primary subscription need not be the newest.
func primaryIsOldest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/billing") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]json.RawMessage
		var current []json.RawMessage
		if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &body) == nil &&
			json.Unmarshal(body["currentSubscriptions"], &current) == nil && len(current) > 1 {
			body["currentSubscription"] = current[len(current)-1]
			b, _ := json.Marshal(body)
			rec.Body.Reset()
			rec.Body.Write(b)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// TestMeterNamesTheSubscription: the Service, given no subscription, records on billing's
// currentSubscription; MeterUsage applies its own rule (the newest current subscription
// with the meter, the one RequireUsageBalance checked) and names it in the event.
func TestMeterNamesTheSubscription(t *testing.T) {
	e := newEnvFake(t, []flowgladapitest.Option{flowgladapitest.WithMiddleware(primaryIsOldest)}, nil)
	free := e.addFree()
	w := e.serve(middleware.RequireUsageBalance(e.h, "api-calls", 100)(metered(e, http.StatusOK, nil)), "alice")
	assert.Equal(t, http.StatusOK, w.Code, "Free's 100 is enough: %s", w.Body)
	evs := e.events(flowgladapitest.DemoCustomerAlice)
	require.Len(t, evs, 1)
	assert.Equal(t, free, evs[0].SubscriptionID, "the subscription whose balance was checked")

	// Without a subscription id, the Service records on billing's currentSubscription.
	_, err := e.h.Service().CreateUsageEvent(t.Context(), users["alice"], flowglad.UsageEventParams{UsageMeterSlug: "api-calls"})
	require.NoError(t, err)
	evs = e.events(flowgladapitest.DemoCustomerAlice)
	require.Len(t, evs, 2)
	assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, evs[1].SubscriptionID)
}
