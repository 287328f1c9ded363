package actions

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// UsageEventInput is the body of usage-events/create.
type UsageEventInput struct {
	// Exactly one of PriceID, PriceSlug, UsageMeterID and UsageMeterSlug says what is used.
	PriceID, PriceSlug, UsageMeterID, UsageMeterSlug string
	// Amount defaults to 1.
	Amount int64
	// SubscriptionID must be one of the customer's current subscriptions; empty means the
	// customer's current subscription.
	SubscriptionID string
	// TransactionID makes the event idempotent: Flowglad records one event per id. Empty
	// means a new random id, fixed before the first attempt so retries cannot count twice.
	TransactionID string
	// Properties are the event's properties (for count_distinct_properties meters).
	Properties map[string]any
	// UsageDate is when the usage happened, in epoch milliseconds; nil means now.
	UsageDate *int64
}

// DecodeUsageEvent decodes and validates a usage-events/create body.
func DecodeUsageEvent(body []byte) (UsageEventInput, error) {
	var in UsageEventInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	switch f.exactlyOne("priceId", "priceSlug", "usageMeterId", "usageMeterSlug") {
	case "priceId":
		in.PriceID = f.reqStr("priceId")
	case "priceSlug":
		in.PriceSlug = f.reqStr("priceSlug")
	case "usageMeterId":
		in.UsageMeterID = f.reqStr("usageMeterId")
	case "usageMeterSlug":
		in.UsageMeterSlug = f.reqStr("usageMeterSlug")
	}
	in.Amount = 1
	if a, ok := f.posInt("amount"); ok {
		in.Amount = a
	}
	if f.has("subscriptionId") {
		in.SubscriptionID = f.reqStr("subscriptionId")
	}
	if f.has("transactionId") {
		// An empty id is reported whatever else is wrong with the body (every issue at once).
		if tx, ok := f.maxLenStr("transactionId", 255); ok && tx == "" {
			f.add("transactionId", "must not be empty")
		} else {
			in.TransactionID = tx
		}
	}
	in.Properties, _ = f.object("properties")
	if d, ok := f.integer("usageDate", 0, "must be a time in epoch milliseconds"); ok {
		in.UsageDate = &d
	}
	return in, f.err()
}

// CreateUsageEvent records usage for the customer and returns Flowglad's {usageEvent}. It
// reads billing (to default and check the subscription), then calls POST
// /api/v1/usage-events, which is retried safely because the transaction id is fixed first.
func (s *Service) CreateUsageEvent(ctx context.Context, c Customer, in UsageEventInput) (json.RawMessage, error) {
	f := goFields()
	if modes(in.PriceID != "", in.PriceSlug != "", in.UsageMeterID != "", in.UsageMeterSlug != "") != 1 {
		f.add("PriceID|PriceSlug|UsageMeterID|UsageMeterSlug", "exactly one of PriceID, PriceSlug, UsageMeterID, UsageMeterSlug is required")
	}
	if in.Amount < 0 {
		f.add("Amount", "must be a positive integer")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	subID := in.SubscriptionID
	if subID == "" {
		if b.CurrentSubscription == nil {
			return nil, errNoActiveSubscription()
		}
		subID = b.CurrentSubscription.ID
	}
	if !isCurrent(b, subID) {
		// Another customer's subscription, an unknown one and one of this customer's that
		// has ended get the same answer.
		return nil, &Error{
			Status:  http.StatusForbidden,
			Code:    CodeForbidden,
			Message: "subscription " + subID + " is not a current subscription of the signed-in customer",
		}
	}
	amount := in.Amount
	if amount == 0 {
		amount = 1
	}
	txID := in.TransactionID
	if txID == "" {
		txID = s.newTxID()
	}
	defer s.changed(ctx, c.ExternalID)
	return s.client.CreateUsageEvent(ctx, flowgladapi.UsageEventParams{
		SubscriptionID: subID,
		Amount:         amount,
		TransactionID:  txID,
		UsageDate:      in.UsageDate,
		Properties:     in.Properties,
		PriceID:        in.PriceID,
		PriceSlug:      in.PriceSlug,
		UsageMeterID:   in.UsageMeterID,
		UsageMeterSlug: in.UsageMeterSlug,
	})
}

func isCurrent(b *flowgladapi.Billing, subID string) bool {
	for i := range b.CurrentSubscriptions {
		if b.CurrentSubscriptions[i].ID == subID {
			return true
		}
	}
	return false
}

// DecodeSubscriptionFilter decodes a strict {subscriptionId?} body, the input of
// usage-meters/balances and features/access.
func DecodeSubscriptionFilter(body []byte) (string, error) {
	f, err := parseBody(body)
	if err != nil {
		return "", err
	}
	f.strict("subscriptionId")
	var id string
	if f.has("subscriptionId") {
		id = f.reqStr("subscriptionId")
	}
	return id, f.err()
}

// UsageBalances returns the customer's usage meter balances ({usageMeterBalances}),
// optionally of one subscription. The path scopes the answer to the customer, so another
// customer's subscription id simply matches nothing. It calls GET
// /api/v1/customers/{externalId}/usage-balances, creating the customer first when Flowglad
// does not know it.
func (s *Service) UsageBalances(ctx context.Context, c Customer, subscriptionID string) (json.RawMessage, error) {
	return withCustomer(ctx, s.client, c, isCustomerNotFound, func() (json.RawMessage, error) {
		return s.client.GetUsageBalances(ctx, c.ExternalID, subscriptionID)
	})
}
