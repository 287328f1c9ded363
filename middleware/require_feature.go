package middleware

import (
	"net/http"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
)

// RequireFeature serves the request only when the customer's current subscription grants
// the toggle feature featureSlug (Billing.CheckFeatureAccess). Without a session it
// answers 401; without the feature 403:
//
//	{"error": {"code": "feature_required", "message": "...", "json": {"message": "...", "feature": "premium"}}}
func RequireFeature(b Biller, featureSlug string, opts ...Option) func(http.Handler) http.Handler {
	return gate(b, opts, func(bl *flowgladapi.Billing) *flowglad.Error {
		if bl.CheckFeatureAccess(featureSlug) {
			return nil
		}
		return &flowglad.Error{
			Status:  http.StatusForbidden,
			Code:    flowglad.CodeFeatureRequired,
			Message: "your plan does not include this feature",
			Details: map[string]any{"feature": featureSlug},
		}
	})
}
