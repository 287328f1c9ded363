package flowgladapi

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/flowglad-go/flowglad/internal/jsonscan"
)

// Customer is a Flowglad customer, as billing payloads and the customer
// endpoints return it. Email and Name are personal data: do not log them.
type Customer struct {
	// ID is Flowglad's id of the customer ("cus_...").
	ID string `json:"id"`
	// ExternalID is your application's id of the customer.
	ExternalID string `json:"externalId"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Livemode   bool   `json:"livemode"`
	// Archived customers can no longer be billed.
	Archived bool `json:"archived"`
	// PricingModelID is the customer's pricing model.
	PricingModelID string    `json:"pricingModelId"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	// Raw is the customer object as Flowglad sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (c *Customer) UnmarshalJSON(data []byte) error {
	type plain Customer
	var p struct {
		plain
		CreatedAt millis `json:"createdAt"`
		UpdatedAt millis `json:"updatedAt"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*c = Customer(p.plain)
	c.CreatedAt, c.UpdatedAt = p.CreatedAt.t, p.UpdatedAt.t
	c.Raw = bytes.Clone(data)
	return nil
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (c Customer) MarshalJSON() ([]byte, error) {
	type plain Customer
	return marshalRaw(c.Raw, plain(c))
}

// DecodeCustomer reads the customer out of a customer body: {"customer"},
// or {"data": {"customer"}} as POST /api/v1/customers answers.
func DecodeCustomer(body []byte) (*Customer, error) {
	var env struct {
		Customer *Customer `json:"customer"`
		Data     *struct {
			Customer *Customer `json:"customer"`
		} `json:"data"`
	}
	if err := decodeEnvelope(body, "customer", &env); err != nil {
		return nil, err
	}
	c := env.Customer
	if c == nil && env.Data != nil {
		c = env.Data.Customer
	}
	if c == nil || c.ID == "" {
		return nil, invalidResponse("", `no "customer" object`)
	}
	return c, nil
}

// CheckoutSession is a hosted checkout session. Send the customer to URL.
type CheckoutSession struct {
	// ID is Flowglad's id of the session.
	ID string `json:"id"`
	// URL is the hosted checkout page (the answer's top-level "url").
	URL string `json:"-"`
	// Type is "product", "add_payment_method" or "activate_subscription".
	Type CheckoutSessionType `json:"type"`
	// Status is e.g. "open", "succeeded", "failed", "expired".
	Status               string `json:"status"`
	PriceID              string `json:"priceId"`
	Quantity             int64  `json:"quantity"`
	SuccessURL           string `json:"successUrl"`
	CancelURL            string `json:"cancelUrl"`
	TargetSubscriptionID string `json:"targetSubscriptionId"`
	Livemode             bool   `json:"livemode"`
	// Expires is when the session can no longer be completed.
	Expires time.Time `json:"expires"`
	// Raw is the checkoutSession object as Flowglad sent it.
	Raw json.RawMessage `json:"-"`
}

// DecodeCheckoutSession reads the body of POST /api/v1/checkout-sessions,
// {"checkoutSession": {...}, "url": "..."}. A missing session or URL is an
// error wrapping ErrInvalidResponse, and so is a URL a browser must not be
// sent to: anything but an https URL, or an http one on a loopback host (a
// local fake in test mode). A javascript: or data: URL would run in the
// page that navigates to it.
func DecodeCheckoutSession(body []byte) (*CheckoutSession, error) {
	var env struct {
		CheckoutSession *CheckoutSession `json:"checkoutSession"`
		URL             string           `json:"url"`
	}
	if err := decodeEnvelope(body, "checkout session", &env); err != nil {
		return nil, err
	}
	if env.CheckoutSession == nil || env.CheckoutSession.ID == "" {
		return nil, invalidResponse("", `no "checkoutSession" object`)
	}
	if env.URL == "" {
		return nil, invalidResponse("", `no "url"`)
	}
	if !isCheckoutURL(env.URL) {
		// The URL itself is not repeated: it is not ours to log.
		return nil, invalidResponse("", `"url" is not an https URL`)
	}
	cs := env.CheckoutSession
	cs.URL = env.URL
	return cs, nil
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw. URL is not part of the
// checkoutSession object: DecodeCheckoutSession sets it from the answer.
func (s *CheckoutSession) UnmarshalJSON(data []byte) error {
	type plain CheckoutSession
	var p struct {
		plain
		Expires millis `json:"expires"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*s = CheckoutSession(p.plain)
	s.Expires, s.Raw = p.Expires.t, bytes.Clone(data)
	return nil
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (s CheckoutSession) MarshalJSON() ([]byte, error) {
	type plain CheckoutSession
	return marshalRaw(s.Raw, plain(s))
}

// UsageEvent is recorded usage.
type UsageEvent struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscriptionId"`
	UsageMeterID   string `json:"usageMeterId"`
	PriceID        string `json:"priceId"`
	Amount         int64  `json:"amount"`
	// TransactionID is the event's idempotency key.
	TransactionID string `json:"transactionId"`
	// UsageDate is when the usage happened.
	UsageDate time.Time `json:"usageDate"`
	Livemode  bool      `json:"livemode"`
	// Raw is the usageEvent object as Flowglad sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (e *UsageEvent) UnmarshalJSON(data []byte) error {
	type plain UsageEvent
	var p struct {
		plain
		UsageDate millis `json:"usageDate"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*e = UsageEvent(p.plain)
	e.UsageDate, e.Raw = p.UsageDate.t, bytes.Clone(data)
	return nil
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (e UsageEvent) MarshalJSON() ([]byte, error) {
	type plain UsageEvent
	return marshalRaw(e.Raw, plain(e))
}

// DecodeUsageEvent reads a {"usageEvent": {...}} body, as CreateUsageEvent
// returns it.
func DecodeUsageEvent(body []byte) (*UsageEvent, error) {
	var env struct {
		UsageEvent *UsageEvent `json:"usageEvent"`
	}
	if err := decodeEnvelope(body, "usage event", &env); err != nil {
		return nil, err
	}
	if env.UsageEvent == nil || env.UsageEvent.ID == "" {
		return nil, invalidResponse("", `no "usageEvent" object`)
	}
	return env.UsageEvent, nil
}

// DecodeUsageEvents reads a {"usageEvents": [...]} body, as
// BulkCreateUsageEvents returns it.
func DecodeUsageEvents(body []byte) ([]UsageEvent, error) {
	return decodeMember[[]UsageEvent](body, "usageEvents", "array")
}

// DecodeUsageMeterBalances reads a {"usageMeterBalances": [...]} body, as
// GetUsageBalances returns it.
func DecodeUsageMeterBalances(body []byte) ([]UsageMeterBalance, error) {
	return decodeMember[[]UsageMeterBalance](body, "usageMeterBalances", "array")
}

// ResourceUsage is how much of a resource (seats, projects, ...) a
// subscription has and uses.
type ResourceUsage struct {
	ResourceSlug string `json:"resourceSlug"`
	ResourceID   string `json:"resourceId"`
	// Capacity is what the subscription grants; Claimed what is in use;
	// Available what is left.
	Capacity  int64 `json:"capacity"`
	Claimed   int64 `json:"claimed"`
	Available int64 `json:"available"`
	// Raw is the usage object as Flowglad sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (u *ResourceUsage) UnmarshalJSON(data []byte) error {
	type plain ResourceUsage
	return unmarshalKeepingRaw(data, (*plain)(u), &u.Raw)
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (u ResourceUsage) MarshalJSON() ([]byte, error) {
	type plain ResourceUsage
	return marshalRaw(u.Raw, plain(u))
}

// ResourceClaim is one claimed unit (or several anonymous ones) of a
// resource.
type ResourceClaim struct {
	ID             string `json:"id"`
	ResourceID     string `json:"resourceId"`
	SubscriptionID string `json:"subscriptionId"`
	// ExternalID names the claimed unit (a seat's user id, say); empty for
	// anonymous claims.
	ExternalID string         `json:"externalId"`
	Metadata   map[string]any `json:"metadata"`
	ClaimedAt  time.Time      `json:"claimedAt"`
	// ReleasedAt is zero while the claim is active.
	ReleasedAt time.Time `json:"releasedAt"`
	// Raw is the claim object as Flowglad sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler, keeping data in Raw.
func (c *ResourceClaim) UnmarshalJSON(data []byte) error {
	type plain ResourceClaim
	var p struct {
		plain
		ExternalID *string `json:"externalId"`
		ClaimedAt  millis  `json:"claimedAt"`
		ReleasedAt millis  `json:"releasedAt"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*c = ResourceClaim(p.plain)
	if p.ExternalID != nil {
		c.ExternalID = *p.ExternalID
	}
	c.ClaimedAt, c.ReleasedAt, c.Raw = p.ClaimedAt.t, p.ReleasedAt.t, bytes.Clone(data)
	return nil
}

// MarshalJSON implements json.Marshaler: Raw when set, else the typed fields.
func (c ResourceClaim) MarshalJSON() ([]byte, error) {
	type plain ResourceClaim
	return marshalRaw(c.Raw, plain(c))
}

// ResourceClaims is what claiming, releasing and reading one resource answer:
// the claims concerned and the resource's usage afterwards.
type ResourceClaims struct {
	// Claims are the claims made (claim), the active claims (usage of one
	// resource) or the claims released (release).
	Claims []ResourceClaim `json:"claims"`
	Usage  ResourceUsage   `json:"usage"`
}

// DecodeResourceClaims reads {"claims"|"releasedClaims": [...], "usage":
// {...}}, as ClaimResource, ReleaseResource and GetResourceUsage return it;
// claimsKey names the list.
func DecodeResourceClaims(body []byte, claimsKey string) (*ResourceClaims, error) {
	if err := checkObject(body); err != nil || !jsonscan.Valid(body) {
		return nil, invalidResponse("", "resource claims: not one JSON object")
	}
	out := &ResourceClaims{}
	if err := json.Unmarshal(jsonscan.Get(body, claimsKey), &out.Claims); err != nil || out.Claims == nil {
		return nil, invalidResponse("", `no "`+claimsKey+`" array`)
	}
	if u := jsonscan.Get(body, "usage"); len(u) == 0 || u[0] != '{' || json.Unmarshal(u, &out.Usage) != nil {
		return nil, invalidResponse("", `no "usage" object`)
	}
	return out, nil
}

// DecodeResourceUsages reads the bare array [{"usage": {...}, "claims": [...]},
// ...] that ListResourceUsages returns, keeping each element's usage; an element
// without one is skipped.
func DecodeResourceUsages(body []byte) ([]ResourceUsage, error) {
	var entries []struct {
		Usage *ResourceUsage `json:"usage"`
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, invalidResponse("", "resource usages: not a JSON array")
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, invalidResponse("", "resource usages: "+err.Error())
	}
	out := make([]ResourceUsage, 0, len(entries))
	for _, e := range entries {
		if e.Usage != nil {
			out = append(out, *e.Usage)
		}
	}
	return out, nil
}

// DecodeResourceClaimList reads a {"claims": [...]} body, as ListResourceClaims
// returns it.
func DecodeResourceClaimList(body []byte) ([]ResourceClaim, error) {
	return decodeMember[[]ResourceClaim](body, "claims", "array")
}

// decodeMember decodes the member key of a JSON object body, which must be there and not
// null; kind ("array", "object") names what it should be in the error.
func decodeMember[T any](body []byte, key, kind string) (T, error) {
	var v T
	if err := checkObject(body); err != nil || !jsonscan.Valid(body) {
		return v, invalidResponse("", key+": not one JSON object")
	}
	m := jsonscan.Get(body, key) // the member alone, not the whole body into a map
	if len(m) == 0 || string(m) == "null" {
		return v, invalidResponse("", `no "`+key+`" `+kind)
	}
	if err := json.Unmarshal(m, &v); err != nil {
		return v, invalidResponse("", key+": "+err.Error())
	}
	return v, nil
}

// decodeEnvelope decodes a JSON object body into v, naming what in errors.
func decodeEnvelope(body []byte, what string, v any) error {
	if err := checkObject(body); err != nil {
		return invalidResponse("", what+": "+err.Error())
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalidResponse("", what+": "+err.Error())
	}
	return nil
}

// unmarshalKeepingRaw decodes data into v (the element as a method-less type)
// and keeps a copy of data in raw.
func unmarshalKeepingRaw(data []byte, v any, raw *json.RawMessage) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	*raw = bytes.Clone(data)
	return nil
}

// marshalRaw returns raw when it holds a value, else v encoded: a decoded
// element is relayed as Flowglad sent it.
func marshalRaw(raw json.RawMessage, v any) ([]byte, error) {
	if len(raw) > 0 {
		return raw, nil
	}
	return json.Marshal(v)
}

// millis is a time as Flowglad sends it: epoch milliseconds (an integer, or
// an integral float), or an RFC 3339 string from older servers. null, and
// anything else, is the zero time: one odd field must not make a whole
// billing payload unreadable.
type millis struct{ t time.Time }

func (m *millis) UnmarshalJSON(data []byte) error {
	m.t = time.Time{}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if json.Unmarshal(data, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				m.t = t.UTC()
			}
		}
		return nil
	}
	if ms, err := strconv.ParseInt(string(data), 10, 64); err == nil {
		m.t = time.UnixMilli(ms).UTC()
	} else if f, err := strconv.ParseFloat(string(data), 64); err == nil {
		m.t = time.UnixMilli(int64(f)).UTC()
	}
	return nil
}

// isCheckoutURL reports whether s is a URL a browser may be sent to for a
// checkout: https, or http on a loopback host, with no user part (which hides
// the host from a reader: https://flowglad.com@evil.example). url.Parse
// refuses a backslash before the path, which browsers read as a slash.
func isCheckoutURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return isLoopback(u.Hostname())
	}
	return false
}
