package flowglad

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/jsonscan"
)

// CancelSubscriptionParams say which of the customer's subscriptions to cancel, and when.
type CancelSubscriptionParams struct {
	// SubscriptionID is the customer's subscription (id in the route's body).
	SubscriptionID string
	// Timing is flowgladapi.CancelAtEndOfPeriod or flowgladapi.CancelImmediately
	// (cancellation.timing in the route's body); required.
	Timing flowgladapi.CancellationTiming
}

func (p CancelSubscriptionParams) check(is *issueList) {
	is.ownedID("id", p.SubscriptionID, true)
	switch p.Timing {
	case flowgladapi.CancelAtEndOfPeriod, flowgladapi.CancelImmediately:
	case "":
		is.rule("cancellation.timing", "is required")
	default:
		is.rule("cancellation.timing", `must be "at_end_of_current_billing_period" or "immediately"`)
	}
}

// decodeCancel decodes and validates a subscriptions/cancel body:
// {id, cancellation: {timing: "at_end_of_current_billing_period" | "immediately"}}.
func decodeCancel(body []byte) (CancelSubscriptionParams, error) {
	var p CancelSubscriptionParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID = f.reqStr("id")
	if c := f.nested("cancellation", true); c != nil {
		// A missing or unknown timing is reported by the rules (check).
		t, _ := c.str("timing")
		p.Timing = flowgladapi.CancellationTiming(t)
	}
	return p, f.checked(p)
}

// CancelSubscription cancels one of the customer's subscriptions and returns it as
// Flowglad left it. Ownership and status are decided from billing: another customer's (or
// an unknown) subscription is a 403, a canceled one a 409. It calls POST
// /api/v1/subscriptions/{id}/cancel (never retried) after reading billing.
func (s *Service) CancelSubscription(ctx context.Context, c Customer, p CancelSubscriptionParams) (*flowgladapi.Subscription, error) {
	return decoded(s.cancelSubscription(ctx, c, p))
}

// cancelSubscription is CancelSubscription without the decoding: the subscription's bytes,
// which the route relays.
func (s *Service) cancelSubscription(ctx context.Context, c Customer, p CancelSubscriptionParams) (subscriptionJSON, error) {
	if err := validateInput(c, p); err != nil {
		return nil, err
	}
	status, err := s.subscriptionStatus(ctx, c, p.SubscriptionID)
	if err != nil {
		return nil, err
	}
	if status == "canceled" {
		return nil, errAlreadyCanceled()
	}
	body, err := s.client.CancelSubscription(ctx, p.SubscriptionID, p.Timing)
	s.wrote(ctx, c.ExternalID, err)
	if err != nil {
		return nil, err
	}
	return subscriptionOf(body)
}

// subscriptionJSON is one subscription object as Flowglad sent it.
type subscriptionJSON []byte

// subscriptionOf takes the subscription object out of Flowglad's {"subscription": {...}}.
func subscriptionOf(body []byte) (subscriptionJSON, error) {
	sub := jsonscan.Get(body, "subscription")
	if len(sub) == 0 || sub[0] != '{' {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, errors.New(`flowglad: no "subscription" object in Flowglad's answer`))
	}
	return sub, nil
}

// decoded decodes a subscription for a Go caller.
func decoded(raw subscriptionJSON, err error) (*flowgladapi.Subscription, error) {
	if err != nil {
		return nil, err
	}
	return (&subscriptionRef{Raw: raw}).Decode()
}

// UncancelSubscriptionParams name the subscription whose scheduled cancellation is undone.
type UncancelSubscriptionParams struct {
	// SubscriptionID is the customer's subscription (id in the route's body).
	SubscriptionID string
}

func (p UncancelSubscriptionParams) check(is *issueList) {
	is.ownedID("id", p.SubscriptionID, true)
}

// decodeUncancel decodes and validates a subscriptions/uncancel body: {id}.
func decodeUncancel(body []byte) (UncancelSubscriptionParams, error) {
	var p UncancelSubscriptionParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID = f.reqStr("id")
	return p, f.checked(p)
}

// UncancelSubscription reverses a scheduled cancellation of one of the customer's
// subscriptions. A subscription whose status is not cancellation_scheduled is left alone and
// returned as it is. Otherwise it calls POST /api/v1/subscriptions/{id}/uncancel after
// reading billing.
func (s *Service) UncancelSubscription(ctx context.Context, c Customer, p UncancelSubscriptionParams) (*flowgladapi.Subscription, error) {
	return decoded(s.uncancelSubscription(ctx, c, p))
}

// uncancelSubscription is UncancelSubscription without the decoding.
func (s *Service) uncancelSubscription(ctx context.Context, c Customer, p UncancelSubscriptionParams) (subscriptionJSON, error) {
	if err := validateInput(c, p); err != nil {
		return nil, err
	}
	sub, err := s.customersSubscription(ctx, c, p.SubscriptionID)
	if err != nil {
		return nil, err
	}
	if sub.Status != "cancellation_scheduled" {
		return subscriptionJSON(sub.Raw), nil
	}
	body, err := s.client.UncancelSubscription(ctx, p.SubscriptionID)
	s.wrote(ctx, c.ExternalID, err)
	if err != nil {
		return nil, err
	}
	return subscriptionOf(body)
}

// AdjustSubscriptionParams change the prices of one of the customer's subscriptions
// (an upgrade, a downgrade, a change of quantity).
type AdjustSubscriptionParams struct {
	// SubscriptionID is the customer's subscription; empty means the customer's only
	// current one (400 when there is none, or several).
	SubscriptionID string
	// Exactly one of PriceSlug, PriceID and Items says what the subscription becomes.
	PriceSlug, PriceID string
	// Quantity goes with PriceSlug or PriceID; 0 means 1.
	Quantity int64
	// Items are several prices at once (subscriptionItems in the route's body); a zero
	// quantity means 1.
	Items []flowgladapi.SubscriptionItemParams
	// Timing defaults to flowgladapi.AdjustAuto: upgrades at once, downgrades at the end
	// of the billing period.
	Timing flowgladapi.AdjustmentTiming
	// Prorate says whether an immediate change is prorated; nil means yes. It is not sent
	// for end-of-period changes.
	Prorate *bool
}

func (p AdjustSubscriptionParams) check(is *issueList) {
	is.ownedID("subscriptionId", p.SubscriptionID, false)
	is.exactlyOne("", []string{"priceSlug", "priceId", "subscriptionItems"}, p.PriceSlug != "", p.PriceID != "", p.Items != nil)
	is.id("priceSlug", p.PriceSlug, false)
	is.id("priceId", p.PriceID, false)
	if p.Items != nil && len(p.Items) == 0 {
		is.rule("subscriptionItems", "must not be empty")
	}
	if p.Items != nil && p.Quantity != 0 {
		is.rule("quantity", "must not be given with subscriptionItems (give each item's quantity)")
	}
	is.count("quantity", p.Quantity, maxSafeInteger)
	for i, it := range p.Items {
		at := "subscriptionItems[" + strconv.Itoa(i) + "]."
		is.exactlyOne(at, []string{"priceSlug", "priceId"}, it.PriceSlug != "", it.PriceID != "")
		is.id(at+"priceSlug", it.PriceSlug, false)
		is.id(at+"priceId", it.PriceID, false)
		is.count(at+"quantity", it.Quantity, maxSafeInteger)
	}
	switch p.Timing {
	case "", flowgladapi.AdjustAuto, flowgladapi.AdjustImmediately, flowgladapi.AdjustAtEndOfPeriod:
	default:
		is.rule("timing", `must be "immediately", "at_end_of_current_billing_period" or "auto"`)
	}
}

// decodeAdjust decodes and validates a subscriptions/adjust body.
func decodeAdjust(body []byte) (AdjustSubscriptionParams, error) {
	var p AdjustSubscriptionParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID = optionalID(f, "subscriptionId")
	switch f.exactlyOne("priceSlug", "priceId", "subscriptionItems") {
	case "priceSlug":
		p.PriceSlug = f.reqStr("priceSlug")
	case "priceId":
		p.PriceID = f.reqStr("priceId")
	case "subscriptionItems":
		items, ok := f.array("subscriptionItems", true)
		if ok {
			p.Items = make([]flowgladapi.SubscriptionItemParams, 0, len(items))
		}
		for i, raw := range items {
			p.Items = append(p.Items, decodeAdjustItem(f, i, raw))
		}
	}
	// A quantity beside subscriptionItems is reported by the rules (check).
	if q, ok := f.posInt("quantity"); ok {
		p.Quantity = q
	}
	if t, ok := f.str("timing"); ok {
		// Present, it must be one of the timings: "" is no default here, unlike in Go.
		switch p.Timing = flowgladapi.AdjustmentTiming(t); p.Timing {
		case flowgladapi.AdjustImmediately, flowgladapi.AdjustAtEndOfPeriod, flowgladapi.AdjustAuto:
		default:
			f.add("timing", `must be "immediately", "at_end_of_current_billing_period" or "auto"`)
		}
	}
	if v, ok := f.boolean("prorate"); ok {
		p.Prorate = &v
	}
	return p, f.checked(p)
}

func decodeAdjustItem(f *fields, i int, raw json.RawMessage) flowgladapi.SubscriptionItemParams {
	key := "subscriptionItems[" + strconv.Itoa(i) + "]"
	var m map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		f.add(key, "must be an object")
		return flowgladapi.SubscriptionItemParams{}
	}
	item := &fields{m: m, prefix: f.path(key) + ".", issues: f.issues}
	var p flowgladapi.SubscriptionItemParams
	item.oneString([]string{"priceSlug", "priceId"}, &p.PriceSlug, &p.PriceID)
	if q, ok := item.posInt("quantity"); ok {
		p.Quantity = q
	}
	return p
}

// SubscriptionAdjustment is the outcome of AdjustSubscription.
type SubscriptionAdjustment struct {
	// Subscription is the subscription after the change.
	Subscription flowgladapi.Subscription
	// ResolvedTiming is when the change takes effect: "immediately" or
	// "at_end_of_current_billing_period" (what AdjustAuto chose).
	ResolvedTiming flowgladapi.AdjustmentTiming
	// IsUpgrade tells an upgrade from a downgrade.
	IsUpgrade bool
	// Raw is Flowglad's answer, {subscription, subscriptionItems, resolvedTiming,
	// isUpgrade}, as it came.
	Raw json.RawMessage
}

// AdjustSubscription changes the prices of one of the customer's subscriptions
// (auto-resolved when p.SubscriptionID is empty). It calls POST
// /api/v1/subscriptions/{id}/adjust (never retried) after reading billing.
func (s *Service) AdjustSubscription(ctx context.Context, c Customer, p AdjustSubscriptionParams) (*SubscriptionAdjustment, error) {
	if err := validateInput(c, p); err != nil {
		return nil, err
	}
	sub, err := withFreshBilling(ctx, s, c, func(b *billingIndex) (*subscriptionRef, error) {
		return s.resolveSubscription(ctx, b, p.SubscriptionID)
	})
	if err != nil {
		return nil, err
	}
	timing := p.Timing
	if timing == "" {
		timing = flowgladapi.AdjustAuto
	}
	req := flowgladapi.AdjustSubscriptionParams{Timing: timing, Items: p.items()}
	if timing != flowgladapi.AdjustAtEndOfPeriod {
		prorate := true
		if p.Prorate != nil {
			prorate = *p.Prorate
		}
		req.Prorate = &prorate
	}
	body, err := s.client.AdjustSubscription(ctx, sub.ID, req)
	s.wrote(ctx, c.ExternalID, err)
	if err != nil {
		return nil, err
	}
	var out struct {
		Subscription   *flowgladapi.Subscription    `json:"subscription"`
		ResolvedTiming flowgladapi.AdjustmentTiming `json:"resolvedTiming"`
		IsUpgrade      bool                         `json:"isUpgrade"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Subscription == nil {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, errors.New("flowglad: no subscription in Flowglad's adjust answer"))
	}
	return &SubscriptionAdjustment{Subscription: *out.Subscription, ResolvedTiming: out.ResolvedTiming, IsUpgrade: out.IsUpgrade, Raw: body}, nil
}

// items returns the new subscription items with quantities filled in.
func (p AdjustSubscriptionParams) items() []flowgladapi.SubscriptionItemParams {
	if p.Items == nil {
		return []flowgladapi.SubscriptionItemParams{{PriceSlug: p.PriceSlug, PriceID: p.PriceID, Quantity: max(p.Quantity, 1)}}
	}
	items := make([]flowgladapi.SubscriptionItemParams, len(p.Items))
	for i, it := range p.Items {
		it.Quantity = max(it.Quantity, 1)
		items[i] = it
	}
	return items
}

// ListSubscriptionsParams filter ListSubscriptions.
type ListSubscriptionsParams struct {
	// IncludeHistorical lists every subscription, canceled ones included, instead of the
	// current ones.
	IncludeHistorical bool
}

// decodeListSubscriptions decodes and validates a subscriptions/list body (strict:
// {includeHistorical?}).
func decodeListSubscriptions(body []byte) (ListSubscriptionsParams, error) {
	var p ListSubscriptionsParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	f.strict("includeHistorical")
	p.IncludeHistorical, _ = f.boolean("includeHistorical")
	return p, f.err()
}

// SubscriptionList is the customer's subscriptions, as subscriptions/list answers them.
type SubscriptionList struct {
	// Subscriptions are the current subscriptions, or all of them with IncludeHistorical.
	Subscriptions []flowgladapi.Subscription `json:"subscriptions"`
	// CurrentSubscriptions are the current subscriptions.
	CurrentSubscriptions []flowgladapi.Subscription `json:"currentSubscriptions"`
	// CurrentSubscription is the first current subscription, or nil.
	CurrentSubscription *flowgladapi.Subscription `json:"currentSubscription"`
}

// ListSubscriptions lists the customer's subscriptions from billing (one Flowglad call:
// GET /api/v1/customers/{externalId}/billing).
func (s *Service) ListSubscriptions(ctx context.Context, c Customer, p ListSubscriptionsParams) (*SubscriptionList, error) {
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	out := &SubscriptionList{CurrentSubscriptions: b.CurrentSubscriptions, Subscriptions: b.CurrentSubscriptions}
	if p.IncludeHistorical {
		out.Subscriptions = b.Subscriptions
		if out.Subscriptions == nil {
			out.Subscriptions = []flowgladapi.Subscription{}
		}
	}
	if len(b.CurrentSubscriptions) > 0 {
		out.CurrentSubscription = &b.CurrentSubscriptions[0]
	}
	return out, nil
}

// CreateSubscriptionParams describe a subscription created directly, without a checkout
// (a free plan, a trial, an invoiced customer). Server code only: the route does not offer
// it to browsers.
type CreateSubscriptionParams struct {
	// Exactly one of PriceSlug and PriceID names the price.
	PriceSlug, PriceID string
	// Quantity defaults to 1.
	Quantity int64
	// TrialEnd ends a trial; zero means the price's trial, if any.
	TrialEnd time.Time
	// Metadata is stored on the subscription: string (at most 500 characters), number or
	// boolean values.
	Metadata map[string]any
	// Name names the subscription; empty means the product's name.
	Name string
	// DefaultPaymentMethodID is the customer's payment method to charge.
	DefaultPaymentMethodID string
	// DoNotCharge makes the subscription free of charge; it excludes a payment method.
	DoNotCharge bool
}

func (p CreateSubscriptionParams) check(is *issueList) {
	is.exactlyOne("", []string{"priceId", "priceSlug"}, p.PriceID != "", p.PriceSlug != "")
	is.id("priceId", p.PriceID, false)
	is.id("priceSlug", p.PriceSlug, false)
	is.count("quantity", p.Quantity, maxSafeInteger)
	is.id("defaultPaymentMethodId", p.DefaultPaymentMethodID, false)
	if p.DoNotCharge && p.DefaultPaymentMethodID != "" {
		is.rule("defaultPaymentMethodId", "must not be given with doNotCharge")
	}
	is.metadata("metadata", p.Metadata)
}

// CreateSubscription subscribes the customer to a price, without a checkout. The customer
// is always c. It calls POST /api/v1/subscriptions (never retried); when Flowglad does not
// know the customer yet, it creates the customer and tries once more.
func (s *Service) CreateSubscription(ctx context.Context, c Customer, p CreateSubscriptionParams) (*flowgladapi.Subscription, error) {
	if err := validateInput(c, p); err != nil {
		return nil, err
	}
	req := flowgladapi.CreateSubscriptionParams{
		CustomerExternalID:     c.ExternalID,
		PriceID:                p.PriceID,
		PriceSlug:              p.PriceSlug,
		Quantity:               p.Quantity,
		Metadata:               p.Metadata,
		Name:                   p.Name,
		DefaultPaymentMethodID: p.DefaultPaymentMethodID,
		DoNotCharge:            p.DoNotCharge,
	}
	if !p.TrialEnd.IsZero() {
		ms := p.TrialEnd.UnixMilli()
		req.TrialEnd = &ms
	}
	body, err := withCustomer(ctx, s, c, false, func() ([]byte, error) {
		return s.client.CreateSubscription(ctx, req)
	})
	s.wrote(ctx, c.ExternalID, err)
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodeSubscription(body)
}
