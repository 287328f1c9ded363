package middleware

import (
	"net/http"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
)

// RequireFeature serves the request only when a current subscription of the customer
// grants the toggle feature featureSlug: any of them (Billing.CheckFeatureAccess, as the
// route's features/access lists features), or the one WithSubscription picks. Without a
// session it answers 401; for a cross-site browser request 403 cross_origin_forbidden
// (see AllowCrossOrigin); without the feature 403:
//
//	{"error": {"code": "feature_required", "message": "...", "json": {"message": "...", "feature": "premium"}}}
func RequireFeature(b Biller, featureSlug string, opts ...Option) func(http.Handler) http.Handler {
	return gate(b, opts, slugRef{kind: kindFeature, slug: featureSlug}, func(bl *flowgladapi.Billing, subID string) *flowglad.Error {
		granted := bl.CheckFeatureAccess(featureSlug)
		if subID != "" {
			granted = bl.CheckFeatureAccessFor(subID, featureSlug)
		}
		if granted {
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
