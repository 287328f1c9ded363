package flowglad

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/billingread"
	"github.com/flowglad-go/flowglad/internal/jsonscan"
)

// decodeEmpty decodes a body that must be {} (strict): the input of payment-methods/list,
// customerDetails and pricing-models/retrieve.
func decodeEmpty(body []byte) error {
	f, err := parseBody(body)
	if err != nil {
		return err
	}
	f.strict()
	return f.err()
}

// pricingModelData is the data of pricing-models/retrieve.
type pricingModelData struct {
	// PricingModel is Flowglad's pricing model, unchanged.
	PricingModel flowgladapi.PricingModel `json:"pricingModel"`
	// Source is "customer" (the signed-in customer's pricing model, from billing) or
	// "default" (the organization's default, for anonymous visitors).
	Source string `json:"source"`
}

// pricingModelFor answers pricing-models/retrieve: the signed-in customer's pricing model
// when c is non-nil, else the default one. A failure for a signed-in customer is an error,
// never a silent fallback to the default.
func (s *Service) pricingModelFor(ctx context.Context, c *Customer) (*pricingModelData, error) {
	// Relayed as Flowglad sent it: nothing is decoded.
	if c == nil {
		body, err := s.client.GetDefaultPricingModel(ctx)
		if err != nil {
			return nil, err
		}
		return pricingModelAnswer(jsonscan.Get(body, "pricingModel"), "default")
	}
	e, err := s.billingEntry(ctx, *c)
	if err != nil {
		return nil, err
	}
	return pricingModelAnswer(e.Body().Member("pricingModel"), "customer")
}

// pricingModelAnswer answers with pm, the pricingModel member of a billing payload or of the
// default pricing model's answer (both {"pricingModel": {...}, ...}).
func pricingModelAnswer(pm []byte, source string) (*pricingModelData, error) {
	if len(pm) == 0 || pm[0] != '{' {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, errors.New("flowglad: no pricingModel in Flowglad's answer"))
	}
	return &pricingModelData{PricingModel: flowgladapi.PricingModel{Raw: pm}, Source: source}, nil
}

// PricingModel returns the customer's pricing model (products, prices, usage meters), from
// billing: one call, shared with other billing reads.
func (s *Service) PricingModel(ctx context.Context, c Customer) (*flowgladapi.PricingModel, error) {
	b, err := s.Billing(ctx, c)
	if err != nil {
		return nil, err
	}
	return &b.PricingModel, nil
}

// DefaultPricingModel returns the organization's default pricing model, what visitors who
// are not customers see. It calls GET /api/v1/pricing-models/default.
func (s *Service) DefaultPricingModel(ctx context.Context) (*flowgladapi.PricingModel, error) {
	body, err := s.client.GetDefaultPricingModel(ctx)
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodePricingModel(body)
}

// feature is one toggle feature the customer has, in features/access.
type feature struct {
	ID       string `json:"id"`
	Livemode bool   `json:"livemode"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
}

// featureList is the data of features/access.
type featureList struct {
	// Features are the toggle features of the customer's current subscriptions, one per slug.
	Features []feature `json:"features"`
}

// features lists the toggle features of the customer's current subscriptions (only the given
// one when subscriptionID is set; an id that is not a current subscription gives none), the
// first of each slug. It reads billing (one call).
func (s *Service) features(ctx context.Context, c Customer, subscriptionID string) (*featureList, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	current, err := e.Current()
	if err != nil {
		return nil, err
	}
	out := &featureList{Features: []feature{}}
	seen := map[string]bool{}
	for _, sub := range current {
		if subscriptionID != "" && sub.ID != subscriptionID {
			continue
		}
		for _, fi := range sub.FeatureItems {
			if fi.Type != "toggle" || seen[fi.Slug] {
				continue
			}
			seen[fi.Slug] = true
			out.Features = append(out.Features, feature{ID: fi.ID, Livemode: fi.Livemode, Slug: fi.Slug, Name: fi.Name})
		}
	}
	return out, nil
}

// paymentMethodList is the data of payment-methods/list.
type paymentMethodList struct {
	// PaymentMethods are Flowglad's payment method objects, unchanged ([] when none).
	PaymentMethods json.RawMessage `json:"paymentMethods"`
	// BillingPortalURL is the customer's billing portal, or null.
	BillingPortalURL *string `json:"billingPortalUrl"`
}

// paymentMethods lists the customer's payment methods and billing portal URL from billing
// (one call).
func (s *Service) paymentMethods(ctx context.Context, c Customer) (*paymentMethodList, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	portal, err := member[*string](e, "billingPortalUrl")
	if err != nil {
		return nil, err
	}
	out := &paymentMethodList{PaymentMethods: e.Body().Member("paymentMethods"), BillingPortalURL: portal}
	if len(out.PaymentMethods) == 0 || string(out.PaymentMethods) == "null" {
		out.PaymentMethods = json.RawMessage("[]")
	}
	return out, nil
}

// customerDetails is the customer as customerDetails answers it, times as ISO-8601 UTC
// strings with milliseconds.
type customerDetails struct {
	ID         string  `json:"id"`
	Livemode   bool    `json:"livemode"`
	Email      string  `json:"email"`
	Name       *string `json:"name"`
	ExternalID *string `json:"externalId"`
	CreatedAt  any     `json:"createdAt"`
	UpdatedAt  any     `json:"updatedAt"`
}

// customerDetailsData is the data of customerDetails.
type customerDetailsData struct {
	Customer customerDetails `json:"customer"`
}

// customerDetails returns the customer's details from billing (one call).
func (s *Service) customerDetails(ctx context.Context, c Customer) (*customerDetailsData, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	bc, err := member[flowgladapi.Customer](e, "customer")
	if err != nil {
		return nil, err
	}
	d := customerDetails{
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
	return &customerDetailsData{Customer: d}, nil
}

// isoTime formats t as "2023-11-14T22:13:20.000Z"; the zero time (Flowglad sent none) is
// null.
func isoTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// pageInput is the body of invoices/list and purchases/list (strict).
type pageInput struct {
	// Limit caps the number of items; nil means all.
	Limit *int
	// StartingAfter is the id of the item to start after; an unknown id starts from the
	// beginning.
	StartingAfter string
}

// decodePage decodes and validates an invoices/list or purchases/list body.
func decodePage(body []byte) (pageInput, error) {
	var in pageInput
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

// invoiceList is the data of invoices/list.
type invoiceList struct {
	// Invoices are Flowglad's {invoice, invoiceLineItems} items, unchanged.
	Invoices []json.RawMessage `json:"invoices"`
}

// invoices lists the customer's invoices from billing (one call), paged by in.
func (s *Service) invoices(ctx context.Context, c Customer, in pageInput) (*invoiceList, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	list, err := member[[]flowgladapi.Invoice](e, "invoices")
	if err != nil {
		return nil, err
	}
	return &invoiceList{Invoices: pageOf(list, func(inv flowgladapi.Invoice) (string, json.RawMessage) {
		return inv.ID, inv.Raw
	}, in)}, nil
}

// purchaseList is the data of purchases/list.
type purchaseList struct {
	// Purchases are Flowglad's purchase objects, unchanged.
	Purchases []json.RawMessage `json:"purchases"`
}

// purchases lists the customer's purchases from billing (one call), paged by in.
func (s *Service) purchases(ctx context.Context, c Customer, in pageInput) (*purchaseList, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	list, err := member[[]flowgladapi.Purchase](e, "purchases")
	if err != nil {
		return nil, err
	}
	return &purchaseList{Purchases: pageOf(list, func(p flowgladapi.Purchase) (string, json.RawMessage) {
		return p.ID, p.Raw
	}, in)}, nil
}

// pageOf pages billing's list, relaying each item's bytes; item gives its id and bytes.
func pageOf[T any](list []T, item func(T) (string, json.RawMessage), in pageInput) []json.RawMessage {
	ids := make([]string, len(list))
	items := make([]json.RawMessage, len(list))
	for i, x := range list {
		ids[i], items[i] = item(x)
	}
	return page(ids, items, in)
}

// page keeps the items after the one whose id is in.StartingAfter (all of them when no item
// has it), then at most in.Limit of them.
func page(ids []string, items []json.RawMessage, in pageInput) []json.RawMessage {
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

// member decodes the member name of a billing body alone (see billingread.Member).
func member[T any](e *billingEntry, name string) (T, error) {
	return billingread.Member[T](&e.Entry, name)
}
