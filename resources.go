package flowglad

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// ResourceUsagesParams name the subscription whose resources are read.
type ResourceUsagesParams struct {
	// SubscriptionID is the customer's subscription; empty means the only current one.
	SubscriptionID string
}

func (p ResourceUsagesParams) check(is *issueList) {
	is.ownedID("subscriptionId", p.SubscriptionID, false)
}

// decodeResourceUsages decodes a resources/usages body ({subscriptionId?}; empty allowed).
func decodeResourceUsages(body []byte) (ResourceUsagesParams, error) {
	var p ResourceUsagesParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID = optionalID(f, "subscriptionId")
	return p, f.checked(p)
}

// ResourceUsages returns the usage of every resource (seats, projects, ...) of one of the
// customer's subscriptions. It reads billing (to resolve and check the subscription), then
// calls GET /api/v1/resource-claims/{subscriptionId}/usages.
func (s *Service) ResourceUsages(ctx context.Context, c Customer, p ResourceUsagesParams) ([]flowgladapi.ResourceUsage, error) {
	sub, err := s.resourceSubscription(ctx, c, p, p.SubscriptionID)
	if err != nil {
		return nil, err
	}
	body, err := s.client.ListResourceUsages(ctx, sub, flowgladapi.ResourceUsagesQuery{})
	if err != nil {
		return nil, err
	}
	var entries []struct {
		Usage *flowgladapi.ResourceUsage `json:"usage"`
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, err)
	}
	out := make([]flowgladapi.ResourceUsage, 0, len(entries))
	for _, e := range entries {
		if e.Usage != nil {
			out = append(out, *e.Usage)
		}
	}
	return out, nil
}

// ResourceUsageParams name one resource of a subscription.
type ResourceUsageParams struct {
	// SubscriptionID is the customer's subscription; empty means the only current one.
	SubscriptionID string
	// Exactly one of ResourceSlug and ResourceID names the resource.
	ResourceSlug, ResourceID string
}

func (p ResourceUsageParams) check(is *issueList) {
	is.ownedID("subscriptionId", p.SubscriptionID, false)
	is.exactlyOne("", []string{"resourceSlug", "resourceId"}, p.ResourceSlug != "", p.ResourceID != "")
	is.id("resourceSlug", p.ResourceSlug, false)
	is.id("resourceId", p.ResourceID, false)
}

// decodeResourceUsage decodes a resources/usages/retrieve body: {subscriptionId?, and exactly
// one of resourceSlug / resourceId}.
func decodeResourceUsage(body []byte) (ResourceUsageParams, error) {
	var p ResourceUsageParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID = optionalID(f, "subscriptionId")
	switch f.exactlyOne("resourceSlug", "resourceId") {
	case "resourceSlug":
		p.ResourceSlug = f.reqStr("resourceSlug")
	case "resourceId":
		p.ResourceID = f.reqStr("resourceId")
	}
	return p, f.checked(p)
}

// ResourceUsage returns one resource's usage and active claims for one of the customer's
// subscriptions. It reads billing, then calls GET
// /api/v1/resource-claims/{subscriptionId}/usage.
func (s *Service) ResourceUsage(ctx context.Context, c Customer, p ResourceUsageParams) (*flowgladapi.ResourceClaims, error) {
	sub, err := s.resourceSubscription(ctx, c, p, p.SubscriptionID)
	if err != nil {
		return nil, err
	}
	body, err := s.client.GetResourceUsage(ctx, sub, flowgladapi.ResourceRef{ResourceSlug: p.ResourceSlug, ResourceID: p.ResourceID})
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodeResourceClaims(body, "claims")
}

// ResourceClaimsParams name the subscription (and optionally the resource) whose claims are
// listed.
type ResourceClaimsParams struct {
	// SubscriptionID is the customer's subscription; empty means the only current one.
	SubscriptionID string
	// ResourceSlug keeps the claims of one resource; empty means all.
	ResourceSlug string
}

func (p ResourceClaimsParams) check(is *issueList) {
	is.ownedID("subscriptionId", p.SubscriptionID, false)
	is.id("resourceSlug", p.ResourceSlug, false)
}

// decodeResourceClaims decodes a resources/claims body: {subscriptionId?, resourceSlug?}.
func decodeResourceClaims(body []byte) (ResourceClaimsParams, error) {
	var p ResourceClaimsParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID = optionalID(f, "subscriptionId")
	p.ResourceSlug = optionalID(f, "resourceSlug")
	return p, f.checked(p)
}

// ResourceClaims lists the active claims of one of the customer's subscriptions, optionally
// of one resource. It reads billing, then calls GET
// /api/v1/resource-claims/{subscriptionId}/claims.
func (s *Service) ResourceClaims(ctx context.Context, c Customer, p ResourceClaimsParams) ([]flowgladapi.ResourceClaim, error) {
	sub, err := s.resourceSubscription(ctx, c, p, p.SubscriptionID)
	if err != nil {
		return nil, err
	}
	body, err := s.client.ListResourceClaims(ctx, sub, p.ResourceSlug)
	if err != nil {
		return nil, err
	}
	var out struct {
		Claims []flowgladapi.ResourceClaim `json:"claims"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Claims == nil {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, errors.New(`flowglad: no "claims" in Flowglad's answer`))
	}
	return out.Claims, nil
}

// ClaimResourceParams claim capacity of a resource (a seat, a project) on one of the
// customer's subscriptions.
type ClaimResourceParams struct {
	// SubscriptionID is the customer's subscription; empty means the only current one.
	SubscriptionID string
	// ResourceSlug names the resource (required).
	ResourceSlug string
	// Exactly one of Quantity (anonymous units), ExternalID and ExternalIDs (named units,
	// each at most 255 characters; claiming a claimed name again changes nothing).
	Quantity    int64
	ExternalID  string
	ExternalIDs []string
	// Metadata is stored on the claims: string (at most 500 characters), number or boolean
	// values.
	Metadata map[string]any
}

func (p ClaimResourceParams) check(is *issueList) {
	is.ownedID("subscriptionId", p.SubscriptionID, false)
	is.id("resourceSlug", p.ResourceSlug, true)
	is.exactlyOne("", []string{"quantity", "externalId", "externalIds"}, p.Quantity != 0, p.ExternalID != "", p.ExternalIDs != nil)
	is.count("quantity", p.Quantity, maxSafeInteger)
	is.name("externalId", p.ExternalID, false)
	is.names("externalIds", p.ExternalIDs)
	is.metadata("metadata", p.Metadata)
}

// decodeClaim decodes and validates a resources/claim body.
func decodeClaim(body []byte) (ClaimResourceParams, error) {
	var p ClaimResourceParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID = optionalID(f, "subscriptionId")
	p.ResourceSlug = f.reqStr("resourceSlug")
	switch f.exactlyOne("quantity", "externalId", "externalIds") {
	case "quantity":
		if q, ok := f.posInt("quantity"); ok {
			p.Quantity = q
		}
	case "externalId":
		p.ExternalID = f.reqStr("externalId")
	case "externalIds":
		p.ExternalIDs, _ = f.stringList("externalIds", maxIDLength)
	}
	p.Metadata, _ = f.metadata("metadata")
	return p, f.checked(p)
}

// ClaimResource claims capacity of a resource for one of the customer's subscriptions and
// returns the claims made with the resource's usage after them. It reads billing, then
// calls POST /api/v1/resource-claims/{subscriptionId}/claim (never retried).
func (s *Service) ClaimResource(ctx context.Context, c Customer, p ClaimResourceParams) (*flowgladapi.ResourceClaims, error) {
	sub, err := s.resourceSubscription(ctx, c, p, p.SubscriptionID)
	if err != nil {
		return nil, err
	}
	defer s.changed(ctx, c.ExternalID)
	body, err := s.client.ClaimResource(ctx, sub, flowgladapi.ClaimParams{
		ResourceSlug: p.ResourceSlug,
		Metadata:     p.Metadata,
		Quantity:     p.Quantity,
		ExternalID:   p.ExternalID,
		ExternalIDs:  p.ExternalIDs,
	})
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodeResourceClaims(body, "claims")
}

// ReleaseResourceParams release claims of a resource on one of the customer's
// subscriptions.
type ReleaseResourceParams struct {
	// SubscriptionID is the customer's subscription; empty means the only current one.
	SubscriptionID string
	// ResourceSlug names the resource (required).
	ResourceSlug string
	// Exactly one of Quantity (anonymous claims, oldest first), ExternalID, ExternalIDs and
	// ClaimIDs.
	Quantity    int64
	ExternalID  string
	ExternalIDs []string
	ClaimIDs    []string
}

func (p ReleaseResourceParams) check(is *issueList) {
	is.ownedID("subscriptionId", p.SubscriptionID, false)
	is.id("resourceSlug", p.ResourceSlug, true)
	is.exactlyOne("", []string{"quantity", "externalId", "externalIds", "claimIds"},
		p.Quantity != 0, p.ExternalID != "", p.ExternalIDs != nil, p.ClaimIDs != nil)
	is.count("quantity", p.Quantity, maxSafeInteger)
	is.name("externalId", p.ExternalID, false)
	is.names("externalIds", p.ExternalIDs)
	is.ids("claimIds", p.ClaimIDs)
}

// decodeRelease decodes and validates a resources/release body.
func decodeRelease(body []byte) (ReleaseResourceParams, error) {
	var p ReleaseResourceParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID = optionalID(f, "subscriptionId")
	p.ResourceSlug = f.reqStr("resourceSlug")
	switch f.exactlyOne("quantity", "externalId", "externalIds", "claimIds") {
	case "quantity":
		if q, ok := f.posInt("quantity"); ok {
			p.Quantity = q
		}
	case "externalId":
		p.ExternalID = f.reqStr("externalId")
	case "externalIds":
		p.ExternalIDs, _ = f.stringList("externalIds", maxIDLength)
	case "claimIds":
		p.ClaimIDs, _ = f.stringList("claimIds", maxIDLength)
	}
	return p, f.checked(p)
}

// ReleaseResource releases claims of a resource for one of the customer's subscriptions and
// returns the claims released with the resource's usage after them. It reads billing, then
// calls POST /api/v1/resource-claims/{subscriptionId}/release (never retried).
func (s *Service) ReleaseResource(ctx context.Context, c Customer, p ReleaseResourceParams) (*flowgladapi.ResourceClaims, error) {
	sub, err := s.resourceSubscription(ctx, c, p, p.SubscriptionID)
	if err != nil {
		return nil, err
	}
	defer s.changed(ctx, c.ExternalID)
	body, err := s.client.ReleaseResource(ctx, sub, flowgladapi.ReleaseParams{
		ResourceSlug: p.ResourceSlug,
		Quantity:     p.Quantity,
		ExternalID:   p.ExternalID,
		ExternalIDs:  p.ExternalIDs,
		ClaimIDs:     p.ClaimIDs,
	})
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodeResourceClaims(body, "releasedClaims")
}

// resourceSubscription validates c and p, then reads billing and returns the subscription
// a resource operation works on.
func (s *Service) resourceSubscription(ctx context.Context, c Customer, p checker, subscriptionID string) (string, error) {
	if err := c.validate(); err != nil {
		return "", err
	}
	if err := validate(p); err != nil {
		return "", err
	}
	return s.subscriptionFor(ctx, c, subscriptionID)
}

// optionalID reads an optional member that, when present, must be a non-empty string.
func optionalID(f *fields, key string) string {
	if !f.has(key) {
		return ""
	}
	return f.reqStr(key)
}
