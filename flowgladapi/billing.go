package flowgladapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/flowglad-go/flowglad/internal/jsonscan"
)

// Billing is a read-only view of a customer's billing payload (GET
// /api/v1/customers/{externalId}/billing) with the React SDK's helpers
// (CheckFeatureAccess, CheckUsageBalance, Product, Price, HasPurchased).
//
// Only the fields the helpers and typical Go callers need are typed; every
// element keeps its bytes in Raw, and Raw holds the whole body, so relaying
// to a browser never re-encodes Flowglad's JSON. A Billing is safe for
// concurrent reads. Pointers returned by its methods point into it.
type Billing struct {
	// Raw is the body exactly as Flowglad sent it.
	Raw      json.RawMessage `json:"-"`
	Customer Customer        `json:"customer"`
	// Subscriptions are all of the customer's subscriptions, canceled ones
	// included.
	Subscriptions []Subscription `json:"subscriptions"`
	// CurrentSubscriptions are the current (active, trialing, past due,
	// cancellation scheduled) subscriptions, newest first; empty, not nil,
	// when absent.
	CurrentSubscriptions []Subscription `json:"currentSubscriptions"`
	// CurrentSubscription is Flowglad's primary current subscription, nil
	// when absent.
	CurrentSubscription *Subscription `json:"currentSubscription"`
	PricingModel        PricingModel  `json:"pricingModel"`
	Purchases           []Purchase    `json:"purchases"`
	Invoices            []Invoice     `json:"invoices"`
	// PaymentMethods is the raw array, nil when absent or null.
	PaymentMethods json.RawMessage `json:"paymentMethods"`
	// BillingPortalURL is nil when absent or null.
	BillingPortalURL *string `json:"billingPortalUrl"`

	// ReadAt is when this billing was read from Flowglad, when the reader knows: a
	// flowglad.Service sets it, except for billing it took from a shared BillingCache.
	ReadAt time.Time `json:"-"`
	// Stale reports last-known billing, served because Flowglad could not be read
	// (flowglad.Config.StaleIfError); ReadAt says how old it is.
	Stale bool `json:"-"`
}

// Subscription is a subscription as found in billing payloads and
// subscription responses. Times are zero when Flowglad sent none (null).
type Subscription struct {
	ID         string `json:"id"`
	CustomerID string `json:"customerId"`
	// Name is the subscription's name, often the product's; may be empty.
	Name string `json:"name"`
	// Status is e.g. "active", "trialing", "past_due",
	// "cancellation_scheduled", "canceled", "credit_trial".
	Status  string `json:"status"`
	PriceID string `json:"priceId"`
	Current bool   `json:"current"`
	// Renews is false for subscriptions that end without renewal.
	Renews bool `json:"renews"`
	// Livemode is false for test-mode subscriptions.
	Livemode bool `json:"livemode"`

	StartDate                 time.Time `json:"startDate"`
	CurrentBillingPeriodStart time.Time `json:"currentBillingPeriodStart"`
	CurrentBillingPeriodEnd   time.Time `json:"currentBillingPeriodEnd"`
	TrialEnd                  time.Time `json:"trialEnd"`
	// CancelScheduledAt is when a scheduled cancellation takes effect.
	CancelScheduledAt time.Time `json:"cancelScheduledAt"`
	CanceledAt        time.Time `json:"canceledAt"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`

	// FeatureItems are the subscription's features: the top-level
	// "featureItems" when present, else "experimental.featureItems" (as the
	// React SDK reads them). Nil in plain subscription responses.
	FeatureItems []FeatureItem `json:"-"`
	// UsageMeterBalances come from "experimental.usageMeterBalances".
	UsageMeterBalances []UsageMeterBalance `json:"-"`
	Raw                json.RawMessage     `json:"-"`
}

// FeatureItem is a feature granted by a subscription item.
type FeatureItem struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// Type is "toggle", "usage_credit_grant" or "resource".
	Type     string          `json:"type"`
	Livemode bool            `json:"livemode"`
	Raw      json.RawMessage `json:"-"`
}

// UsageMeterBalance is the remaining balance of a usage meter for a
// subscription.
type UsageMeterBalance struct {
	ID               string          `json:"id"`
	Slug             string          `json:"slug"`
	Name             string          `json:"name"`
	SubscriptionID   string          `json:"subscriptionId"`
	AvailableBalance float64         `json:"availableBalance"`
	Raw              json.RawMessage `json:"-"`
}

// PricingModel is a pricing model with its products and usage meters.
type PricingModel struct {
	ID       string    `json:"id"`
	Products []Product `json:"products"`
	// UsageMeters carry the usage prices, which Price also searches.
	UsageMeters []UsageMeter    `json:"usageMeters"`
	Raw         json.RawMessage `json:"-"`
}

// Product is a product of a pricing model.
type Product struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// Default marks the pricing model's default (free) product.
	Default bool            `json:"default"`
	Prices  []Price         `json:"prices"`
	Raw     json.RawMessage `json:"-"`
}

// UsageMeter is a usage meter of a pricing model with its usage prices.
type UsageMeter struct {
	ID     string          `json:"id"`
	Slug   string          `json:"slug"`
	Name   string          `json:"name"`
	Prices []Price         `json:"prices"`
	Raw    json.RawMessage `json:"-"`
}

// Price is a price of a product or usage meter.
type Price struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	// Type is "subscription", "single_payment" or "usage".
	Type string `json:"type"`
	// ProductID is empty for usage prices; UsageMeterID only set on them.
	ProductID    string `json:"productId"`
	UsageMeterID string `json:"usageMeterId"`
	// UnitPrice is in the currency's minor unit (cents).
	UnitPrice int64           `json:"unitPrice"`
	Raw       json.RawMessage `json:"-"`
}

// Purchase is a purchase (of a subscription, single-payment or usage price).
type Purchase struct {
	ID      string          `json:"id"`
	PriceID string          `json:"priceId"`
	Name    string          `json:"name"`
	Raw     json.RawMessage `json:"-"`
}

// Invoice is one {"invoice", "invoiceLineItems"} item of a billing payload.
type Invoice struct {
	// ID is invoice.id.
	ID string `json:"-"`
	// Raw is the whole item, line items included.
	Raw json.RawMessage `json:"-"`
}

// DecodeBilling decodes a billing body (GET
// /api/v1/customers/{externalId}/billing). Unknown fields are ignored and
// missing ones left zero; a body that is not a JSON object, or a field we
// read having the wrong JSON type, is an error wrapping ErrInvalidResponse,
// except times, which are zero when not epoch milliseconds or RFC 3339.
// The returned Billing keeps a copy of raw.
func DecodeBilling(raw []byte) (*Billing, error) {
	b := &Billing{}
	if err := decodeEnvelope(raw, "billing", b); err != nil {
		return nil, err
	}
	b.Raw = bytes.Clone(raw)
	if b.CurrentSubscriptions == nil {
		b.CurrentSubscriptions = []Subscription{}
	}
	if string(b.PaymentMethods) == "null" {
		b.PaymentMethods = nil
	}
	return b, nil
}

// DecodeSubscription decodes a {"subscription": {...}} body, as returned by
// GetSubscription, CreateSubscription, CancelSubscription,
// UncancelSubscription and AdjustSubscription. A missing subscription is an
// error wrapping ErrInvalidResponse.
func DecodeSubscription(body []byte) (*Subscription, error) {
	var env struct {
		Subscription *Subscription `json:"subscription"`
	}
	if err := decodeEnvelope(body, "subscription", &env); err != nil {
		return nil, err
	}
	if env.Subscription == nil {
		return nil, invalidResponse("", `no "subscription" object`)
	}
	return env.Subscription, nil
}

func checkObject(raw []byte) error {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("not a JSON object")
	}
	return nil
}

// CurrentSubscriptionByID returns the current subscription with id, or nil
// (also for a subscription of the customer that is no longer current).
func (b *Billing) CurrentSubscriptionByID(id string) *Subscription {
	if b == nil || id == "" {
		return nil
	}
	for i := range b.CurrentSubscriptions {
		if b.CurrentSubscriptions[i].ID == id {
			return &b.CurrentSubscriptions[i]
		}
	}
	return nil
}

// CheckFeatureAccess reports whether any current subscription of the
// customer grants the toggle feature slug, as the features/access route lists
// features (and the React SDK's newer useFeature hooks read them): a customer
// on Pro with a newer Free subscription has Pro's features. False without a
// current subscription. Non-toggle features (usage credit grants, resources)
// never grant access here. For one current subscription use
// CheckFeatureAccessFor.
func (b *Billing) CheckFeatureAccess(slug string) bool {
	if b == nil {
		return false
	}
	for i := range b.CurrentSubscriptions {
		if b.CurrentSubscriptions[i].HasFeature(slug) {
			return true
		}
	}
	return false
}

// CheckFeatureAccessFor is CheckFeatureAccess for the current subscription
// with subscriptionID; false when no current subscription has that id.
func (b *Billing) CheckFeatureAccessFor(subscriptionID, slug string) bool {
	return b.CurrentSubscriptionByID(subscriptionID).HasFeature(slug)
}

// CheckUsageBalance returns the balance for the usage meter slug of the
// first current subscription (newest first) that has the meter, or nil (no
// current subscription has it). That subscription is UsageSubscription(slug),
// the one usage of the meter is recorded on by the middleware. For another
// current subscription use CheckUsageBalanceFor.
func (b *Billing) CheckUsageBalance(slug string) *UsageMeterBalance {
	return b.UsageSubscription(slug).UsageBalance(slug)
}

// UsageSubscription returns the first current subscription (newest first)
// that has the usage meter slug, or nil.
func (b *Billing) UsageSubscription(slug string) *Subscription {
	if b == nil {
		return nil
	}
	for i := range b.CurrentSubscriptions {
		if b.CurrentSubscriptions[i].UsageBalance(slug) != nil {
			return &b.CurrentSubscriptions[i]
		}
	}
	return nil
}

// CheckUsageBalanceFor is CheckUsageBalance for the current subscription with
// subscriptionID; nil when no current subscription has that id.
func (b *Billing) CheckUsageBalanceFor(subscriptionID, slug string) *UsageMeterBalance {
	return b.CurrentSubscriptionByID(subscriptionID).UsageBalance(slug)
}

// HasFeature reports whether the subscription grants the toggle feature
// slug. A nil subscription grants nothing.
func (s *Subscription) HasFeature(slug string) bool {
	if s == nil {
		return false
	}
	for _, f := range s.FeatureItems {
		if f.Type == "toggle" && f.Slug == slug {
			return true
		}
	}
	return false
}

// UsageBalance returns the subscription's balance for the usage meter slug,
// or nil. When a meter is listed twice the last wins, as in the React SDK.
func (s *Subscription) UsageBalance(slug string) *UsageMeterBalance {
	if s == nil {
		return nil
	}
	for i := len(s.UsageMeterBalances) - 1; i >= 0; i-- {
		if s.UsageMeterBalances[i].Slug == slug {
			return &s.UsageMeterBalances[i]
		}
	}
	return nil
}

// Product returns the pricing model's product with slug, or nil.
func (b *Billing) Product(slug string) *Product {
	if b == nil || slug == "" {
		return nil
	}
	ps := b.PricingModel.Products
	for i := len(ps) - 1; i >= 0; i-- { // last wins, as in the React SDK
		if ps[i].Slug == slug {
			return &ps[i]
		}
	}
	return nil
}

// Price returns the price with slug, searching the products' prices and the
// usage meters' prices of the pricing model (a usage meter's price wins a slug
// clash, as in the React SDK), or nil.
func (b *Billing) Price(slug string) *Price {
	if b == nil || slug == "" {
		return nil // a price without a slug (null) must not match ""
	}
	ms := b.PricingModel.UsageMeters
	for i := len(ms) - 1; i >= 0; i-- {
		if p := lastPrice(ms[i].Prices, slug); p != nil {
			return p
		}
	}
	ps := b.PricingModel.Products
	for i := len(ps) - 1; i >= 0; i-- {
		if p := lastPrice(ps[i].Prices, slug); p != nil {
			return p
		}
	}
	return nil
}

func lastPrice(prices []Price, slug string) *Price {
	for i := len(prices) - 1; i >= 0; i-- {
		if prices[i].Slug == slug {
			return &prices[i]
		}
	}
	return nil
}

// HasPurchased reports whether any price of the product productSlug appears
// among the customer's purchases (by priceId). It is customer-level: no
// subscription is chosen.
func (b *Billing) HasPurchased(productSlug string) bool {
	p := b.Product(productSlug)
	if p == nil {
		return false
	}
	for _, price := range p.Prices {
		for _, pu := range b.Purchases {
			if pu.PriceID != "" && pu.PriceID == price.ID {
				return true
			}
		}
	}
	return false
}

// Subscription returns the customer's subscription with id, current or not,
// or nil.
func (b *Billing) Subscription(id string) *Subscription {
	if b == nil || id == "" {
		return nil
	}
	for i := range b.Subscriptions {
		if b.Subscriptions[i].ID == id {
			return &b.Subscriptions[i]
		}
	}
	for i := range b.CurrentSubscriptions {
		if b.CurrentSubscriptions[i].ID == id {
			return &b.CurrentSubscriptions[i]
		}
	}
	if b.CurrentSubscription != nil && b.CurrentSubscription.ID == id {
		return b.CurrentSubscription
	}
	return nil
}

// The methods below decode the typed fields and keep a copy of the element's
// bytes in Raw (unmarshalKeepingRaw), and marshal an element as its Raw when it
// has one (marshalRaw), so a decoded value relays Flowglad's JSON unchanged.
// Each converts to a method-less local type to avoid recursing into itself.

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw and
// resolving FeatureItems, UsageMeterBalances and the times.
func (s *Subscription) UnmarshalJSON(data []byte) error {
	type plain Subscription
	var p struct {
		plain
		StartDate                 millis        `json:"startDate"`
		CurrentBillingPeriodStart millis        `json:"currentBillingPeriodStart"`
		CurrentBillingPeriodEnd   millis        `json:"currentBillingPeriodEnd"`
		TrialEnd                  millis        `json:"trialEnd"`
		CancelScheduledAt         millis        `json:"cancelScheduledAt"`
		CanceledAt                millis        `json:"canceledAt"`
		CreatedAt                 millis        `json:"createdAt"`
		UpdatedAt                 millis        `json:"updatedAt"`
		FeatureItems              []FeatureItem `json:"featureItems"`
		Experimental              *struct {
			FeatureItems       []FeatureItem       `json:"featureItems"`
			UsageMeterBalances []UsageMeterBalance `json:"usageMeterBalances"`
		} `json:"experimental"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*s = Subscription(p.plain)
	s.StartDate, s.CurrentBillingPeriodStart, s.CurrentBillingPeriodEnd = p.StartDate.t, p.CurrentBillingPeriodStart.t, p.CurrentBillingPeriodEnd.t
	s.TrialEnd, s.CancelScheduledAt, s.CanceledAt = p.TrialEnd.t, p.CancelScheduledAt.t, p.CanceledAt.t
	s.CreatedAt, s.UpdatedAt = p.CreatedAt.t, p.UpdatedAt.t
	// A null or absent top-level list falls back, like JavaScript's "??".
	s.FeatureItems = p.FeatureItems
	if s.FeatureItems == nil && p.Experimental != nil {
		s.FeatureItems = p.Experimental.FeatureItems
	}
	if p.Experimental != nil {
		s.UsageMeterBalances = p.Experimental.UsageMeterBalances
	}
	s.Raw = bytes.Clone(data)
	return nil
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (s Subscription) MarshalJSON() ([]byte, error) {
	type plain Subscription
	return marshalRaw(s.Raw, plain(s))
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (f *FeatureItem) UnmarshalJSON(data []byte) error {
	type plain FeatureItem
	return unmarshalKeepingRaw(data, (*plain)(f), &f.Raw)
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (f FeatureItem) MarshalJSON() ([]byte, error) {
	type plain FeatureItem
	return marshalRaw(f.Raw, plain(f))
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (u *UsageMeterBalance) UnmarshalJSON(data []byte) error {
	type plain UsageMeterBalance
	return unmarshalKeepingRaw(data, (*plain)(u), &u.Raw)
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (u UsageMeterBalance) MarshalJSON() ([]byte, error) {
	type plain UsageMeterBalance
	return marshalRaw(u.Raw, plain(u))
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (m *PricingModel) UnmarshalJSON(data []byte) error {
	type plain PricingModel
	return unmarshalKeepingRaw(data, (*plain)(m), &m.Raw)
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (m PricingModel) MarshalJSON() ([]byte, error) {
	type plain PricingModel
	return marshalRaw(m.Raw, plain(m))
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (p *Product) UnmarshalJSON(data []byte) error {
	type plain Product
	return unmarshalKeepingRaw(data, (*plain)(p), &p.Raw)
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (p Product) MarshalJSON() ([]byte, error) {
	type plain Product
	return marshalRaw(p.Raw, plain(p))
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (m *UsageMeter) UnmarshalJSON(data []byte) error {
	type plain UsageMeter
	return unmarshalKeepingRaw(data, (*plain)(m), &m.Raw)
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (m UsageMeter) MarshalJSON() ([]byte, error) {
	type plain UsageMeter
	return marshalRaw(m.Raw, plain(m))
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (p *Price) UnmarshalJSON(data []byte) error {
	type plain Price
	return unmarshalKeepingRaw(data, (*plain)(p), &p.Raw)
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (p Price) MarshalJSON() ([]byte, error) {
	type plain Price
	return marshalRaw(p.Raw, plain(p))
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (p *Purchase) UnmarshalJSON(data []byte) error {
	type plain Purchase
	return unmarshalKeepingRaw(data, (*plain)(p), &p.Raw)
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (p Purchase) MarshalJSON() ([]byte, error) {
	type plain Purchase
	return marshalRaw(p.Raw, plain(p))
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (inv *Invoice) UnmarshalJSON(data []byte) error {
	var v struct {
		Invoice struct {
			ID string `json:"id"`
		} `json:"invoice"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	inv.ID = v.Invoice.ID
	inv.Raw = bytes.Clone(data)
	return nil
}

// MarshalJSON implements json.Marshaler: the item as Flowglad sent it.
func (inv Invoice) MarshalJSON() ([]byte, error) {
	return marshalRaw(inv.Raw, struct {
		Invoice struct {
			ID string `json:"id"`
		} `json:"invoice"`
	}{Invoice: struct {
		ID string `json:"id"`
	}{inv.ID}})
}

// BillingBody is a billing body as Flowglad sent it, checked to be one JSON
// object, with its top-level members located while it was checked: reading one
// member (the subscriptions, say) does not walk the others. GetBillingBody
// returns one; ParseBillingBody makes one from bytes kept elsewhere (a cache).
// The zero value holds no body. A BillingBody is not changed after it is made,
// so it may be read from several goroutines at once.
type BillingBody struct {
	raw     json.RawMessage
	members []bodyMember
	// inline holds the members of a body that has at most len(inline) (Flowglad's has about
	// ten): the body and its members in one allocation.
	inline [16]bodyMember
	// visit.v, when set, is told what it asks for while the body is checked; visit is
	// part of the body so that passing it on costs no allocation.
	visit bodyVisit
	// buf is the pooled buffer raw is part of (GetBillingBodyPooled), nil when none or
	// once released; from is the client whose pool it goes back to.
	buf  atomic.Pointer[[]byte]
	from *Client
}

// hold makes b the holder of buf, one of c's pooled buffers, which b's body is part of.
func (b *BillingBody) hold(c *Client, buf *[]byte) {
	b.from = c
	b.buf.Store(buf)
}

// Pooled reports whether b's body is in a pooled buffer that Release gives back (see
// Client.GetBillingBodyPooled).
func (b *BillingBody) Pooled() bool { return b.buf.Load() != nil }

// Release gives a pooled body's buffer back to its client, for another body to be read
// into: b, and every part of it, must not be read afterwards (b's JSON and members are
// then empty). Only the first call does anything, and only for a pooled body (see
// Client.GetBillingBodyPooled); the caller orders it after every reader, on every
// goroutine, is done.
func (b *BillingBody) Release() {
	buf := b.buf.Swap(nil)
	if buf == nil {
		return
	}
	b.raw, b.members = nil, nil
	b.from.putBody(buf)
}

// bodyMember is one top-level member: its raw key (escapes as sent) and value.
type bodyMember struct{ key, value []byte }

// ParseBillingBody checks that raw is one JSON object and locates its members.
// The BillingBody refers to raw, which must not be modified afterwards.
func ParseBillingBody(raw []byte) (*BillingBody, error) {
	return ParseBillingBodyVisit(raw, nil)
}

// ParseBillingBodyVisit is ParseBillingBody reporting to v, in the pass that checks raw,
// the parts of it v asks for (see BodyVisitor). A nil v asks for nothing.
func ParseBillingBodyVisit(raw []byte, v BodyVisitor) (*BillingBody, error) {
	b := &BillingBody{raw: raw}
	b.visit = bodyVisit{b, v}
	ok := b.parse(raw)
	b.visit = bodyVisit{} // the body does not keep the visitor (nor what it holds) alive
	if !ok {
		return nil, invalidResponse("billing", "not one JSON object")
	}
	return b, nil
}

// A BodyVisitor reads parts of a billing body in the one pass that checks it
// (GetBillingBodyVisit, ParseBillingBodyVisit): the fields of a few members (the
// subscriptions' ids and statuses, say) without walking those members again once the
// body is checked. Keys and values are raw JSON (keys between their quotes, escapes as
// sent) and part of the body: they must not be modified, and stay valid as long as the
// body.
//
// The methods are called while the body is checked, in the order it holds what they
// report: what was reported of a body that fails the check is garbage, and
// GetBillingBodyVisit may then read the body again (a garbled answer is retried). Start
// is called before each body is checked: it is where a visitor forgets what it was told
// of the previous one. What a visitor gathered is the body's only when the call returns
// it without an error. An interface rather than funcs: the visitor is one allocation,
// not one per method.
type BodyVisitor interface {
	// Start is called before each body is checked.
	Start()
	// Descend is called with the key of each top-level member before its value is
	// checked; true asks for the fields of the objects in that value (Field) and for its
	// elements (Element).
	Descend(key []byte) bool
	// Field is called with the key and value of each member of an object that a
	// descended member holds: its value when that is an object, each element of it that
	// is an object when it is an array (not deeper).
	Field(key, value []byte)
	// Element is called with each element of a descended member's array, after the
	// fields of that element.
	Element(elem []byte)
	// Member is called with the key and value of each top-level member, once its value
	// is checked (and its fields and elements reported).
	Member(key, value []byte)
}

// bodyVisit passes what a check finds on to a BodyVisitor, recording the top-level
// members for BillingBody.Member on the way.
type bodyVisit struct {
	b *BillingBody
	v BodyVisitor
}

func (w *bodyVisit) Descend(k []byte) bool { return w.v.Descend(k) }
func (w *bodyVisit) Field(k, v []byte)     { w.v.Field(k, v) }
func (w *bodyVisit) Element(e []byte)      { w.v.Element(e) }
func (w *bodyVisit) Member(k, v []byte) {
	w.b.record(k, v)
	w.v.Member(k, v)
}

// JSON returns the body, byte for byte. It must not be modified.
func (b *BillingBody) JSON() json.RawMessage { return b.raw }

// parse checks raw and records its members, reporting to b.visit what it asks for;
// false when raw is not one JSON object.
func (b *BillingBody) parse(raw []byte) bool {
	if b.members == nil {
		b.members = b.inline[:0]
	}
	b.members = b.members[:0]
	if b.visit.v == nil {
		return jsonscan.ValidObject(raw, b.record)
	}
	b.visit.v.Start()
	return jsonscan.ValidObjectVisit(raw, &b.visit)
}

// record keeps a top-level member, for Member.
func (b *BillingBody) record(k, v []byte) {
	b.members = append(b.members, bodyMember{k, v})
}

// Member returns the raw value of the top-level member name, or nil when there is
// none: the member whose key, unescaped, is exactly name (invalid UTF-8 in a key
// without escapes is compared as it is), the last one when a key repeats. The
// value is part of the body and must not be modified.
func (b *BillingBody) Member(name string) json.RawMessage {
	for i := len(b.members) - 1; i >= 0; i-- {
		if jsonscan.KeyIs(b.members[i].key, name) {
			return b.members[i].value
		}
	}
	return nil
}
