package flowgladapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// ClaimParams claim units of a resource (seats, projects, …) on a
// subscription. Give exactly one of Quantity (anonymous units), ExternalID or
// ExternalIDs (named units; claiming an already claimed id is a no-op).
type ClaimParams struct {
	ResourceSlug string         `json:"resourceSlug"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	Quantity     int64          `json:"quantity,omitempty"`
	ExternalID   string         `json:"externalId,omitempty"`
	ExternalIDs  []string       `json:"externalIds,omitempty"`
}

// ReleaseParams release claimed units. Give exactly one of Quantity
// (anonymous claims, oldest first), ExternalID, ExternalIDs or ClaimIDs.
type ReleaseParams struct {
	ResourceSlug string   `json:"resourceSlug"`
	Quantity     int64    `json:"quantity,omitempty"`
	ExternalID   string   `json:"externalId,omitempty"`
	ExternalIDs  []string `json:"externalIds,omitempty"`
	ClaimIDs     []string `json:"claimIds,omitempty"`
}

// ResourceRef names one resource by slug or by id (give exactly one).
type ResourceRef struct {
	ResourceSlug string
	ResourceID   string
}

// ResourceUsagesQuery filters ListResourceUsages; empty lists mean all
// resources.
type ResourceUsagesQuery struct {
	ResourceSlugs []string
	ResourceIDs   []string
}

// ClaimResource calls POST /api/v1/resource-claims/{subscriptionId}/claim
// with p and returns the body, {"claims": [...], "usage": {...}}. It is never
// retried.
func (c *Client) ClaimResource(ctx context.Context, subscriptionID string, p ClaimParams) (json.RawMessage, error) {
	if err := checkID("resourceClaims-claim", "subscriptionID", subscriptionID); err != nil {
		return nil, err
	}
	return c.do(ctx, request{
		op: "resourceClaims-claim", method: http.MethodPost, want: '{',
		path: pathf("resource-claims", subscriptionID, "claim"),
		body: p,
	})
}

// ReleaseResource calls POST /api/v1/resource-claims/{subscriptionId}/release
// with p and returns the body, {"releasedClaims": [...], "usage": {...}}. It
// is never retried.
func (c *Client) ReleaseResource(ctx context.Context, subscriptionID string, p ReleaseParams) (json.RawMessage, error) {
	if err := checkID("resourceClaims-release", "subscriptionID", subscriptionID); err != nil {
		return nil, err
	}
	return c.do(ctx, request{
		op: "resourceClaims-release", method: http.MethodPost, want: '{',
		path: pathf("resource-claims", subscriptionID, "release"),
		body: p,
	})
}

// GetResourceUsage calls GET /api/v1/resource-claims/{subscriptionId}/usage
// with ?resourceSlug= or ?resourceId= and returns the body,
// {"usage": {...}, "claims": [...]}.
func (c *Client) GetResourceUsage(ctx context.Context, subscriptionID string, q ResourceRef) (json.RawMessage, error) {
	if err := checkID("resourceClaims-getUsage", "subscriptionID", subscriptionID); err != nil {
		return nil, err
	}
	v := url.Values{}
	if q.ResourceSlug != "" {
		v.Set("resourceSlug", q.ResourceSlug)
	}
	if q.ResourceID != "" {
		v.Set("resourceId", q.ResourceID)
	}
	return c.do(ctx, request{
		op: "resourceClaims-getUsage", method: http.MethodGet, idempotent: true, want: '{',
		path:  pathf("resource-claims", subscriptionID, "usage"),
		query: v,
	})
}

// ListResourceUsages calls GET /api/v1/resource-claims/{subscriptionId}/usages
// and returns the body, a bare JSON array [{"usage", "claims"}, ...]. Filters
// are sent as repeated keys (?resourceSlugs=a&resourceSlugs=b); a lone value
// is sent twice, because Flowglad turns a single query value into a string
// where it expects an array (it de-duplicates).
func (c *Client) ListResourceUsages(ctx context.Context, subscriptionID string, q ResourceUsagesQuery) (json.RawMessage, error) {
	if err := checkID("resourceClaims-listResourceUsages", "subscriptionID", subscriptionID); err != nil {
		return nil, err
	}
	v := url.Values{}
	addArray(v, "resourceSlugs", q.ResourceSlugs)
	addArray(v, "resourceIds", q.ResourceIDs)
	return c.do(ctx, request{
		op: "resourceClaims-listResourceUsages", method: http.MethodGet, idempotent: true, want: '[',
		path:  pathf("resource-claims", subscriptionID, "usages"),
		query: v,
	})
}

// ListResourceClaims calls GET /api/v1/resource-claims/{subscriptionId}/claims
// (with ?resourceSlug= when resourceSlug is not empty) and returns the body,
// {"claims": [...]}: the active claims.
func (c *Client) ListResourceClaims(ctx context.Context, subscriptionID, resourceSlug string) (json.RawMessage, error) {
	if err := checkID("resourceClaims-listClaims", "subscriptionID", subscriptionID); err != nil {
		return nil, err
	}
	var v url.Values
	if resourceSlug != "" {
		v = url.Values{"resourceSlug": {resourceSlug}}
	}
	return c.do(ctx, request{
		op: "resourceClaims-listClaims", method: http.MethodGet, idempotent: true, want: '{',
		path:  pathf("resource-claims", subscriptionID, "claims"),
		query: v,
	})
}

// addArray adds vals under key as repeated keys, duplicating a lone value.
func addArray(v url.Values, key string, vals []string) {
	switch len(vals) {
	case 0:
	case 1:
		v[key] = []string{vals[0], vals[0]}
	default:
		v[key] = append([]string(nil), vals...)
	}
}
