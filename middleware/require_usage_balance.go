package middleware

import (
	"net/http"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
)

// RequireUsageBalance serves the request only when the customer has at least min left on
// the usage meter usageMeterSlug, on the subscription MeterUsage records on: the first
// current subscription (newest first) that has the meter (Billing.CheckUsageBalance), or
// the one WithSubscription picks. A customer without that meter has 0. Check before
// expensive work, then meter it with MeterUsage. Without a session it answers 401; for a
// cross-site browser request 403 cross_origin_forbidden (see AllowCrossOrigin); below min
// 402:
//
//	{"error": {"code": "usage_balance_exhausted", "message": "...",
//	  "json": {"message": "...", "usageMeter": "generations", "available": 0, "required": 1}}}
//
// Concurrent requests may all pass the check before any of them is metered, so a balance
// can end slightly below zero; Flowglad records every event.
func RequireUsageBalance(b Biller, usageMeterSlug string, min float64, opts ...Option) func(http.Handler) http.Handler {
	return gate(b, opts, slugRef{kind: kindUsageMeter, slug: usageMeterSlug}, func(bl *flowgladapi.Billing, subID string) *flowglad.Error {
		bal := bl.CheckUsageBalance(usageMeterSlug)
		if subID != "" {
			bal = bl.CheckUsageBalanceFor(subID, usageMeterSlug)
		}
		available := 0.0
		if bal != nil {
			available = bal.AvailableBalance
		}
		if available >= min {
			return nil
		}
		return &flowglad.Error{
			Status:  http.StatusPaymentRequired,
			Code:    flowglad.CodeUsageBalanceExhausted,
			Message: "your usage balance is exhausted",
			Details: map[string]any{"usageMeter": usageMeterSlug, "available": available, "required": min},
		}
	})
}
