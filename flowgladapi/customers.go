package flowgladapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// CreateCustomerParams are the fields of a new Flowglad customer. All three
// are required by Flowglad.
type CreateCustomerParams struct {
	// ExternalID is your application's id for the customer (e.g. a user or
	// organization id); later calls address the customer by it.
	ExternalID string `json:"externalId"`
	Email      string `json:"email"`
	Name       string `json:"name"`
}

// UpdateCustomerParams are the customer fields to change. A nil pointer or
// empty BillingAddress leaves the field unchanged (it is not sent).
type UpdateCustomerParams struct {
	Name  *string `json:"name,omitempty"`
	Email *string `json:"email,omitempty"`
	Phone *string `json:"phone,omitempty"`
	// BillingAddress is relayed as is: {name?, firstName?, lastName?, email?,
	// phone?, address: {line1, line2, city, state, postal_code, country}}.
	BillingAddress json.RawMessage `json:"billingAddress,omitempty"`
}

// GetCustomer calls GET /api/v1/customers/{externalId} and returns the body,
// {"customer": {...}}. An unknown customer is an error matching ErrNotFound.
func (c *Client) GetCustomer(ctx context.Context, externalID string) (json.RawMessage, error) {
	if err := checkID("customers-get", "externalID", externalID); err != nil {
		return nil, err
	}
	return c.do(ctx, request{
		op: "customers-get", method: http.MethodGet, idempotent: true, want: '{',
		path: pathf("customers", externalID),
	})
}

// CreateCustomer calls POST /api/v1/customers with {"customer": p} and
// returns the body's "data" member: {"customer", "subscription"?,
// "subscriptionItems"?} (the subscription is the default-product plan Flowglad
// may start for a new customer). It is never retried: a repeat could fail
// with a conflict after a success whose response was lost.
func (c *Client) CreateCustomer(ctx context.Context, p CreateCustomerParams) (json.RawMessage, error) {
	r := request{
		op: "customers-create", method: http.MethodPost, want: '{',
		path: pathf("customers"),
		body: struct {
			Customer CreateCustomerParams `json:"customer"`
		}{p},
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := decodeInto(r, raw, &env); err != nil {
		return nil, err
	}
	if len(env.Data) == 0 || env.Data[0] != '{' {
		return nil, invalidResponse(r.where(), `no "data" object`)
	}
	return env.Data, nil
}

// UpdateCustomer calls PUT /api/v1/customers/{externalId} with
// {"customer": {...set fields}} and returns the body, {"customer": {...}}. It
// is never retried.
func (c *Client) UpdateCustomer(ctx context.Context, externalID string, p UpdateCustomerParams) (json.RawMessage, error) {
	if err := checkID("customers-update", "externalID", externalID); err != nil {
		return nil, err
	}
	return c.do(ctx, request{
		op: "customers-update", method: http.MethodPut, want: '{',
		path: pathf("customers", externalID),
		body: struct {
			Customer UpdateCustomerParams `json:"customer"`
		}{p},
	})
}

// ArchiveCustomer calls POST /api/v1/customers/{externalId}/archive (with
// the body {}, which Flowglad requires) and returns the body,
// {"customer": {...}} with "archived": true. Archiving cancels the customer's
// active subscriptions and frees the external id. It is never retried.
func (c *Client) ArchiveCustomer(ctx context.Context, externalID string) (json.RawMessage, error) {
	if err := checkID("customers-archive", "externalID", externalID); err != nil {
		return nil, err
	}
	return c.do(ctx, request{
		op: "customers-archive", method: http.MethodPost, want: '{',
		path: pathf("customers", externalID, "archive"),
		body: struct{}{},
	})
}

// GetBilling calls GET /api/v1/customers/{externalId}/billing and decodes the
// body with DecodeBilling; Billing.Raw holds the body unchanged, for relaying
// to the React SDK.
func (c *Client) GetBilling(ctx context.Context, externalID string) (*Billing, error) {
	body, err := c.GetBillingBody(ctx, externalID)
	if err != nil {
		return nil, err
	}
	b, err := DecodeBilling(body.JSON())
	if err != nil {
		var ie *invalidResponseError
		if errors.As(err, &ie) {
			ie.where = "GET " + pathf("customers", externalID, "billing")
		}
		return nil, err
	}
	return b, nil
}

// GetBillingBody calls GET /api/v1/customers/{externalId}/billing and returns
// the body as Flowglad sent it (checked to be one JSON object), undecoded, with
// its top-level members located while it was checked: to relay the body and
// read a few members without walking it again. GetBilling decodes it whole.
func (c *Client) GetBillingBody(ctx context.Context, externalID string) (*BillingBody, error) {
	return c.GetBillingBodyVisit(ctx, externalID, nil)
}

// GetBillingBodyVisit is GetBillingBody reporting to v, in the pass that checks the
// body, the parts of it v asks for (see BodyVisitor): a caller that reads a few fields
// of a few members gets them without walking the body again. A nil v asks for nothing.
func (c *Client) GetBillingBodyVisit(ctx context.Context, externalID string, v BodyVisitor) (*BillingBody, error) {
	return c.getBillingBody(ctx, externalID, v, false)
}

// GetBillingBodyPooled is GetBillingBodyVisit reading the body into a buffer of the
// client's that the body's Release gives back, for the next call to read another body into:
// a caller that holds the body only while it answers one request (no cache keeps it)
// spares the garbage collector a buffer of the body's size per call. The caller must call
// Release once every reader of the body, and of any part of it (Member, JSON, what a
// BodyVisitor was given), is done with it; a body never released is simply collected. A
// body of unknown length (gzipped, chunked) is pooled too; one longer than its declared
// length, or larger than 1 MiB, is read as GetBillingBodyVisit reads it (Release then does
// nothing).
func (c *Client) GetBillingBodyPooled(ctx context.Context, externalID string, v BodyVisitor) (*BillingBody, error) {
	return c.getBillingBody(ctx, externalID, v, true)
}

func (c *Client) getBillingBody(ctx context.Context, externalID string, v BodyVisitor, pooled bool) (*BillingBody, error) {
	if err := checkID("customers-getBilling", "externalID", externalID); err != nil {
		return nil, err
	}
	b := &BillingBody{}
	b.visit = bodyVisit{b, v}
	raw, err := c.do(ctx, request{
		op: "customers-getBilling", method: http.MethodGet, idempotent: true, want: '{',
		path: pathf("customers", externalID, "billing"), members: b, pooled: pooled,
	})
	b.visit = bodyVisit{} // the body does not keep the visitor (nor what it holds) alive
	if err != nil {
		return nil, err
	}
	b.raw = raw
	return b, nil
}

// GetUsageBalances calls GET /api/v1/customers/{externalId}/usage-balances
// (with ?subscriptionId= when subscriptionID is not empty) and returns the
// body, {"usageMeterBalances": [...]}.
func (c *Client) GetUsageBalances(ctx context.Context, externalID, subscriptionID string) (json.RawMessage, error) {
	if err := checkID("customers-getUsageBalances", "externalID", externalID); err != nil {
		return nil, err
	}
	var q url.Values
	if subscriptionID != "" {
		q = url.Values{"subscriptionId": {subscriptionID}}
	}
	return c.do(ctx, request{
		op: "customers-getUsageBalances", method: http.MethodGet, idempotent: true, want: '{',
		path:  pathf("customers", externalID, "usage-balances"),
		query: q,
	})
}

// checkID rejects ids that would change which endpoint a path reaches: ""
// (".../customers/" is another route) and dot segments, which servers and
// proxies normalise away.
func checkID(op, name, id string) error {
	switch id {
	case "":
		return fmt.Errorf("flowgladapi: %s: empty %s", op, name)
	case ".", "..":
		return fmt.Errorf("flowgladapi: %s: invalid %s %q", op, name, id)
	}
	return nil
}
