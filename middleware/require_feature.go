package middleware

import (
	"net/http"

	"github.com/flowglad-go/flowglad"
)

// RequireFeature serves the request only when the customer's current subscription grants
// the toggle feature featureSlug (Billing.CheckFeatureAccess). Without a session it
// answers 401; without the feature 403:
//
//	{"error": {"code": "feature_required", "message": "...", "json": {"message": "...", "feature": "premium"}}}
func RequireFeature(b Biller, featureSlug string, opts ...Option) func(http.Handler) http.Handler {
	o := newOptions(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, st, ok := o.billing(w, r, b)
			if !ok {
				return
			}
			if st.billing != nil && !st.billing.CheckFeatureAccess(featureSlug) {
				o.onError(w, r, &flowglad.Error{
					Status:  http.StatusForbidden,
					Code:    flowglad.CodeFeatureRequired,
					Message: "your plan does not include this feature",
					Details: map[string]any{"feature": featureSlug},
				})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
