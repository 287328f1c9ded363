package flowglad_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyCase is one action key with a valid body for Alice and what its first Flowglad call is.
type keyCase struct {
	key  flowglad.ActionKey
	body string
	// first is the first Flowglad call the key makes for Alice ("" when it makes none).
	first string
	// retried says whether that first call is retried on 5xx, 429 and connection errors.
	retried bool
}

// allKeyCases lists all 24 keys with a valid body for Alice. TestAllKeysCovered keeps it in
// step with flowglad.ActionKeys().
func allKeyCases() []keyCase {
	const urls = `"successUrl": "https://app.example.com/ok", "cancelUrl": "https://app.example.com/cancel"`
	return []keyCase{
		{flowglad.ActionCustomersBilling, `{}`, aliceBilling, true},
		{flowglad.ActionCustomersFindOrCreate, `{}`, "GET /api/v1/customers/user_alice", true},
		{flowglad.ActionCustomersUpdate, `{"customer": {"name": "Alice Renamed"}}`, "PUT /api/v1/customers/user_alice", false},
		{flowglad.ActionCheckoutSessionsCreate, `{` + urls + `, "priceSlug": "team-monthly"}`, "POST /api/v1/checkout-sessions", false},
		{flowglad.ActionCheckoutSessionsAddPaymentMethod, `{` + urls + `}`, "POST /api/v1/checkout-sessions", false},
		{flowglad.ActionCheckoutSessionsActivateSubscription, `{` + urls + `, "targetSubscriptionId": "sub_alice_pro"}`, aliceBilling, true},
		{flowglad.ActionSubscriptionsCancel, `{"id": "sub_alice_pro", "cancellation": {"timing": "at_end_of_current_billing_period"}}`, aliceBilling, true},
		{flowglad.ActionSubscriptionsUncancel, `{"id": "sub_alice_pro"}`, aliceBilling, true},
		{flowglad.ActionSubscriptionsAdjust, `{"priceSlug": "team-monthly"}`, aliceBilling, true},
		{flowglad.ActionSubscriptionsCreate, `{"priceSlug": "team-monthly"}`, "", false},
		{flowglad.ActionSubscriptionsList, `{}`, aliceBilling, true},
		{flowglad.ActionUsageEventsCreate, `{"usageMeterSlug": "api-calls", "amount": 2}`, aliceBilling, true},
		{flowglad.ActionResourcesUsages, `{}`, aliceBilling, true},
		{flowglad.ActionResourcesUsage, `{"resourceSlug": "seats"}`, aliceBilling, true},
		{flowglad.ActionResourcesClaim, `{"resourceSlug": "seats", "quantity": 1}`, aliceBilling, true},
		{flowglad.ActionResourcesRelease, `{"resourceSlug": "seats", "quantity": 1}`, aliceBilling, true},
		{flowglad.ActionResourcesClaims, `{"resourceSlug": "seats"}`, aliceBilling, true},
		{flowglad.ActionPricingModelsRetrieve, `{}`, aliceBilling, true},
		{flowglad.ActionUsageMetersBalances, `{}`, "GET /api/v1/customers/user_alice/usage-balances", true},
		{flowglad.ActionFeaturesAccess, `{}`, aliceBilling, true},
		{flowglad.ActionPaymentMethodsList, `{}`, aliceBilling, true},
		{flowglad.ActionCustomerDetails, `{}`, aliceBilling, true},
		{flowglad.ActionInvoicesList, `{"limit": 10}`, aliceBilling, true},
		{flowglad.ActionPurchasesList, `{}`, aliceBilling, true},
	}
}

// callingKeys are the keys that reach Flowglad (all but subscriptions/create).
func callingKeys() []keyCase {
	var out []keyCase
	for _, kc := range allKeyCases() {
		if kc.first != "" {
			out = append(out, kc)
		}
	}
	return out
}

// splitCall splits "GET /path" into a method and a path.
func splitCall(call string) (string, string) {
	m, p, _ := strings.Cut(call, " ")
	return m, p
}

func TestAllKeysCovered(t *testing.T) {
	t.Parallel()
	var got []flowglad.ActionKey
	for _, kc := range allKeyCases() {
		got = append(got, kc.key)
	}
	assert.Equal(t, flowglad.ActionKeys(), got)
	assert.Len(t, got, 24)
}

// TestEveryKeyRefusesBeforeCallingFlowglad: for each of the 24 keys, a signed-out visitor, a
// GET and a text/plain POST are refused without any Flowglad call (the hybrid pricing key
// serves a signed-out visitor the default pricing model instead).
func TestEveryKeyRefusesBeforeCallingFlowglad(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	for _, kc := range allKeyCases() {
		t.Run(string(kc.key), func(t *testing.T) {
			env.calls()
			signedOut := env.do(request{key: string(kc.key), body: kc.body})
			if kc.key == flowglad.ActionPricingModelsRetrieve {
				d := signedOut.data(t)
				assert.Equal(t, "default", d["source"])
				assert.Equal(t, []string{"GET /api/v1/pricing-models/default"}, env.calls())
			} else {
				signedOut.assertError(t, http.StatusUnauthorized, "unauthenticated")
				assert.Empty(t, env.calls(), "signed out")
			}

			get := env.do(request{method: http.MethodGet, user: "user_alice", key: string(kc.key), noBody: true})
			get.assertError(t, http.StatusMethodNotAllowed, "method_not_allowed")
			assert.Equal(t, "POST", get.Header.Get("Allow"))
			assert.Empty(t, env.calls(), "GET")

			plain := env.do(request{user: "user_alice", key: string(kc.key), body: kc.body, ctype: "text/plain"})
			plain.assertError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
			assert.Empty(t, env.calls(), "text/plain")
		})
	}
}

// failureCase is one way Flowglad can fail, applied to the first call of every key.
type failureCase struct {
	name string
	// fault is injected on the first call of each key, for its next hits requests.
	fault  flowgladapitest.Fault
	hits   int
	status int
	code   string
	// attempts is how many times the first call is made: for keys whose first call is
	// retried and for the others.
	retriedAttempts, onceAttempts int
	check                         func(t *testing.T, env *testEnv, kc keyCase, res *response, j map[string]any)
}

// upstreamSecret is in every injected Flowglad message: it must never reach a 5xx body.
const upstreamSecret = "upstream-internal-detail-7f3a"

func onFirst(kc keyCase, f flowgladapitest.Fault) flowgladapitest.Fault {
	f.Method, f.Path = splitCall(kc.first)
	return f
}

func failureCases() []failureCase {
	generic5xx := func(t *testing.T, env *testEnv, kc keyCase, res *response, j map[string]any) {
		t.Helper()
		assert.NotContains(t, string(res.Body), upstreamSecret, "Flowglad's message must not leak into a 5xx")
		assert.Equal(t, "req-upstream-1", j["requestId"], "a 5xx carries the request id")
		assert.NotContains(t, j, "flowgladCode")
	}
	return []failureCase{
		{
			name:  "500",
			fault: flowgladapitest.Fault{Status: 500, Message: upstreamSecret}, hits: 3,
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			retriedAttempts: 3, onceAttempts: 1,
			check: generic5xx,
		},
		{
			name:  "503",
			fault: flowgladapitest.Fault{Status: 503, Message: upstreamSecret}, hits: 3,
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			retriedAttempts: 3, onceAttempts: 1,
			check: generic5xx,
		},
		{
			name: "connection closed",
			// Every attempt fails: net/http may itself replay a GET on a reused
			// connection, so the number of attempts is not asserted here.
			fault: flowgladapitest.Fault{CloseConnection: true}, hits: 100,
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			check: generic5xx,
		},
		{
			name:  "403",
			fault: flowgladapitest.Fault{Status: 403, Message: upstreamSecret}, hits: 3,
			status: http.StatusBadGateway, code: "flowglad_auth_failed",
			retriedAttempts: 1, onceAttempts: 1,
			check: func(t *testing.T, env *testEnv, kc keyCase, res *response, j map[string]any) {
				generic5xx(t, env, kc, res, j)
				assertLogged(t, env, "ERROR", string(kc.key), "flowglad_auth_failed")
			},
		},
		{
			name:  "429 with Retry-After",
			fault: flowgladapitest.Fault{Status: 429, Message: upstreamSecret, RetryAfter: 7 * time.Second}, hits: 3,
			status: http.StatusServiceUnavailable, code: "flowglad_busy",
			retriedAttempts: 3, onceAttempts: 1,
			check: func(t *testing.T, env *testEnv, kc keyCase, res *response, j map[string]any) {
				generic5xx(t, env, kc, res, j)
				// What the client honoured (fastRetries caps waits at 5 ms, rounded up to a
				// second), not Flowglad's 7 s.
				assert.Equal(t, "1", res.Header.Get("Retry-After"))
			},
		},
		rejectedFailure(400, http.StatusBadRequest, "BAD_REQUEST", "Price team-monthly is not active"),
		rejectedFailure(409, http.StatusConflict, "CONFLICT", "Conflicting change in progress"),
		rejectedFailure(422, http.StatusUnprocessableEntity, "UNPROCESSABLE_CONTENT", "Cannot process this change"),
	}
}

// rejectedFailure is Flowglad refusing the call with status upstream and msg: the answer is
// status flowglad_rejected, relaying flowgladCode and msg, and the call is not retried.
func rejectedFailure(upstream, status int, flowgladCode, msg string) failureCase {
	return failureCase{
		name:  strconv.Itoa(upstream),
		fault: flowgladapitest.Fault{Status: upstream, Message: msg}, hits: 3,
		status: status, code: "flowglad_rejected",
		retriedAttempts: 1, onceAttempts: 1,
		check: func(t *testing.T, _ *testEnv, _ keyCase, res *response, j map[string]any) {
			t.Helper()
			assert.Equal(t, flowgladCode, j["flowgladCode"])
			assert.Equal(t, msg, j["message"], "a 4xx relays Flowglad's message")
			assert.NotContains(t, j, "requestId")
		},
	}
}

// TestUpstreamFailureMapping injects each failure on the first Flowglad call of every key
// that calls Flowglad and checks the answer (CONTRACT §3) and the number of attempts.
func TestUpstreamFailureMapping(t *testing.T) {
	t.Parallel()
	for _, fc := range failureCases() {
		t.Run(fc.name, func(t *testing.T) {
			for _, kc := range callingKeys() {
				t.Run(string(kc.key), func(t *testing.T) {
					env := newEnv(t)
					env.fake.FailNext(fc.hits, onFirst(kc, fc.fault))
					res := env.do(request{user: "user_alice", key: string(kc.key), body: kc.body,
						headers: map[string]string{"X-Request-Id": "req-upstream-1"}})
					j := res.assertError(t, fc.status, fc.code)
					assertSafeHeaders(t, res)
					calls := env.calls()
					require.NotEmpty(t, calls)
					if fc.retriedAttempts > 0 {
						want := fc.onceAttempts
						if kc.retried {
							want = fc.retriedAttempts
						}
						assert.Equal(t, repeat(kc.first, want), calls, "attempts of the first call, and nothing after it")
					} else {
						assert.Equal(t, repeat(kc.first, len(calls)), calls, "nothing after the failed call")
					}
					fc.check(t, env, kc, res, j)
				})
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestRetryAfterRelayed: the 503's Retry-After is the wait the client honours
// (RetryPolicy.MaxRetryAfter), never Flowglad's longer hint: the request was held that long
// at most, and an hour would stall the browser for nothing.
func TestRetryAfterRelayed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		hint     time.Duration // Flowglad's Retry-After; 0: none
		maxAfter time.Duration
		want     string
	}{
		{"an hour becomes the cap", time.Hour, 10 * time.Second, "10"},
		{"a shorter hint is kept", 3 * time.Second, 10 * time.Second, "3"},
		{"the default cap", time.Hour, 0, "5"},
		{"no hint: one second", 0, 10 * time.Second, "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No retries: the hint is relayed without being waited for.
			policy := flowgladapi.RetryPolicy{MaxRetryAfter: tc.maxAfter}
			env := newEnv(t, withConfig(func(c *flowglad.Config) { c.RetryPolicy = &policy }))
			env.fake.FailNext(1, flowgladapitest.Fault{Status: http.StatusTooManyRequests, RetryAfter: tc.hint})
			res := env.post("user_alice", "customers/billing", "{}")
			res.assertError(t, http.StatusServiceUnavailable, "flowglad_busy")
			assert.Equal(t, tc.want, res.Header.Get("Retry-After"))
		})
	}
}

// TestUpstream404 maps Flowglad's 404 to 404 not_found. Where an action handles a missing
// customer by creating it, the customer turns out to exist (409 on creation, which means
// "created meanwhile") and the read is repeated; it fails again with 404.
func TestUpstream404(t *testing.T) {
	t.Parallel()
	for _, kc := range callingKeys() {
		t.Run(string(kc.key), func(t *testing.T) {
			env := newEnv(t)
			method, path := splitCall(kc.first)
			env.fake.FailNext(100, flowgladapitest.Fault{Method: method, Path: path, Status: 404, Message: "Price not found"})
			res := env.do(request{user: "user_alice", key: string(kc.key), body: kc.body})
			calls := env.calls()
			j := res.assertError(t, http.StatusNotFound, "not_found")
			assert.Equal(t, "Price not found", j["message"])
			switch kc.first {
			case aliceBilling, "GET /api/v1/customers/user_alice", aliceBalances:
				// On the customer's own path (usage balances with no subscription filter too)
				// a 404 NOT_FOUND means the customer is missing.
				assert.Equal(t, []string{kc.first, "POST /api/v1/customers", kc.first}, calls,
					"customer creation, then one more read")
			default:
				assert.Equal(t, []string{kc.first}, calls)
			}
		})
	}
}

// TestUpstreamAuthFailure: Flowglad refusing our key (401, text/plain as the live server
// answers) is the operator's problem: 502 with a generic message, logged at Error.
func TestUpstreamAuthFailure(t *testing.T) {
	t.Parallel()
	for _, kc := range callingKeys() {
		t.Run(string(kc.key), func(t *testing.T) {
			env := newEnv(t, withConfig(func(c *flowglad.Config) { c.APIKey = "sk_test_revoked_key" }))
			res := env.do(request{user: "user_alice", key: string(kc.key), body: kc.body})
			j := res.assertError(t, http.StatusBadGateway, "flowglad_auth_failed")
			assert.NotEmpty(t, j["requestId"])
			assert.NotContains(t, string(res.Body), "API key invalid", "Flowglad's text must not leak")
			assert.Equal(t, []string{kc.first}, env.calls(), "a 401 is not retried")
			assertLogged(t, env, "ERROR", string(kc.key), "flowglad_auth_failed")
		})
	}
	t.Run("anonymous pricing", func(t *testing.T) {
		env := newEnv(t, withConfig(func(c *flowglad.Config) { c.APIKey = "sk_test_revoked_key" }))
		res := env.do(request{key: "pricing-models/retrieve", body: "{}"})
		res.assertError(t, http.StatusBadGateway, "flowglad_auth_failed")
		assert.Equal(t, []string{"GET /api/v1/pricing-models/default"}, env.calls())
	})
}

// TestUpstreamTimeout: Flowglad slower than Config.Timeout gives 504 for every key.
func TestUpstreamTimeout(t *testing.T) {
	t.Parallel()
	for _, kc := range callingKeys() {
		t.Run(string(kc.key), func(t *testing.T) {
			// A fake per key: on a slow run (-race) a request can reach the fake after the
			// client gave up, or never, and must not show up among another key's calls.
			// The calls are recorded as the client sends them: the fake may never see one.
			sent := &sentCalls{next: http.DefaultTransport}
			env := newEnv(t, withConfig(func(c *flowglad.Config) {
				c.Timeout = 30 * time.Millisecond
				c.HTTPClient = &http.Client{Transport: sent}
			}))
			env.fake.SetLatency(5 * time.Second)
			res := env.do(request{user: "user_alice", key: string(kc.key), body: kc.body})
			j := res.assertError(t, http.StatusGatewayTimeout, "flowglad_timeout")
			assert.NotEmpty(t, j["requestId"])
			calls := sent.all()
			require.NotEmpty(t, calls, "the timeout is Flowglad's, after a call was sent")
			assert.Equal(t, kc.first, calls[0])
		})
	}
}

// stubServer is a tiny Flowglad stand-in for answers the fake never gives: it answers every
// request with the handler given, and records the calls.
type stubServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []string
}

func newStub(t *testing.T, h http.HandlerFunc) *stubServer {
	t.Helper()
	s := &stubServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		c := r.Method + " " + r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			c += "?" + r.URL.RawQuery
		}
		s.calls = append(s.calls, c)
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// takeCalls returns the calls so far and forgets them.
func (s *stubServer) takeCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

// withStub points the handler at a stub instead of the fake.
func withStub(s *stubServer) envOption {
	return withConfig(func(c *flowglad.Config) { c.BaseURL = s.URL })
}

// TestUpstreamBadJSON: a 200 from Flowglad whose body is not JSON is 502 for every key.
func TestUpstreamBadJSON(t *testing.T) {
	t.Parallel()
	stub := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"customer": {"id": "cus_1", ` + upstreamSecret))
	})
	env := newEnv(t, withStub(stub))
	for _, kc := range callingKeys() {
		t.Run(string(kc.key), func(t *testing.T) {
			stub.takeCalls()
			res := env.do(request{user: "user_alice", key: string(kc.key), body: kc.body})
			j := res.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
			assert.NotEmpty(t, j["requestId"])
			assert.NotContains(t, string(res.Body), upstreamSecret)
			want := 1
			if kc.retried {
				want = 3 // a garbled answer to an idempotent call is asked again, like a 5xx
			}
			assert.Equal(t, repeat(kc.first, want), stub.takeCalls())
		})
	}
	t.Run("anonymous pricing", func(t *testing.T) {
		stub.takeCalls()
		res := env.do(request{key: "pricing-models/retrieve", body: "{}"})
		res.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
		assert.Equal(t, repeat("GET /api/v1/pricing-models/default", 3), stub.takeCalls())
	})
	t.Run("valid JSON of the wrong shape", func(t *testing.T) {
		wrong := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[1, 2, 3]`))
		})
		env := newEnv(t, withStub(wrong))
		for _, key := range []string{"customers/billing", "customerDetails", "usage-meters/balances"} {
			res := env.post("user_alice", key, "{}")
			res.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
		}
		res := env.do(request{key: "pricing-models/retrieve", body: "{}"})
		res.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
	})
}

// logLine is one decoded JSON log record.
type logLine map[string]any

func logLines(t *testing.T, env *testEnv) []logLine {
	t.Helper()
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(env.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m logLine
		require.NoError(t, json.Unmarshal([]byte(l), &m), "log line: %s", l)
		out = append(out, m)
	}
	return out
}

// assertLogged checks that a record at level names the action and the code.
func assertLogged(t *testing.T, env *testEnv, level, action, code string) {
	t.Helper()
	for _, l := range logLines(t, env) {
		if l["level"] == level && l["action"] == action && l["code"] == code {
			assert.NotEmpty(t, l["request_id"], "a %s record carries the request id", level)
			return
		}
	}
	t.Errorf("no %s log record for %s with code %s in:\n%s", level, action, code, env.logs.String())
}

// TestNoSecretsOrPII runs every key through successes and failures with Debug logging and
// checks that the API key never appears in an answer or a log line, and the customer's email
// and name never in a log line.
func TestNoSecretsOrPII(t *testing.T) {
	t.Parallel()
	const apiKey = "sk_test_Zq81SECRETkey"
	env := newEnv(t, withFake(flowgladapitest.WithAPIKey(apiKey)))
	alice := testUsers["user_alice"]
	var bodies []string
	run := func(user string, kc keyCase) {
		res := env.do(request{user: user, key: string(kc.key), body: kc.body})
		bodies = append(bodies, string(res.Body))
	}
	for _, kc := range allKeyCases() {
		run("user_alice", kc)
		run("user_carol", kc)
		run("escaped", kc)
		if kc.first == "" {
			continue
		}
		method, path := splitCall(kc.first)
		for _, f := range []flowgladapitest.Fault{
			{Status: 500, Message: "db error for alice@example.com (Alice Example)"},
			{Status: 400, Message: "alice@example.com: Alice Example is not allowed"},
			{Status: 403},
			{Status: 429, RetryAfter: time.Second},
			{CloseConnection: true},
		} {
			f.Method, f.Path = method, path
			env.fake.FailNext(3, f)
			run("user_alice", kc)
		}
		env.fake.FailNext(1, flowgladapitest.Fault{Status: 502, Message: "alice@example.com"})
		run("user_alice", kc)
		// Faults a request did not consume (a write is not retried) hit later requests:
		// more failures, which suits this test.
		env.fake.ResetRequests()
	}
	// A handler with a key Flowglad refuses.
	bad := newEnv(t, withConfig(func(c *flowglad.Config) { c.APIKey = "sk_test_RefusedSECRET" }))
	for _, kc := range allKeyCases() {
		res := bad.do(request{user: "user_alice", key: string(kc.key), body: kc.body})
		assert.NotContains(t, string(res.Body), "sk_test_RefusedSECRET")
	}

	logs := env.logs.String() + bad.logs.String()
	require.NotEmpty(t, logs)
	assert.Contains(t, logs, `"level":"DEBUG"`, "the run logs at Debug")
	assert.Contains(t, logs, `"level":"ERROR"`)
	for _, secret := range []string{apiKey, "sk_test_RefusedSECRET", "Authorization", "authorization"} {
		assert.NotContains(t, logs, secret)
		for _, b := range bodies {
			assert.NotContains(t, b, secret)
		}
	}
	for name, c := range testUsers {
		if name == "no-external-id" || name == "bad-email" {
			continue
		}
		assert.NotContains(t, logs, c.Email, "email of %s", name)
		assert.NotContains(t, logs, c.Name, "name of %s", name)
	}
	assert.NotContains(t, logs, alice.Email)
}

// TestUpstreamGoldenErrors pins the error envelopes of the upstream failures.
func TestUpstreamGoldenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault flowgladapitest.Fault
		n     int
	}{
		{"flowglad_unavailable", flowgladapitest.Fault{Status: 500, Message: upstreamSecret}, 3},
		{"flowglad_auth_failed", flowgladapitest.Fault{Status: 403}, 1},
		{"flowglad_busy", flowgladapitest.Fault{Status: 429, RetryAfter: 2 * time.Second}, 3},
		{"flowglad_rejected", flowgladapitest.Fault{Status: 422, Message: "Cannot process this change"}, 1},
		{"not_found", flowgladapitest.Fault{Status: 404, Code: "NOT_FOUND", Message: "Price not found"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			f := tc.fault
			f.Method, f.Path = "GET", "/api/v1/resource-claims/sub_alice_pro/usage"
			env.fake.FailNext(tc.n, f)
			res := env.do(request{user: "user_alice", key: "resources/usages/retrieve", body: `{"resourceSlug": "seats"}`,
				headers: map[string]string{"X-Request-Id": "req-golden"}})
			assertGolden(t, "errors/"+tc.name, res)
		})
	}
	t.Run("flowglad_timeout", func(t *testing.T) {
		env := newEnv(t, withConfig(func(c *flowglad.Config) { c.Timeout = 20 * time.Millisecond }))
		env.fake.SetLatency(5 * time.Second)
		res := env.do(request{user: "user_alice", key: "customers/billing", body: "{}",
			headers: map[string]string{"X-Request-Id": "req-golden"}})
		assertGolden(t, "errors/flowglad_timeout", res)
	})
}

// scrubbed replaces what changes from run to run in an answer (the fake's random port, in
// billing portal and checkout URLs) so it can be compared with a golden file.
func (e *testEnv) scrubbed(r *response) *response {
	out := *r
	out.Body = []byte(strings.ReplaceAll(string(r.Body), e.fake.URL, "http://flowglad.test"))
	return &out
}

// issuePaths returns the paths of error.json.issues, sorted.
func issuePaths(t *testing.T, j map[string]any) []string {
	t.Helper()
	raw, ok := j["issues"].([]any)
	require.True(t, ok, "no issues in %v", j)
	var out []string
	for _, it := range raw {
		m, ok := it.(map[string]any)
		require.True(t, ok)
		p, _ := m["path"].(string)
		msg, _ := m["message"].(string)
		assert.NotEmpty(t, msg, "issue %q has a message", p)
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// withUsers adds test users to the authenticator.
func withUsers(users map[string]flowglad.Customer) envOption {
	return withConfig(func(c *flowglad.Config) {
		c.Auth = flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
			if u, ok := users[r.Header.Get("X-Test-User")]; ok {
				return u, nil
			}
			return testAuth(r)
		})
	})
}

// actionCase is one request to one key, with everything it must cause.
type actionCase struct {
	name   string
	user   string // default user_alice; "-" = signed out
	body   string
	noBody bool
	// setup prepares the fake (its own calls are forgotten) and may return replacements
	// for placeholders in body.
	setup func(t *testing.T, env *testEnv) map[string]string
	opts  []envOption

	status int    // default 200
	code   string // the error code when status is not 200
	issues []string
	calls  []string // the exact Flowglad calls; nil = none
	// callPrefix, when set, replaces calls: the calls must start with these.
	callPrefix []string
	check      func(t *testing.T, env *testEnv, res *response)
	golden     string // testdata/golden/<golden>.json, after scrubbing
}

// failNext is an actionCase setup that makes the fake fail its next n requests that f
// matches.
func failNext(n int, f flowgladapitest.Fault) func(*testing.T, *testEnv) map[string]string {
	return func(_ *testing.T, env *testEnv) map[string]string {
		env.fake.FailNext(n, f)
		return nil
	}
}

func runActionCases(t *testing.T, key string, cases []actionCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, tc.opts...)
			body := tc.body
			if tc.setup != nil {
				for k, v := range tc.setup(t, env) {
					body = strings.ReplaceAll(body, k, v)
				}
			}
			env.calls()
			user := tc.user
			switch user {
			case "":
				user = "user_alice"
			case "-":
				user = ""
			}
			// A fixed request id keeps 5xx answers reproducible for the golden files.
			res := env.do(request{user: user, key: key, body: body, noBody: tc.noBody,
				headers: map[string]string{"X-Request-Id": "req-golden"}})
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			if tc.check != nil {
				// Before the calls are taken, so that the check can read what was sent.
				tc.check(t, env, res)
			}
			calls := env.calls()
			if status == http.StatusOK {
				res.data(t)
			} else {
				j := res.assertError(t, status, tc.code)
				if tc.issues != nil {
					assert.Equal(t, tc.issues, issuePaths(t, j))
				}
			}
			assertSafeHeaders(t, res)
			if tc.callPrefix != nil {
				require.GreaterOrEqual(t, len(calls), len(tc.callPrefix), "calls: %v", calls)
				assert.Equal(t, tc.callPrefix, calls[:len(tc.callPrefix)])
			} else {
				want := tc.calls
				if want == nil {
					want = []string{}
				}
				assert.Equal(t, want, calls, "Flowglad calls")
			}
			assertGoldenIf(t, tc.golden, env.scrubbed(res))
		})
	}
}

// jsonOf re-encodes v compactly, for comparisons of decoded JSON.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// mustPost sends a request that must succeed, for setups.
func mustPost(t *testing.T, env *testEnv, user, key, body string) map[string]any {
	t.Helper()
	res := env.post(user, key, body)
	require.Equal(t, http.StatusOK, res.Status, "%s: %s", key, res.Body)
	return res.data(t)
}

// TestSteadyStateCallCounts pins the Flowglad round trips of every key for an existing
// customer with a valid body: the "ours" column of the README's compatibility table.
func TestSteadyStateCallCounts(t *testing.T) {
	t.Parallel()
	want := map[flowglad.ActionKey][]string{
		flowglad.ActionCustomersBilling:                     {aliceBilling},
		flowglad.ActionCustomersFindOrCreate:                {"GET /api/v1/customers/user_alice"},
		flowglad.ActionCustomersUpdate:                      {"PUT /api/v1/customers/user_alice"},
		flowglad.ActionCheckoutSessionsCreate:               {"POST /api/v1/checkout-sessions"},
		flowglad.ActionCheckoutSessionsAddPaymentMethod:     {"POST /api/v1/checkout-sessions"},
		flowglad.ActionCheckoutSessionsActivateSubscription: {aliceBilling, "POST /api/v1/checkout-sessions"},
		flowglad.ActionSubscriptionsCancel:                  {aliceBilling, "POST /api/v1/subscriptions/sub_alice_pro/cancel"},
		flowglad.ActionSubscriptionsUncancel:                {aliceBilling},
		flowglad.ActionSubscriptionsAdjust:                  {aliceBilling, "POST /api/v1/subscriptions/sub_alice_pro/adjust"},
		flowglad.ActionSubscriptionsCreate:                  {},
		flowglad.ActionSubscriptionsList:                    {aliceBilling},
		flowglad.ActionUsageEventsCreate:                    {aliceBilling, "POST /api/v1/usage-events"},
		flowglad.ActionResourcesUsages:                      {aliceBilling, aliceUsages},
		flowglad.ActionResourcesUsage:                       {aliceBilling, aliceUsage + "?resourceSlug=seats"},
		flowglad.ActionResourcesClaim:                       {aliceBilling, aliceClaim},
		flowglad.ActionResourcesRelease:                     {aliceBilling, aliceRelease},
		flowglad.ActionResourcesClaims:                      {aliceBilling, aliceClaims + "?resourceSlug=seats"},
		flowglad.ActionPricingModelsRetrieve:                {aliceBilling},
		flowglad.ActionUsageMetersBalances:                  {aliceBalances},
		flowglad.ActionFeaturesAccess:                       {aliceBilling},
		flowglad.ActionPaymentMethodsList:                   {aliceBilling},
		flowglad.ActionCustomerDetails:                      {aliceBilling},
		flowglad.ActionInvoicesList:                         {aliceBilling},
		flowglad.ActionPurchasesList:                        {aliceBilling},
	}
	for _, kc := range allKeyCases() {
		t.Run(string(kc.key), func(t *testing.T) {
			env := newEnv(t)
			if kc.key == flowglad.ActionResourcesRelease {
				mustPost(t, env, "user_alice", "resources/claim", `{"resourceSlug": "seats", "quantity": 1}`)
				env.calls()
			}
			res := env.post("user_alice", string(kc.key), kc.body)
			if kc.key == flowglad.ActionSubscriptionsCreate {
				res.assertError(t, http.StatusNotImplemented, "not_implemented")
			} else {
				require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
			}
			assert.Equal(t, want[kc.key], env.calls())
		})
	}
	t.Run("uncancel of a scheduled cancellation", func(t *testing.T) {
		env := newEnv(t)
		require.NoError(t, env.fake.SetSubscriptionStatus("sub_alice_pro", flowgladapitest.StatusCancellationScheduled))
		env.post("user_alice", "subscriptions/uncancel", `{"id": "sub_alice_pro"}`).data(t)
		assert.Equal(t, []string{aliceBilling, "POST /api/v1/subscriptions/sub_alice_pro/uncancel"}, env.calls())
	})
	t.Run("anonymous pricing", func(t *testing.T) {
		env := newEnv(t)
		env.do(request{key: "pricing-models/retrieve", body: `{}`}).data(t)
		assert.Equal(t, []string{"GET /api/v1/pricing-models/default"}, env.calls())
	})
	t.Run("update naming the customer's Flowglad id", func(t *testing.T) {
		env := newEnv(t)
		env.post("user_alice", "customers/update", `{"customer": {"id": "cus_alice", "name": "A"}}`).data(t)
		assert.Equal(t, []string{aliceBilling, "PUT /api/v1/customers/user_alice"}, env.calls())
	})
}

// sentCalls is a RoundTripper that records each call ("METHOD /path?query") before sending
// it with next.
type sentCalls struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls []string
}

func (s *sentCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	c := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		c += "?" + r.URL.RawQuery
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	return s.next.RoundTrip(r)
}

func (s *sentCalls) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}
