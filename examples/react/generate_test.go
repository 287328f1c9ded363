package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

// errorOf reads the error envelope {"error": {"code", "message", "json": {...}}}.
func errorOf(t *testing.T, body []byte) (code string, details map[string]any) {
	t.Helper()
	e, ok := decode(t, body)["error"].(map[string]any)
	require.True(t, ok, "no error envelope in %s", body)
	code, _ = e["code"].(string)
	details, _ = e["json"].(map[string]any)
	return code, details
}

// usageEventPosts counts the usage events the app sent to Flowglad.
func usageEventPosts(reqs []flowgladapitest.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/api/v1/usage-events") {
			n++
		}
	}
	return n
}

// bulkPosts counts the recorder's batches.
func bulkPosts(reqs []flowgladapitest.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Method == http.MethodPost && r.Path == "/api/v1/usage-events/bulk" {
			n++
		}
	}
	return n
}

func TestGenerate(t *testing.T) {
	const sub = flowgladapitest.DemoAliceSubscriptionID
	tests := []struct {
		name string
		user string // "" is signed out
		// lowBalance spends Alice's api-calls, through the route, down to one less than a
		// generation needs.
		lowBalance bool
		header     []string
		status     int
		code       string
		details    map[string]any
		// beforeBilling: refused before any Flowglad call.
		beforeBilling bool
	}{
		{name: "signed out", status: http.StatusUnauthorized, code: "unauthenticated", beforeBilling: true},
		{name: "Bob's Free plan has no premium", user: flowgladapitest.DemoCustomerBob,
			status: http.StatusForbidden, code: "feature_required", details: map[string]any{"feature": "premium"}},
		{name: "Alice has less left than a generation needs", user: flowgladapitest.DemoCustomerAlice, lowBalance: true,
			status: http.StatusPaymentRequired, code: "usage_balance_exhausted",
			details: map[string]any{"usageMeter": "api-calls", "available": float64(maxGenerationCost - 1), "required": float64(maxGenerationCost)}},
		{name: "cross-site request", user: flowgladapitest.DemoCustomerAlice,
			header: []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
			status: http.StatusForbidden, code: "cross_origin_forbidden", beforeBilling: true},
		{name: "Alice on Pro", user: flowgladapitest.DemoCustomerAlice, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The recorder never flushes by itself here: the test sees the request path alone.
			app, fake, a := startAppFull(t, time.Hour)
			c := newClient(t)
			if tt.user != "" {
				signIn(t, c, app.URL, tt.user)
			}
			if tt.lowBalance {
				left, ok := fake.UsageBalance(sub, apiCallsMeter)
				require.True(t, ok)
				spend := int64(left) - (maxGenerationCost - 1)
				r := call(t, c, "POST", app.URL+"/api/flowglad/usage-events/create",
					`{"usageMeterSlug":"api-calls","amount":`+strconv.FormatInt(spend, 10)+`}`)
				require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			}
			eventsBefore := len(fake.UsageEvents())
			balanceBefore, _ := fake.UsageBalance(sub, apiCallsMeter)
			fake.ResetRequests()

			r := call(t, c, "POST", app.URL+"/api/generate", "{}", tt.header...)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))

			if tt.status != http.StatusOK {
				code, details := errorOf(t, r.body)
				assert.Equal(t, tt.code, code)
				for k, v := range tt.details {
					assert.Equal(t, v, details[k], "error json %q", k)
				}
				require.NoError(t, a.recorder.Flush(t.Context()))
				assert.Len(t, fake.UsageEvents(), eventsBefore, "a refused request records no usage")
				assert.Zero(t, usageEventPosts(fake.Requests()), "a refused request sends no usage event")
				if tt.beforeBilling {
					assert.Empty(t, fake.Requests(), "no Flowglad call")
				}
				return
			}

			var g generation
			require.NoError(t, json.Unmarshal(r.body, &g), "%s", r.body)
			assert.Contains(t, g.Text, "Alice")
			require.Positive(t, g.Tokens)
			assert.LessOrEqual(t, g.Tokens, int64(maxGenerationCost), "a generation stays within what RequireUsageBalance asked for")

			// The answer did not wait for Flowglad: the recorder holds the event, and sends
			// it in its next batch (one bulk call).
			assert.Zero(t, usageEventPosts(fake.Requests()), "no usage call on the request path")
			require.NoError(t, a.recorder.Flush(t.Context()))
			assert.Equal(t, 1, bulkPosts(fake.Requests()))
			events := fake.UsageEvents()
			require.Len(t, events, eventsBefore+1, "exactly one usage event")
			e := events[len(events)-1]
			assert.Equal(t, apiCallsMeter, e.UsageMeterSlug)
			assert.Equal(t, sub, e.SubscriptionID)
			assert.Equal(t, g.Tokens, e.Amount, "the event records what the work used")
			assert.NotEmpty(t, e.TransactionID)
			assert.Equal(t, 1, usageEventPosts(fake.Requests()))
			st := a.recorder.Stats()
			assert.Equal(t, int64(1), st.Recorded)
			assert.Zero(t, st.Queued)
			balanceAfter, _ := fake.UsageBalance(sub, apiCallsMeter)
			assert.Equal(t, balanceBefore-float64(g.Tokens), balanceAfter)
		})
	}
}
