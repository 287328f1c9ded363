package middleware

import (
	"net/http"

	"github.com/flowglad-go/flowglad"
)

// RequireUsageBalance serves the request only when the customer's current subscription has
// at least min left on the usage meter usageMeterSlug (Billing.CheckUsageBalance); a
// customer without that meter has 0. Check before expensive work, then meter it with
// MeterUsage. Without a session it answers 401; below min 402:
//
//	{"error": {"code": "usage_balance_exhausted", "message": "...",
//	  "json": {"message": "...", "usageMeter": "generations", "available": 0, "required": 1}}}
//
// Concurrent requests may all pass the check before any of them is metered, so a balance
// can end slightly below zero; Flowglad records every event.
func RequireUsageBalance(b Biller, usageMeterSlug string, min float64, opts ...Option) func(http.Handler) http.Handler {
	o := newOptions(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, st, ok := o.billing(w, r, b)
			if !ok {
				return
			}
			if st.billing != nil {
				available := 0.0
				if bal := st.billing.CheckUsageBalance(usageMeterSlug); bal != nil {
					available = bal.AvailableBalance
				}
				if available < min {
					o.onError(w, r, &flowglad.Error{
						Status:  http.StatusPaymentRequired,
						Code:    flowglad.CodeUsageBalanceExhausted,
						Message: "your usage balance is exhausted",
						Details: map[string]any{"usageMeter": usageMeterSlug, "available": available, "required": min},
					})
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
