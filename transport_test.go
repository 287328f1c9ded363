package flowglad_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTransportRefusals covers every refusal that happens before an action runs: none of
// them may reach Flowglad.
func TestTransportRefusals(t *testing.T) {
	t.Parallel()
	const alice = "user_alice"
	tests := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"unknown key", request{user: alice, key: "customers/nope", body: "{}"}, 404, "unknown_action"},
		{"unknown key before auth", request{key: "nope", body: "{}"}, 404, "unknown_action"},
		{"key is case-sensitive", request{user: alice, key: "Customers/billing", body: "{}"}, 404, "unknown_action"},
		{"camelCase key is exact", request{user: alice, key: "customerdetails", body: "{}"}, 404, "unknown_action"},
		{"trailing slash", request{user: alice, key: "customers/billing/", body: "{}"}, 404, "unknown_action"},
		{"extra segment", request{user: alice, key: "customers/billing/x", body: "{}"}, 404, "unknown_action"},
		{"base path alone", request{user: alice, path: "/api/flowglad", body: "{}"}, 404, "unknown_action"},
		{"GET", request{method: "GET", user: alice, key: "customers/billing", noBody: true}, 405, "method_not_allowed"},
		{"PUT", request{method: "PUT", user: alice, key: "customers/billing", body: "{}"}, 405, "method_not_allowed"},
		{"OPTIONS preflight nobody answered", request{method: "OPTIONS", key: "customers/billing", noBody: true}, 405, "method_not_allowed"},
		{"GET on the hybrid route", request{method: "GET", key: "pricing-models/retrieve", noBody: true}, 405, "method_not_allowed"},
		{"no content type", request{user: alice, key: "customers/billing", body: "{}", ctype: "-"}, 415, "unsupported_media_type"},
		{"form post", request{user: alice, key: "customers/billing", body: "a=b", ctype: "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"text/plain (a cross-site simple request)", request{user: alice, key: "customers/billing", body: "{}", ctype: "text/plain"}, 415, "unsupported_media_type"},
		{"cross-site fetch", request{user: alice, key: "customers/billing", body: "{}", headers: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, "cross_origin_forbidden"},
		{"same-site fetch", request{user: alice, key: "customers/billing", body: "{}", headers: map[string]string{"Sec-Fetch-Site": "same-site"}}, 403, "cross_origin_forbidden"},
		{"foreign Origin without Sec-Fetch-Site", request{user: alice, key: "customers/billing", body: "{}", headers: map[string]string{"Origin": "https://evil.example"}}, 403, "cross_origin_forbidden"},
		{"signed out", request{key: "customers/billing", body: "{}"}, 401, "unauthenticated"},
		{"signed out learns nothing about validation", request{key: "checkout-sessions/create", body: `{"successUrl": 1}`}, 401, "unauthenticated"},
		{"signed out with invalid JSON", request{key: "usage-events/create", body: `{`}, 401, "unauthenticated"},
		{"authenticator error", request{user: "db-down", key: "customers/billing", body: "{}"}, 500, "internal_error"},
		{"authenticator panic", request{user: "panic", key: "customers/billing", body: "{}"}, 500, "internal_error"},
		{"customer without external id", request{user: "no-external-id", key: "customers/billing", body: "{}"}, 500, "invalid_customer"},
		{"invalid JSON", request{user: alice, key: "usage-events/create", body: `{"amount": `}, 400, "invalid_json"},
		{"JSON null", request{user: alice, key: "usage-events/create", body: `null`}, 400, "invalid_json"},
		{"JSON array", request{user: alice, key: "usage-events/create", body: `[]`}, 400, "invalid_json"},
		{"JSON number", request{user: alice, key: "usage-events/create", body: `42`}, 400, "invalid_json"},
		{"two objects", request{user: alice, key: "usage-events/create", body: `{}{}`}, 400, "invalid_json"},
		{"subscriptions/create is not for browsers", request{user: alice, key: "subscriptions/create", body: `{"priceSlug":"pro-monthly"}`}, 501, "not_implemented"},
		{"subscriptions/create needs a session first", request{key: "subscriptions/create", body: `{}`}, 401, "unauthenticated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			res := env.do(tc.req)
			res.assertError(t, tc.status, tc.code)
			assert.Empty(t, env.calls(), "no Flowglad call may be made")
			assertSafeHeaders(t, res)
			if tc.status == 405 {
				assert.Equal(t, "POST", res.Header.Get("Allow"))
			}
		})
	}
}

func assertSafeHeaders(t *testing.T, res *response) {
	t.Helper()
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withConfig(func(c *flowglad.Config) { c.MaxBodyBytes = 64 }))
	body := `{"usageMeterSlug": "api-calls", "properties": {"pad": "` + strings.Repeat("x", 100) + `"}}`
	res := env.post("user_alice", "usage-events/create", body)
	res.assertError(t, http.StatusRequestEntityTooLarge, "body_too_large")
	assert.Empty(t, env.calls())
}

func TestAcceptedTransportVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  request
	}{
		{"charset parameter", request{user: "user_alice", key: "customers/billing", body: "{}", ctype: "application/json; charset=utf-8"}},
		{"same-origin fetch", request{user: "user_alice", key: "customers/billing", body: "{}", headers: map[string]string{"Sec-Fetch-Site": "same-origin"}}},
		{"user-initiated navigation", request{user: "user_alice", key: "customers/billing", body: "{}", headers: map[string]string{"Sec-Fetch-Site": "none"}}},
		{"same Origin as Host", request{user: "user_alice", key: "customers/billing", body: "{}", headers: map[string]string{"Origin": "http://example.com"}}},
		{"not a browser (no Origin, no Sec-Fetch-Site)", request{user: "user_alice", key: "customers/billing", body: "{}"}},
		{"empty body", request{user: "user_alice", key: "customers/billing", noBody: true}},
		{"whitespace body", request{user: "user_alice", key: "customers/billing", body: " \n "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			res := env.do(tc.req)
			res.data(t)
			assertSafeHeaders(t, res)
			assert.Equal(t, []string{aliceBilling}, env.calls())
		})
	}
}

func TestTrustedOrigins(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withConfig(func(c *flowglad.Config) { c.TrustedOrigins = []string{"https://app.example.com"} }))
	trusted := env.do(request{user: "user_alice", key: "customers/billing", body: "{}",
		headers: map[string]string{"Origin": "https://app.example.com", "Sec-Fetch-Site": "cross-site"}})
	trusted.data(t)

	other := env.do(request{user: "user_alice", key: "customers/billing", body: "{}",
		headers: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}})
	other.assertError(t, http.StatusForbidden, "cross_origin_forbidden")
	assert.Equal(t, []string{aliceBilling}, env.calls(), "only the trusted origin's request reaches Flowglad")
}

func TestNewHandlerConfig(t *testing.T) {
	auth := flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) { return flowglad.Customer{}, nil })
	tests := []struct {
		name    string
		cfg     flowglad.Config
		env     map[string]string
		wantErr string
	}{
		{"no auth", flowglad.Config{APIKey: "sk_test_x"}, nil, "Config.Auth is required"},
		{"no key anywhere", flowglad.Config{Auth: auth}, map[string]string{"FLOWGLAD_SECRET_KEY": ""}, "no API key"},
		{"key from the environment", flowglad.Config{Auth: auth}, map[string]string{"FLOWGLAD_SECRET_KEY": "sk_test_env"}, ""},
		{"relative base path", flowglad.Config{Auth: auth, APIKey: "k", BasePath: "api"}, nil, "must start with /"},
		{"negative body limit", flowglad.Config{Auth: auth, APIKey: "k", MaxBodyBytes: -1}, nil, "MaxBodyBytes"},
		{"bad trusted origin", flowglad.Config{Auth: auth, APIKey: "k", TrustedOrigins: []string{"app.example.com/path"}}, nil, "TrustedOrigins"},
		{"bad base URL", flowglad.Config{Auth: auth, APIKey: "k", BaseURL: "ftp://x"}, nil, "flowglad:"},
		{"base URL from the environment", flowglad.Config{Auth: auth, APIKey: "k"}, map[string]string{"FLOWGLAD_BASE_URL": "http://127.0.0.1:1"}, ""},
		{"plain http to another host", flowglad.Config{Auth: auth, APIKey: "sk_test_x", BaseURL: "http://flowglad.internal:8080"}, nil, "plain http would send the API key in clear"},
		{"plain http from the environment", flowglad.Config{Auth: auth, APIKey: "sk_test_x"}, map[string]string{"FLOWGLAD_BASE_URL": "http://10.1.2.3"}, "use https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			h, err := flowglad.NewHandler(tc.cfg)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.NotNil(t, h)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotContains(t, err.Error(), "sk_test", "a key must never appear in an error")
		})
	}
}

// TestInvalidCustomerMessageHasNoPII: the integrator learns from the log which field is
// wrong, nobody learns the value.
func TestInvalidCustomerMessageHasNoPII(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	res := env.post("no-external-id", "customers/billing", "{}")
	j := res.assertError(t, 500, "invalid_customer")
	assert.Equal(t, "internal error", j["message"], "a 5xx says nothing more")
	assert.Contains(t, env.logs.String(), "ExternalID is empty", "the log says which field")
	assert.NotContains(t, string(res.Body), "nobody.secret@example.com")
	assert.NotContains(t, env.logs.String(), "nobody.secret@example.com")
	assert.NotContains(t, env.logs.String(), "Nobody Secret")
}

// TestPanicIsRecoveredAndLogged: the stack goes to the log, never to the browser; the
// panic's value is logged by its type (its text could hold anything).
func TestPanicIsRecoveredAndLogged(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	res := env.do(request{user: "panic", key: "customers/billing", body: "{}", headers: map[string]string{"X-Request-Id": "req-123"}})
	j := res.assertError(t, 500, "internal_error")
	assert.Equal(t, "req-123", j["requestId"])
	assert.NotContains(t, string(res.Body), "exploded")
	logs := env.logs.String()
	assert.Contains(t, logs, "recovered panic of type string")
	assert.Contains(t, logs, `"stack":"goroutine `)
	assert.NotContains(t, logs, "session store exploded")
	assert.Contains(t, logs, `"request_id":"req-123"`)
	assert.Contains(t, logs, `"action":"customers/billing"`)
}

// TestHandlerBillingFromGo: server code gets the same customer checks as the route, and the
// same single Flowglad call.
func TestHandlerBillingFromGo(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	_, err := env.h.Billing(t.Context(), flowglad.Customer{ExternalID: " ", Email: "x@example.com"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ExternalID")
	assert.Empty(t, env.calls(), "an invalid customer makes no Flowglad call")

	b, err := env.h.Billing(t.Context(), testUsers["user_bob"])
	require.NoError(t, err)
	assert.True(t, b.CheckFeatureAccess("basic"))
	assert.False(t, b.CheckFeatureAccess("premium"))
	assert.Equal(t, []string{bobBilling}, env.calls())
}

// TestSubscriptionsCreateGolden pins the one answer browsers get from subscriptions/create.
func TestSubscriptionsCreateGolden(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	res := env.do(request{user: "user_alice", key: "subscriptions/create", body: `{"priceSlug": "pro-monthly"}`,
		headers: map[string]string{"X-Request-Id": "req-golden"}})
	res.assertError(t, http.StatusNotImplemented, "not_implemented")
	assert.Empty(t, env.calls())
	assertGolden(t, "subscriptions/create/not-implemented", res)
}
