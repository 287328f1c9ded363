package flowglad_test

import (
	"net/http"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedirectOrigins: with Config.RedirectOrigins set, a checkout may only return to those
// origins or to the page the request came from; anything else is a 400 naming the field,
// before any Flowglad call. Without it, any http(s) URL is accepted, as before.
func TestRedirectOrigins(t *testing.T) {
	t.Parallel()
	allowed := withConfig(func(c *flowglad.Config) {
		c.RedirectOrigins = []string{"https://app.example", "http://localhost:3000"}
	})
	tests := []struct {
		name            string
		opts            []envOption
		key             string
		success, cancel string
		origin          string // the request's Origin header (httptest's host is example.com)
		wantIssues      []string
		message         string // of the issues; default: the redirect rule's
	}{
		{name: "allowed origins", opts: []envOption{allowed}, success: "https://app.example/ok?x=1", cancel: "http://localhost:3000/no"},
		{name: "case and default port do not matter", opts: []envOption{allowed}, success: "HTTPS://App.Example:443/ok", cancel: "https://app.example./no",
			wantIssues: []string{"cancelUrl"}},
		{name: "another site", opts: []envOption{allowed}, success: "https://evil.example/ok", cancel: "https://app.example/no",
			wantIssues: []string{"successUrl"}},
		{name: "both on another site", opts: []envOption{allowed}, success: "https://evil.example/ok", cancel: "http://app.example/no",
			wantIssues: []string{"cancelUrl", "successUrl"}},
		{name: "another port", opts: []envOption{allowed}, success: "https://app.example/ok", cancel: "http://localhost:3001/no",
			wantIssues: []string{"cancelUrl"}},
		{name: "a user part hides the host", opts: []envOption{allowed}, success: "https://app.example@evil.example/ok", cancel: "https://app.example/no",
			wantIssues: []string{"successUrl"}},
		{name: "a backslash hides the host", opts: []envOption{allowed}, success: `https://evil.example\\@app.example/ok`, cancel: "https://app.example/no",
			wantIssues: []string{"successUrl"}, message: "must be an absolute http(s) URL"},
		{name: "a backslash in the path is harmless", opts: []envOption{allowed}, success: `https://app.example/\\evil.example`, cancel: "https://app.example/no"},
		{name: "the request's own origin", opts: []envOption{allowed}, origin: "http://example.com",
			success: "http://example.com/billing/done", cancel: "https://app.example/no"},
		{name: "the request's own origin, another path of attack", opts: []envOption{allowed}, origin: "http://example.com",
			success: "http://example.com.evil.example/done", cancel: "https://app.example/no", wantIssues: []string{"successUrl"}},
		{name: "add payment method", opts: []envOption{allowed}, key: "checkout-sessions/create-add-payment-method",
			success: "https://evil.example/ok", cancel: "https://app.example/no", wantIssues: []string{"successUrl"}},
		{name: "activate subscription", opts: []envOption{allowed}, key: "checkout-sessions/create-activate-subscription",
			success: "https://app.example/ok", cancel: "https://evil.example/no", wantIssues: []string{"cancelUrl"}},
		// Every checkout route is given the request's origin (the handler attaches it to the
		// checkout routes' context only).
		{name: "add payment method, the request's own origin", opts: []envOption{allowed}, key: "checkout-sessions/create-add-payment-method",
			origin: "http://example.com", success: "http://example.com/ok", cancel: "http://example.com/no"},
		{name: "activate subscription, the request's own origin", opts: []envOption{allowed}, key: "checkout-sessions/create-activate-subscription",
			origin: "http://example.com", success: "http://example.com/ok", cancel: "http://example.com/no"},
		{name: "not configured: any site", success: "https://evil.example/ok", cancel: "http://elsewhere.example/no"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, tc.opts...)
			key, extra := tc.key, `, "priceSlug": "pro-monthly"`
			switch key {
			case "":
				key = "checkout-sessions/create"
			case "checkout-sessions/create-add-payment-method":
				extra = ""
			default:
				extra = `, "targetSubscriptionId": "sub_alice_pro"`
			}
			body := `{"successUrl": "` + tc.success + `", "cancelUrl": "` + tc.cancel + `"` + extra + `}`
			rq := request{user: userAlice, key: key, body: body}
			if tc.origin != "" {
				rq.headers = map[string]string{"Origin": tc.origin}
			}
			res := env.do(rq)
			if tc.wantIssues == nil {
				assert.NotEmpty(t, res.data(t)["url"])
				return
			}
			j := res.assertError(t, http.StatusBadRequest, "invalid_body")
			var paths []string
			msg := tc.message
			if msg == "" {
				msg = "must be on one of the allowed redirect origins"
			}
			for _, is := range j["issues"].([]any) {
				m := is.(map[string]any)
				assert.Equal(t, msg, m["message"])
				paths = append(paths, m["path"].(string))
			}
			assert.Equal(t, tc.wantIssues, paths)
			assert.Empty(t, env.calls(), "no Flowglad call")
		})
	}
}

// TestRedirectOriginsFromGo: Go callers are held to Config.RedirectOrigins alone (there is
// no request origin), with the issues a browser gets.
func TestRedirectOriginsFromGo(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withConfig(func(c *flowglad.Config) { c.RedirectOrigins = []string{"https://app.example"} }))
	svc := env.h.Service()
	ctx := t.Context()

	cs, err := svc.CreateCheckoutSession(ctx, goAlice, flowglad.CheckoutSessionParams{
		PriceSlug: "pro-monthly", SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/no"})
	require.NoError(t, err)
	assert.NotEmpty(t, cs.URL)
	env.calls()

	calls := map[string]func(success string) error{
		"CreateCheckoutSession": func(success string) error {
			_, err := svc.CreateCheckoutSession(ctx, goAlice, flowglad.CheckoutSessionParams{
				PriceSlug: "pro-monthly", SuccessURL: success, CancelURL: "https://app.example/no"})
			return err
		},
		"CreateAddPaymentMethodCheckoutSession": func(success string) error {
			_, err := svc.CreateAddPaymentMethodCheckoutSession(ctx, goAlice, flowglad.PaymentMethodCheckoutParams{
				SuccessURL: success, CancelURL: "https://app.example/no"})
			return err
		},
		"CreateActivateSubscriptionCheckoutSession": func(success string) error {
			_, err := svc.CreateActivateSubscriptionCheckoutSession(ctx, goAlice, flowglad.PaymentMethodCheckoutParams{
				SuccessURL: success, CancelURL: "https://app.example/no", TargetSubscriptionID: "sub_alice_pro"})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, []flowglad.Issue{{Path: "successUrl", Message: "must be on one of the allowed redirect origins"}},
				goIssues(t, call("https://evil.example/ok")))
			assert.Empty(t, env.calls())
		})
	}
}
