package actions

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// CancelInput is the body of subscriptions/cancel.
type CancelInput struct {
	// ID is the customer's subscription to cancel.
	ID string
	// Timing is when the cancellation takes effect.
	Timing flowgladapi.CancellationTiming
}

// DecodeCancel decodes and validates a subscriptions/cancel body:
// {id, cancellation: {timing: "at_end_of_current_billing_period" | "immediately"}}.
func DecodeCancel(body []byte) (CancelInput, error) {
	var in CancelInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.ID = f.reqStr("id")
	if c := f.nested("cancellation", true); c != nil {
		switch t := c.reqStr("timing"); flowgladapi.CancellationTiming(t) {
		case flowgladapi.CancelAtEndOfPeriod, flowgladapi.CancelImmediately:
			in.Timing = flowgladapi.CancellationTiming(t)
		case "":
		default:
			c.add("timing", `must be "at_end_of_current_billing_period" or "immediately"`)
		}
	}
	return in, f.err()
}

// CancelSubscription cancels one of the customer's subscriptions. Ownership and status are
// decided from billing; a canceled subscription is refused with 409. It calls POST
// /api/v1/subscriptions/{id}/cancel (never retried) after reading billing.
func (s *Service) CancelSubscription(ctx context.Context, c Customer, in CancelInput) (json.RawMessage, error) {
	f := goFields()
	if in.ID == "" {
		f.add("ID", "is required")
	}
	if in.Timing != flowgladapi.CancelAtEndOfPeriod && in.Timing != flowgladapi.CancelImmediately {
		f.add("Timing", `must be "at_end_of_current_billing_period" or "immediately"`)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	sub, err := s.ownedSubscription(ctx, b, in.ID, "subscription "+in.ID)
	if err != nil {
		return nil, err
	}
	if sub.Status == "canceled" {
		return nil, errAlreadyCanceled()
	}
	defer s.changed(ctx, c.ExternalID)
	return s.client.CancelSubscription(ctx, in.ID, in.Timing)
}

// DecodeUncancel decodes and validates a subscriptions/uncancel body: {id}.
func DecodeUncancel(body []byte) (string, error) {
	f, err := parseBody(body)
	if err != nil {
		return "", err
	}
	id := f.reqStr("id")
	return id, f.err()
}

// UncancelSubscription reverses a scheduled cancellation of one of the customer's
// subscriptions. A subscription whose status is not cancellation_scheduled is left alone and
// returned as it is ({subscription}). Otherwise it calls POST
// /api/v1/subscriptions/{id}/uncancel after reading billing.
func (s *Service) UncancelSubscription(ctx context.Context, c Customer, id string) (json.RawMessage, error) {
	if id == "" {
		return nil, invalidBody([]Issue{{Path: "id", Message: "is required"}})
	}
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	sub, err := s.ownedSubscription(ctx, b, id, "subscription "+id)
	if err != nil {
		return nil, err
	}
	if sub.Status != "cancellation_scheduled" {
		return json.Marshal(struct {
			Subscription json.RawMessage `json:"subscription"`
		}{sub.Raw})
	}
	defer s.changed(ctx, c.ExternalID)
	return s.client.UncancelSubscription(ctx, id)
}

// AdjustInput is the body of subscriptions/adjust: the new items of a subscription.
type AdjustInput struct {
	// SubscriptionID is the customer's subscription to adjust; empty means the customer's
	// only current subscription.
	SubscriptionID string
	// Exactly one of PriceSlug, PriceID and Items says what the subscription becomes.
	PriceSlug, PriceID string
	// Quantity goes with PriceSlug or PriceID; it defaults to 1.
	Quantity int64
	// Items are several prices at once; a zero quantity means 1.
	Items []flowgladapi.SubscriptionItemParams
	// Timing defaults to auto: upgrades at once, downgrades at the end of the period.
	Timing flowgladapi.AdjustmentTiming
	// Prorate says whether an immediate change is prorated; nil means yes. It is not sent
	// for end-of-period changes.
	Prorate *bool
}

// DecodeAdjust decodes and validates a subscriptions/adjust body.
func DecodeAdjust(body []byte) (AdjustInput, error) {
	var in AdjustInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.SubscriptionID = optionalID(f, "subscriptionId")
	switch f.exactlyOne("priceSlug", "priceId", "subscriptionItems") {
	case "priceSlug":
		in.PriceSlug = f.reqStr("priceSlug")
	case "priceId":
		in.PriceID = f.reqStr("priceId")
	case "subscriptionItems":
		items, _ := f.array("subscriptionItems", true)
		for i, raw := range items {
			in.Items = append(in.Items, decodeAdjustItem(f, i, raw))
		}
		if f.has("quantity") {
			f.add("quantity", "must not be given with subscriptionItems (give each item's quantity)")
		}
	}
	in.Quantity = 1
	if q, ok := f.posInt("quantity"); ok {
		in.Quantity = q
	}
	in.Timing = flowgladapi.AdjustAuto
	if t, ok := f.str("timing"); ok {
		switch flowgladapi.AdjustmentTiming(t) {
		case flowgladapi.AdjustImmediately, flowgladapi.AdjustAtEndOfPeriod, flowgladapi.AdjustAuto:
			in.Timing = flowgladapi.AdjustmentTiming(t)
		default:
			f.add("timing", `must be "immediately", "at_end_of_current_billing_period" or "auto"`)
		}
	}
	if p, ok := f.boolean("prorate"); ok {
		in.Prorate = &p
	}
	return in, f.err()
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
	switch item.exactlyOne("priceSlug", "priceId") {
	case "priceSlug":
		p.PriceSlug = item.reqStr("priceSlug")
	case "priceId":
		p.PriceID = item.reqStr("priceId")
	}
	p.Quantity = 1
	if q, ok := item.posInt("quantity"); ok {
		p.Quantity = q
	}
	return p
}

// AdjustSubscription changes the items of one of the customer's subscriptions (auto-resolved
// when in.SubscriptionID is empty). It calls POST /api/v1/subscriptions/{id}/adjust (never
// retried) after reading billing, and returns Flowglad's {subscription, subscriptionItems,
// resolvedTiming, isUpgrade}.
func (s *Service) AdjustSubscription(ctx context.Context, c Customer, in AdjustInput) (json.RawMessage, error) {
	items, err := in.items()
	if err != nil {
		return nil, err
	}
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	sub, err := s.resolveSubscription(ctx, b, in.SubscriptionID)
	if err != nil {
		return nil, err
	}
	timing := in.Timing
	if timing == "" {
		timing = flowgladapi.AdjustAuto
	}
	p := flowgladapi.AdjustSubscriptionParams{Timing: timing, Items: items}
	if timing != flowgladapi.AdjustAtEndOfPeriod {
		prorate := true
		if in.Prorate != nil {
			prorate = *in.Prorate
		}
		p.Prorate = &prorate
	}
	defer s.changed(ctx, c.ExternalID)
	return s.client.AdjustSubscription(ctx, sub.ID, p)
}

// items checks the input and returns the new subscription items with quantities filled in.
func (in AdjustInput) items() ([]flowgladapi.SubscriptionItemParams, error) {
	f := goFields()
	if modes(in.PriceSlug != "", in.PriceID != "", len(in.Items) > 0) != 1 {
		f.add("PriceSlug|PriceID|Items", "exactly one of PriceSlug, PriceID, Items is required")
	}
	if in.Quantity < 0 {
		f.add("Quantity", "must be a positive integer")
	}
	switch in.Timing {
	case "", flowgladapi.AdjustAuto, flowgladapi.AdjustImmediately, flowgladapi.AdjustAtEndOfPeriod:
	default:
		f.add("Timing", `must be "immediately", "at_end_of_current_billing_period" or "auto"`)
	}
	items := make([]flowgladapi.SubscriptionItemParams, 0, max(len(in.Items), 1))
	for i, it := range in.Items {
		if (it.PriceID == "") == (it.PriceSlug == "") {
			f.add("Items["+strconv.Itoa(i)+"]", "exactly one of PriceSlug, PriceID is required")
		}
		if it.Quantity < 0 {
			f.add("Items["+strconv.Itoa(i)+"].Quantity", "must be a positive integer")
		}
		if it.Quantity == 0 {
			it.Quantity = 1
		}
		items = append(items, it)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if len(in.Items) == 0 {
		q := in.Quantity
		if q == 0 {
			q = 1
		}
		items = append(items, flowgladapi.SubscriptionItemParams{PriceSlug: in.PriceSlug, PriceID: in.PriceID, Quantity: q})
	}
	return items, nil
}

// ListSubscriptionsInput is the body of subscriptions/list.
type ListSubscriptionsInput struct {
	// IncludeHistorical lists every subscription, canceled ones included, instead of the
	// current ones.
	IncludeHistorical bool
}

// DecodeListSubscriptions decodes and validates a subscriptions/list body (strict:
// {includeHistorical?}).
func DecodeListSubscriptions(body []byte) (ListSubscriptionsInput, error) {
	var in ListSubscriptionsInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	f.strict("includeHistorical")
	in.IncludeHistorical, _ = f.boolean("includeHistorical")
	return in, f.err()
}

// SubscriptionList is the data of subscriptions/list. The subscriptions are Flowglad's
// objects, unchanged.
type SubscriptionList struct {
	// Subscriptions are the current subscriptions, or all of them with IncludeHistorical.
	Subscriptions []json.RawMessage `json:"subscriptions"`
	// CurrentSubscriptions are the current subscriptions.
	CurrentSubscriptions []json.RawMessage `json:"currentSubscriptions"`
	// CurrentSubscription is the first current subscription, or JSON null.
	CurrentSubscription json.RawMessage `json:"currentSubscription"`
}

// ListSubscriptions lists the customer's subscriptions from billing (one Flowglad call:
// GET /api/v1/customers/{externalId}/billing).
func (s *Service) ListSubscriptions(ctx context.Context, c Customer, in ListSubscriptionsInput) (*SubscriptionList, error) {
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	out := &SubscriptionList{
		CurrentSubscriptions: raws(b.CurrentSubscriptions),
		CurrentSubscription:  json.RawMessage("null"),
	}
	out.Subscriptions = out.CurrentSubscriptions
	if in.IncludeHistorical {
		out.Subscriptions = raws(b.Subscriptions)
	}
	if len(b.CurrentSubscriptions) > 0 {
		out.CurrentSubscription = b.CurrentSubscriptions[0].Raw
	}
	return out, nil
}

func raws(subs []flowgladapi.Subscription) []json.RawMessage {
	out := make([]json.RawMessage, len(subs))
	for i := range subs {
		out[i] = subs[i].Raw
	}
	return out
}

// CreateSubscription subscribes the customer to a price. It is for server code only: the
// HTTP route does not offer it to browsers. The customer is always c (p's customer fields are
// overwritten). It calls POST /api/v1/subscriptions (never retried); when Flowglad does not
// know the customer yet, it creates the customer and tries once more.
func (s *Service) CreateSubscription(ctx context.Context, c Customer, p flowgladapi.CreateSubscriptionParams) (json.RawMessage, error) {
	if (p.PriceID == "") == (p.PriceSlug == "") {
		return nil, invalidBody([]Issue{{Path: "PriceID|PriceSlug", Message: "exactly one of PriceID, PriceSlug is required"}})
	}
	p.CustomerID, p.CustomerExternalID = "", c.ExternalID
	defer s.changed(ctx, c.ExternalID)
	return withCustomer(ctx, s.client, c, isUnknownCustomer, func() (json.RawMessage, error) {
		return s.client.CreateSubscription(ctx, p)
	})
}
