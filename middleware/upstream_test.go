package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logLines decodes the JSON log lines of e.
func (e *env) logLines() []map[string]any {
	var out []map[string]any
	dec := json.NewDecoder(strings.NewReader(e.logs.String()))
	for dec.More() {
		var l map[string]any
		require.NoError(e.t, dec.Decode(&l))
		out = append(out, l)
	}
	return out
}

// TestRefusedKey: one mapping for the route and the gates. A key Flowglad refuses and never
// accepted is a misconfiguration: the gates answer what the route answers (502
// flowglad_auth_failed, no Retry-After: retrying will not help), logged at Error as a
// wrong key. A key that has worked and then gets 401 is most likely rate limited (live
// Flowglad's answer): both answer 503 with a Retry-After, logged as rate limiting.
func TestRefusedKey(t *testing.T) {
	billingPath := "/api/v1/customers/user_alice/billing"
	tests := []struct {
		name        string
		setup       func(e *env)
		with        []func(*flowglad.Config)
		routeStatus int
		routeCode   string
		gateStatus  int
		gateCode    string
		retryAfter  bool
		log         string
	}{
		{
			name:        "a key that never worked",
			with:        []func(*flowglad.Config){func(c *flowglad.Config) { c.APIKey = "sk_test_wrong_key" }},
			routeStatus: http.StatusBadGateway, routeCode: "flowglad_auth_failed",
			gateStatus: http.StatusBadGateway, gateCode: "flowglad_auth_failed",
			log: "wrong or lacks access",
		},
		{
			name: "a key that never worked, 403",
			setup: func(e *env) {
				e.fake.FailNext(100, flowgladapitest.Fault{Method: http.MethodGet, Path: billingPath, Status: http.StatusForbidden})
			},
			routeStatus: http.StatusBadGateway, routeCode: "flowglad_auth_failed",
			gateStatus: http.StatusBadGateway, gateCode: "flowglad_auth_failed",
			log: "wrong or lacks access",
		},
		{
			name: "a key that worked, then 401",
			setup: func(e *env) {
				_, err := e.h.Service().Billing(e.t.Context(), users["bob"]) // the key works
				require.NoError(e.t, err)
				e.fake.FailNext(100, flowgladapitest.Fault{Method: http.MethodGet, Path: billingPath, Status: http.StatusUnauthorized})
			},
			routeStatus: http.StatusServiceUnavailable, routeCode: "flowglad_busy",
			gateStatus: http.StatusServiceUnavailable, gateCode: "billing_unavailable",
			retryAfter: true,
			log:        "rate limiting",
		},
		{
			name: "429",
			setup: func(e *env) {
				e.fake.FailNext(100, flowgladapitest.Fault{Method: http.MethodGet, Path: billingPath, Status: http.StatusTooManyRequests})
			},
			routeStatus: http.StatusServiceUnavailable, routeCode: "flowglad_busy",
			gateStatus: http.StatusServiceUnavailable, gateCode: "billing_unavailable",
			retryAfter: true,
			log:        "rate limiting",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, side := range []string{"route", "RequireFeature", "RequireUsageBalance"} {
				t.Run(side, func(t *testing.T) {
					e := newEnv(t, tc.with...)
					if tc.setup != nil {
						tc.setup(e)
					}
					var w http.ResponseWriter
					var status int
					var code, msg string
					switch side {
					case "route":
						rec := e.route("customers/billing", "alice", `{}`)
						w, status = rec, rec.Code
						code, _ = errorEnvelope(t, rec)
						msg = errorMessage(t, rec.Body.Bytes())
						assert.Equal(t, tc.routeStatus, status)
						assert.Equal(t, tc.routeCode, code)
					default:
						mw := middleware.RequireFeature(e.h, "premium")
						if side == "RequireUsageBalance" {
							mw = middleware.RequireUsageBalance(e.h, "api-calls", 1)
						}
						next := &ok{}
						rec := e.serve(mw(next), "alice")
						w, status = rec, rec.Code
						code, _ = errorEnvelope(t, rec)
						msg = errorMessage(t, rec.Body.Bytes())
						assert.Equal(t, tc.gateStatus, status)
						assert.Equal(t, tc.gateCode, code)
						assert.Equal(t, 0, next.calls)
					}
					if tc.retryAfter {
						assert.NotEmpty(t, w.Header().Get("Retry-After"))
					} else {
						assert.Empty(t, w.Header().Get("Retry-After"), "a wrong key is not worth retrying")
					}
					if tc.routeStatus == http.StatusBadGateway {
						assert.Equal(t, "billing is unavailable: the server's Flowglad credentials were refused", msg, "the route's message")
					}
					// The answer's message is generic: its request id finds the line that
					// says why.
					id := w.Header().Get("X-Request-Id")
					require.NotEmpty(t, id)
					var logged bool
					for _, l := range e.logLines() {
						if l["level"] == "ERROR" && containsStr(l["msg"], tc.log) && l["request_id"] == id {
							logged = true
						}
					}
					assert.True(t, logged, "an Error line saying %q with request_id %s in:\n%s", tc.log, id, e.logs.String())
				})
			}
		})
	}
	t.Run("FailOpen serves a wrong key, logged at Error", func(t *testing.T) {
		e := newEnv(t, func(c *flowglad.Config) { c.APIKey = "sk_test_wrong_key" })
		next := &ok{}
		w := e.serve(middleware.RequireFeature(e.h, "premium", middleware.FailOpen())(next), "alice")
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, 1, next.calls)
		var level string
		for _, l := range e.logLines() {
			if containsStr(l["msg"], "FailOpen") {
				level, _ = l["level"].(string)
			}
		}
		assert.Equal(t, "ERROR", level)
		assert.NotContains(t, e.logs.String(), "sk_test_wrong_key")
	})
}

// TestRetryAfter: a gate's 503 says when to retry: WithRetryAfter when given (over
// Flowglad's hint), else Flowglad's hint, else 5 seconds; in whole seconds, rounded up.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		option time.Duration // 0: none
		hint   time.Duration // Flowglad's Retry-After; 0: none
		want   string
		wait   time.Duration
	}{
		{"the default", 0, 0, "5", 5 * time.Second},
		{"Flowglad's hint", 0, 2 * time.Second, "2", 2 * time.Second},
		{"the option wins over the hint", 30 * time.Second, 2 * time.Second, "30", 30 * time.Second},
		{"the option alone", 3 * time.Second, 0, "3", 3 * time.Second},
		{"rounded up", 1500 * time.Millisecond, 0, "2", 1500 * time.Millisecond},
		{"a millisecond is a second", time.Millisecond, 0, "1", time.Millisecond},
		{"a whole second stays", time.Second, 0, "1", time.Second},
		{"a negative option is ignored", -time.Second, 0, "5", 5 * time.Second},
	}
	for _, tc := range tests {
		// The header is set before the error handler runs: one of one's own, which writes
		// no envelope, gets it too.
		for _, own := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/own error handler=%v", tc.name, own), func(t *testing.T) {
				e := newEnv(t, func(c *flowglad.Config) { c.RetryPolicy = &flowgladapi.RetryPolicy{} }) // one attempt: no wait on the hint
				e.fake.FailNext(1, flowgladapi503(tc.hint))
				var opts []middleware.Option
				if tc.option != 0 {
					opts = append(opts, middleware.WithRetryAfter(tc.option))
				}
				var refusal *flowglad.Error
				opts = append(opts, middleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
					assert.ErrorAs(t, err, &refusal)
					if own {
						http.Error(w, "busy", http.StatusServiceUnavailable)
						return
					}
					flowglad.WriteError(w, r, err)
				}))
				w := e.serve(middleware.RequireFeature(e.h, "premium", opts...)(&ok{}), "alice")
				assert.Equal(t, http.StatusServiceUnavailable, w.Code)
				assert.Equal(t, tc.want, w.Header().Get("Retry-After"))
				require.NotNil(t, refusal)
				assert.Equal(t, tc.wait, refusal.RetryAfter)
			})
		}
	}
}

func flowgladapi503(hint time.Duration) flowgladapitest.Fault {
	return flowgladapitest.Fault{Method: http.MethodGet, Path: "/api/v1/customers/user_alice/billing",
		Status: http.StatusServiceUnavailable, RetryAfter: hint}
}
