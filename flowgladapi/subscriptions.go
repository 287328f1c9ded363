package flowgladapi

import (
	"context"
	"encoding/json"
	"net/http"
)

// CancellationTiming says when a cancellation takes effect.
type CancellationTiming string

// Cancellation timings.
const (
	// CancelAtEndOfPeriod keeps the subscription until the current billing
	// period ends (status cancellation_scheduled until then).
	CancelAtEndOfPeriod CancellationTiming = "at_end_of_current_billing_period"
	// CancelImmediately ends the subscription now.
	CancelImmediately CancellationTiming = "immediately"
)

// AdjustmentTiming says when a plan change takes effect.
type AdjustmentTiming string

// Adjustment timings.
const (
	AdjustImmediately   AdjustmentTiming = "immediately"
	AdjustAtEndOfPeriod AdjustmentTiming = "at_end_of_current_billing_period"
	// AdjustAuto applies upgrades immediately and downgrades at the end of
	// the current billing period.
	AdjustAuto AdjustmentTiming = "auto"
)

// CreateSubscriptionParams describe a subscription created directly, without
// checkout. Give exactly one of CustomerID/CustomerExternalID and exactly one
// of PriceID/PriceSlug; zero values are not sent and take Flowglad's defaults.
type CreateSubscriptionParams struct {
	CustomerID         string `json:"customerId,omitempty"`
	CustomerExternalID string `json:"customerExternalId,omitempty"`
	PriceID            string `json:"priceId,omitempty"`
	PriceSlug          string `json:"priceSlug,omitempty"`
	// Quantity defaults to 1.
	Quantity int64 `json:"quantity,omitempty"`
	// Interval is "day", "week", "month" or "year"; default: the price's.
	Interval string `json:"interval,omitempty"`
	// IntervalCount defaults to 1.
	IntervalCount int64 `json:"intervalCount,omitempty"`
	// TrialEnd is epoch milliseconds; default: start + the price's trial days.
	TrialEnd               *int64         `json:"trialEnd,omitempty"`
	Metadata               map[string]any `json:"metadata,omitempty"`
	Name                   string         `json:"name,omitempty"`
	DefaultPaymentMethodID string         `json:"defaultPaymentMethodId,omitempty"`
	BackupPaymentMethodID  string         `json:"backupPaymentMethodId,omitempty"`
	// DoNotCharge sets the item price to 0; it forbids payment method ids.
	DoNotCharge bool `json:"doNotCharge,omitempty"`
}

// AdjustSubscriptionParams describe a plan change.
type AdjustSubscriptionParams struct {
	Timing AdjustmentTiming
	// Items replace the subscription's items.
	Items []SubscriptionItemParams
	// Prorate sets prorateCurrentBillingPeriod (Flowglad's default: true);
	// nil omits it. It is never sent with AdjustAtEndOfPeriod, which does not
	// accept it.
	Prorate *bool
}

// SubscriptionItemParams is one item of an adjusted subscription: a price by
// id or slug, and a quantity (0 omits it; Flowglad uses 1).
type SubscriptionItemParams struct {
	PriceID   string `json:"priceId,omitempty"`
	PriceSlug string `json:"priceSlug,omitempty"`
	Quantity  int64  `json:"quantity,omitempty"`
}

// GetSubscription calls GET /api/v1/subscriptions/{id} and returns the body,
// {"subscription": {...}}; DecodeSubscription reads it.
func (c *Client) GetSubscription(ctx context.Context, id string) (json.RawMessage, error) {
	if err := checkID("subscriptions-get", "id", id); err != nil {
		return nil, err
	}
	return c.do(ctx, request{
		op: "subscriptions-get", method: http.MethodGet, idempotent: true, want: '{',
		path: pathf("subscriptions", id),
	})
}

// CreateSubscription calls POST /api/v1/subscriptions with the flat body p
// and returns the body, {"subscription": {...}}. It is never retried.
func (c *Client) CreateSubscription(ctx context.Context, p CreateSubscriptionParams) (json.RawMessage, error) {
	return c.do(ctx, request{
		op: "subscriptions-create", method: http.MethodPost, want: '{',
		path: pathf("subscriptions"),
		body: p,
	})
}

// CancelSubscription calls POST /api/v1/subscriptions/{id}/cancel with
// {"cancellation": {"timing": timing}} and returns the body,
// {"subscription": {...}}. It is never retried.
func (c *Client) CancelSubscription(ctx context.Context, id string, timing CancellationTiming) (json.RawMessage, error) {
	if err := checkID("subscriptions-cancel", "id", id); err != nil {
		return nil, err
	}
	type cancellation struct {
		Timing CancellationTiming `json:"timing"`
	}
	r := request{
		op: "subscriptions-cancel", method: http.MethodPost, want: '{',
		path: pathf("subscriptions", id, "cancel"),
	}
	if isPlainJSONString(string(timing)) {
		// The timings Flowglad knows are plain words: the body is built, not encoded.
		const prefix, suffix = `{"cancellation":{"timing":"`, `"}}`
		r.payload = append(append(append(make([]byte, 0, len(prefix)+len(timing)+len(suffix)),
			prefix...), timing...), suffix...)
	} else {
		r.body = struct {
			Cancellation cancellation `json:"cancellation"`
		}{cancellation{timing}}
	}
	return c.do(ctx, r)
}

// isPlainJSONString reports whether s is the same between JSON quotes, unescaped: ASCII
// letters, digits, '_' and '-' only.
func isPlainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// UncancelSubscription calls POST /api/v1/subscriptions/{id}/uncancel (body
// {}) and returns the body, {"subscription": {...}}. It reverses a scheduled
// cancellation. It is never retried.
func (c *Client) UncancelSubscription(ctx context.Context, id string) (json.RawMessage, error) {
	if err := checkID("subscriptions-uncancel", "id", id); err != nil {
		return nil, err
	}
	return c.do(ctx, request{
		op: "subscriptions-uncancel", method: http.MethodPost, want: '{',
		path: pathf("subscriptions", id, "uncancel"),
		body: struct{}{},
	})
}

// AdjustSubscription calls POST /api/v1/subscriptions/{id}/adjust with
// {"adjustment": {"timing", "newSubscriptionItems", "prorateCurrentBillingPeriod"?}}
// and returns the body, {"subscription", "subscriptionItems",
// "resolvedTiming", "isUpgrade"}. Immediate prorated adjustments can take a
// while. It is never retried.
func (c *Client) AdjustSubscription(ctx context.Context, id string, p AdjustSubscriptionParams) (json.RawMessage, error) {
	if err := checkID("subscriptions-adjust", "id", id); err != nil {
		return nil, err
	}
	type adjustment struct {
		Timing               AdjustmentTiming         `json:"timing"`
		NewSubscriptionItems []SubscriptionItemParams `json:"newSubscriptionItems"`
		Prorate              *bool                    `json:"prorateCurrentBillingPeriod,omitempty"`
	}
	a := adjustment{Timing: p.Timing, NewSubscriptionItems: p.Items, Prorate: p.Prorate}
	if a.NewSubscriptionItems == nil {
		a.NewSubscriptionItems = []SubscriptionItemParams{} // required key: [] not null
	}
	if p.Timing == AdjustAtEndOfPeriod {
		a.Prorate = nil
	}
	return c.do(ctx, request{
		op: "subscriptions-adjust", method: http.MethodPost, want: '{',
		path: pathf("subscriptions", id, "adjust"),
		body: struct {
			Adjustment adjustment `json:"adjustment"`
		}{a},
	})
}
