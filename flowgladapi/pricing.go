package flowgladapi

import (
	"context"
	"encoding/json"
	"net/http"
)

// GetDefaultPricingModel calls GET /api/v1/pricing-models/default and returns
// the body, {"pricingModel": {...}}: the organization's default pricing model,
// what an anonymous visitor sees.
func (c *Client) GetDefaultPricingModel(ctx context.Context) (json.RawMessage, error) {
	return c.do(ctx, request{
		op: "pricingModels-getDefault", method: http.MethodGet, idempotent: true, want: '{',
		path: pathf("pricing-models", "default"),
	})
}

// GetPricingModel calls GET /api/v1/pricing-models/{id} and returns the body,
// {"pricingModel": {...}}.
func (c *Client) GetPricingModel(ctx context.Context, id string) (json.RawMessage, error) {
	if err := checkID("pricingModels-get", "id", id); err != nil {
		return nil, err
	}
	return c.do(ctx, request{
		op: "pricingModels-get", method: http.MethodGet, idempotent: true, want: '{',
		path: pathf("pricing-models", id),
	})
}

// DecodePricingModel reads a {"pricingModel": {...}} body, as
// GetDefaultPricingModel returns it.
func DecodePricingModel(body []byte) (*PricingModel, error) {
	return decodeMember[*PricingModel](body, "pricingModel", "object")
}
