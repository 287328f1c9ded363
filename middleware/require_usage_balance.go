package middleware

import (
	"context"
	"errors"
	"math"
	"net/http"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/usage"
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
//	  "json": {"message": "...", "usageMeter": "api-calls", "available": 0, "required": 1}}}
//
// Without WithRecorder, concurrent requests may all pass the check before any of them is
// metered, so a balance can end below zero; Flowglad records every event. With
// WithRecorder, the gate reserves min (rounded up to a whole unit, as usage amounts are)
// for the request, atomically against the balance less the usage pending and reserved:
// concurrent requests on a balance B pass at most floor(B/min) times, and the MeterUsage
// of the same meter commits the reservation with the real amount (see WithRecorder). The
// reservation is made under the default rule; with WithSubscription the gate checks the
// picked subscription's balance less pending usage, without reserving. A gate inside
// another on the same meter counts the outer one's reservation as the request's own, and
// reserves only what its min requires beyond it (a stricter route in a gated group); with
// WithSubscription it counts it when it picks the subscription the reservation is on.
func RequireUsageBalance(b Biller, usageMeterSlug string, min float64, opts ...Option) func(http.Handler) http.Handler {
	o := newOptions(b, opts)
	var reserve reserveFunc
	if o.recorder != nil && min > 0 {
		reserve = o.reserveBalance(b, usageMeterSlug, min)
	}
	return gateWith(b, o, slugRef{kind: kindUsageMeter, slug: usageMeterSlug}, func(ctx context.Context, st *state, bl *flowgladapi.Billing, subID string) *flowglad.Error {
		bal := bl.CheckUsageBalance(usageMeterSlug)
		if subID != "" {
			bal = bl.CheckUsageBalanceFor(subID, usageMeterSlug)
		}
		available := 0.0
		if bal != nil {
			available = bal.AvailableBalance
		}
		if held := st.held(usageMeterSlug); held > 0 && holdsOn(bl, subID, usageMeterSlug) {
			// An outer gate's reservation is this request's to use. The request's
			// subscriptions were read before it was made, so the balance is read again
			// (from the request's billing, with the usage pending and reserved now, the
			// request's own reservations included) and they are added back once: added to
			// the earlier read, they would be counted twice.
			available = o.available(ctx, b, st, usageMeterSlug) + float64(held)
		}
		if available >= min {
			return nil
		}
		return balanceExhausted(usageMeterSlug, available, min)
	}, reserve)
}

// holdsOn reports whether reservations of slug count against the subscription the gate
// checks: the default rule's (subID ""), or the one WithSubscription picked when it is the
// default rule's too. Reservations are made under the default rule.
func holdsOn(bl *flowgladapi.Billing, subID, slug string) bool {
	if subID == "" {
		return true
	}
	def := bl.UsageSubscription(slug)
	return def != nil && def.ID == subID
}

// balanceExhausted is the 402 of a balance below what the request requires.
func balanceExhausted(slug string, available, required float64) *flowglad.Error {
	return &flowglad.Error{
		Status:  http.StatusPaymentRequired,
		Code:    flowglad.CodeUsageBalanceExhausted,
		Message: "your usage balance is exhausted",
		Details: map[string]any{"usageMeter": slug, "available": available, "required": required},
	}
}

// reserveBalance is RequireUsageBalance's reservation of min on slug through the
// recorder. The balance is read from the billing the gate read (no Flowglad call); the
// reservation is kept on the request for the meter of slug to commit, and released when
// the gate's handler returns unless a meter of slug wrapping the gate is still running
// (it then commits or releases it itself). Inside an outer gate that reserved on slug, it
// reserves only what min requires beyond what the request holds.
func (o *options) reserveBalance(b Biller, slug string, min float64) reserveFunc {
	amount := int64(math.Ceil(min))
	return func(w http.ResponseWriter, r *http.Request, st *state, subID string) (func(), bool) {
		if subID != "" {
			return nil, true
		}
		held := st.held(slug)
		if amount <= held {
			return nil, true
		}
		res, err := o.recorder.Reserve(r.Context(), st.customer, slug, amount-held)
		if err != nil {
			var fe *flowglad.Error
			switch {
			case errors.Is(err, usage.ErrInsufficientBalance):
				o.onError(w, r, balanceExhausted(slug, o.available(r.Context(), b, st, slug)+float64(held), min))
				return nil, false
			case errors.As(err, &fe):
				o.fail(w, r, b, st.customer, err)
				return nil, false
			}
			// Billing, or the ledger the reservations are kept in, could not be read: the
			// gate's policy for unreadable billing applies (FailOpen serves unreserved).
			return nil, o.unreadable(w, r, b, st, err)
		}
		st.addHold(slug, res)
		return func() {
			if st.metering(slug) {
				return
			}
			st.releaseHolds(r.Context(), slug)
		}, true
	}
}

// available returns the customer's balance on slug as the gate sees it now (less the
// usage pending and reserved): the 402's detail after a refused reservation.
func (o *options) available(ctx context.Context, b Biller, st *state, slug string) float64 {
	current, err := b.Service().CurrentSubscriptions(ctx, st.customer)
	if err != nil {
		return 0
	}
	bl := flowgladapi.Billing{CurrentSubscriptions: current}
	if bal := bl.CheckUsageBalance(slug); bal != nil {
		return bal.AvailableBalance
	}
	return 0
}
