package flowglad_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
)

// TestCheckoutURLFromFlowglad: the browser navigates to the url of a checkout answer, so
// only an https URL (or http on a loopback host: a local fake) is relayed; anything else is
// Flowglad misbehaving, 502 flowglad_unavailable, for every checkout key and for Go callers.
func TestCheckoutURLFromFlowglad(t *testing.T) {
	t.Parallel()
	keys := []struct{ key, body string }{
		{"checkout-sessions/create", `{` + checkoutURLs + `, "priceSlug": "pro-monthly"}`},
		{"checkout-sessions/create-add-payment-method", `{` + checkoutURLs + `}`},
		{"checkout-sessions/create-activate-subscription", `{` + checkoutURLs + `, "targetSubscriptionId": "sub_alice_pro"}`},
	}
	tests := []struct {
		base string // the fake's checkout page prefix; the session id follows
		ok   bool
	}{
		{"https://checkout.flowglad.test/c/", true},
		{"http://127.0.0.1:9/c/", true},
		{"http://localhost:9/c/", true},
		{"http://[::1]:9/c/", true},
		{"javascript:alert(document.cookie)//", false},
		{"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==#", false},
		{"http://checkout.flowglad.test/c/", false},
		{"https://checkout.flowglad.test@evil.example/c/", false},
		{"https://evil.example\\@checkout.flowglad.test/c/", false},
		{"//checkout.flowglad.test/c/", false},
		{"/checkout/", false},
	}
	for _, tc := range tests {
		t.Run(tc.base, func(t *testing.T) {
			env := newEnv(t, withFake(flowgladapitest.WithCheckoutBaseURL(tc.base)))
			for _, k := range keys {
				res := env.post(userAlice, k.key, k.body)
				if tc.ok {
					assert.True(t, strings.HasPrefix(res.data(t)["url"].(string), tc.base), "%s: %s", k.key, res.Body)
					continue
				}
				res.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
				assert.NotContains(t, string(res.Body), tc.base[:6], "%s: the URL is not relayed", k.key)
			}
			_, err := env.h.Service().CreateCheckoutSession(t.Context(), goAlice, flowglad.CheckoutSessionParams{
				PriceSlug: "pro-monthly", SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/no"})
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse)
			}
		})
	}
}
