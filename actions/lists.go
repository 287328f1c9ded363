package actions

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// DecodeEmpty decodes a body that must be {} (strict): the input of payment-methods/list,
// customerDetails and pricing-models/retrieve.
func DecodeEmpty(body []byte) error {
	f, err := parseBody(body)
	if err != nil {
		return err
	}
	f.strict()
	return f.err()
}

// PricingModelResult is the data of pricing-models/retrieve.
type PricingModelResult struct {
	// PricingModel is Flowglad's pricing model, unchanged.
	PricingModel json.RawMessage `json:"pricingModel"`
	// Source is "customer" (the signed-in customer's pricing model, from billing) or
	// "default" (the organization's default, for anonymous visitors).
	Source string `json:"source"`
}

// PricingModel returns the pricing model a visitor sees: the signed-in customer's (from
// billing, one call) when c is non-nil, else the default one (GET
// /api/v1/pricing-models/default). A failure for a signed-in customer is an error, never a
// silent fallback to the default.
func (s *Service) PricingModel(ctx context.Context, c *Customer) (*PricingModelResult, error) {
	if c != nil {
		b, err := s.Billing(ctx, *c)
		if err != nil {
			return nil, err
		}
		return &PricingModelResult{PricingModel: b.PricingModel.Raw, Source: "customer"}, nil
	}
	body, err := s.client.GetDefaultPricingModel(ctx)
	if err != nil {
		return nil, err
	}
	var v struct {
		PricingModel json.RawMessage `json:"pricingModel"`
	}
	if err := json.Unmarshal(body, &v); err != nil || len(v.PricingModel) == 0 {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, errors.New("actions: no pricingModel in Flowglad's answer"))
	}
	return &PricingModelResult{PricingModel: v.PricingModel, Source: "default"}, nil
}

// Feature is one toggle feature the customer has, in features/access.
type Feature struct {
	ID       string `json:"id"`
	Livemode bool   `json:"livemode"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
}

// FeatureList is the data of features/access.
type FeatureList struct {
	// Features are the toggle features of the customer's current subscriptions, one per slug.
	Features []Feature `json:"features"`
}

// Features lists the toggle features of the customer's current subscriptions (only the given
// one when subscriptionID is set; an id that is not a current subscription gives none), the
// first of each slug. It reads billing (one call).
func (s *Service) Features(ctx context.Context, c Customer, subscriptionID string) (*FeatureList, error) {
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	out := &FeatureList{Features: []Feature{}}
	seen := map[string]bool{}
	for _, sub := range b.CurrentSubscriptions {
		if subscriptionID != "" && sub.ID != subscriptionID {
			continue
		}
		for _, fi := range sub.FeatureItems {
			if fi.Type != "toggle" || seen[fi.Slug] {
				continue
			}
			seen[fi.Slug] = true
			out.Features = append(out.Features, Feature{ID: fi.ID, Livemode: fi.Livemode, Slug: fi.Slug, Name: fi.Name})
		}
	}
	return out, nil
}

// PaymentMethodList is the data of payment-methods/list.
type PaymentMethodList struct {
	// PaymentMethods are Flowglad's payment method objects, unchanged ([] when none).
	PaymentMethods json.RawMessage `json:"paymentMethods"`
	// BillingPortalURL is the customer's billing portal, or null.
	BillingPortalURL *string `json:"billingPortalUrl"`
}

// PaymentMethods lists the customer's payment methods and billing portal URL from billing
// (one call).
func (s *Service) PaymentMethods(ctx context.Context, c Customer) (*PaymentMethodList, error) {
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	out := &PaymentMethodList{PaymentMethods: b.PaymentMethods, BillingPortalURL: b.BillingPortalURL}
	if len(out.PaymentMethods) == 0 || string(out.PaymentMethods) == "null" {
		out.PaymentMethods = json.RawMessage("[]")
	}
	return out, nil
}

// CustomerDetails is the customer as customerDetails answers it, times as ISO-8601 UTC
// strings with milliseconds.
type CustomerDetails struct {
	ID         string  `json:"id"`
	Livemode   bool    `json:"livemode"`
	Email      string  `json:"email"`
	Name       *string `json:"name"`
	ExternalID *string `json:"externalId"`
	CreatedAt  any     `json:"createdAt"`
	UpdatedAt  any     `json:"updatedAt"`
}

// CustomerDetailsResult is the data of customerDetails.
type CustomerDetailsResult struct {
	Customer CustomerDetails `json:"customer"`
}

// CustomerDetails returns the customer's details from billing (one call).
func (s *Service) CustomerDetails(ctx context.Context, c Customer) (*CustomerDetailsResult, error) {
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	bc := b.Customer
	d := CustomerDetails{
		ID:        bc.ID,
		Livemode:  bc.Livemode,
		Email:     bc.Email,
		CreatedAt: isoTime(bc.CreatedAt),
		UpdatedAt: isoTime(bc.UpdatedAt),
	}
	if bc.Name != "" {
		d.Name = &bc.Name
	}
	if bc.ExternalID != "" {
		d.ExternalID = &bc.ExternalID
	}
	return &CustomerDetailsResult{Customer: d}, nil
}

// isoTime turns Flowglad's epoch milliseconds into "2023-11-14T22:13:20.000Z"; a string
// passes through, anything else becomes null.
func isoTime(v json.RawMessage) any {
	if ms, ok := parseInteger(v); ok {
		return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	var s string
	// Only a JSON string passes through: null would otherwise decode as "".
	if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return nil
}

// PageInput is the body of invoices/list and purchases/list (strict).
type PageInput struct {
	// Limit caps the number of items; nil means all.
	Limit *int
	// StartingAfter is the id of the item to start after; an unknown id starts from the
	// beginning.
	StartingAfter string
}

// DecodePage decodes and validates an invoices/list or purchases/list body.
func DecodePage(body []byte) (PageInput, error) {
	var in PageInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	f.strict("limit", "startingAfter")
	if n, ok := f.integer("limit", 0, "must be a non-negative integer"); ok {
		// Clamped to what an int holds on every platform: 1<<31 overflows a 32-bit int.
		if n > 1<<31-1 {
			n = 1<<31 - 1
		}
		l := int(n)
		in.Limit = &l
	}
	in.StartingAfter, _ = f.str("startingAfter")
	return in, f.err()
}

// InvoiceList is the data of invoices/list.
type InvoiceList struct {
	// Invoices are Flowglad's {invoice, invoiceLineItems} items, unchanged.
	Invoices []json.RawMessage `json:"invoices"`
}

// Invoices lists the customer's invoices from billing (one call), paged by in.
func (s *Service) Invoices(ctx context.Context, c Customer, in PageInput) (*InvoiceList, error) {
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(b.Invoices))
	items := make([]json.RawMessage, len(b.Invoices))
	for i, inv := range b.Invoices {
		ids[i], items[i] = inv.ID, inv.Raw
	}
	return &InvoiceList{Invoices: page(ids, items, in)}, nil
}

// PurchaseList is the data of purchases/list.
type PurchaseList struct {
	// Purchases are Flowglad's purchase objects, unchanged.
	Purchases []json.RawMessage `json:"purchases"`
}

// Purchases lists the customer's purchases from billing (one call), paged by in.
func (s *Service) Purchases(ctx context.Context, c Customer, in PageInput) (*PurchaseList, error) {
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(b.Purchases))
	items := make([]json.RawMessage, len(b.Purchases))
	for i, p := range b.Purchases {
		ids[i], items[i] = p.ID, p.Raw
	}
	return &PurchaseList{Purchases: page(ids, items, in)}, nil
}

// page keeps the items after the one whose id is in.StartingAfter (all of them when no item
// has it), then at most in.Limit of them.
func page(ids []string, items []json.RawMessage, in PageInput) []json.RawMessage {
	if in.StartingAfter != "" {
		for i, id := range ids {
			if id == in.StartingAfter {
				items = items[i+1:]
				break
			}
		}
	}
	if in.Limit != nil && *in.Limit < len(items) {
		items = items[:*in.Limit]
	}
	return items
}
