package actions

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// ResourceInput names a subscription and optionally a resource: the body of resources/usages,
// resources/usages/retrieve and resources/claims.
type ResourceInput struct {
	// SubscriptionID is the customer's subscription; empty means the only current one.
	SubscriptionID string
	// ResourceSlug or ResourceID names the resource (exactly one for
	// resources/usages/retrieve; an optional slug filter for resources/claims).
	ResourceSlug, ResourceID string
}

// DecodeResourceUsages decodes a resources/usages body ({subscriptionId?}; empty allowed).
func DecodeResourceUsages(body []byte) (ResourceInput, error) {
	var in ResourceInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.SubscriptionID = optionalID(f, "subscriptionId")
	return in, f.err()
}

// DecodeResourceUsage decodes a resources/usages/retrieve body: {subscriptionId?, and exactly
// one of resourceSlug / resourceId}.
func DecodeResourceUsage(body []byte) (ResourceInput, error) {
	var in ResourceInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.SubscriptionID = optionalID(f, "subscriptionId")
	switch f.exactlyOne("resourceSlug", "resourceId") {
	case "resourceSlug":
		in.ResourceSlug = f.reqStr("resourceSlug")
	case "resourceId":
		in.ResourceID = f.reqStr("resourceId")
	}
	return in, f.err()
}

// DecodeResourceClaims decodes a resources/claims body: {subscriptionId?, resourceSlug?}.
func DecodeResourceClaims(body []byte) (ResourceInput, error) {
	var in ResourceInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.SubscriptionID = optionalID(f, "subscriptionId")
	in.ResourceSlug = optionalID(f, "resourceSlug")
	return in, f.err()
}

// optionalID reads an optional member that, when present, must be a non-empty string.
func optionalID(f *fields, key string) string {
	if !f.has(key) {
		return ""
	}
	return f.reqStr(key)
}

// ResourceList is the data of resources/usages.
type ResourceList struct {
	// Resources are Flowglad's usage objects ({resourceSlug, resourceId, capacity, claimed,
	// available}), unchanged.
	Resources []json.RawMessage `json:"resources"`
}

// ResourceUsages returns the usage of every resource of one of the customer's subscriptions.
// It reads billing (to resolve and check the subscription), then calls GET
// /api/v1/resource-claims/{subscriptionId}/usages.
func (s *Service) ResourceUsages(ctx context.Context, c Customer, subscriptionID string) (*ResourceList, error) {
	sub, err := s.subscriptionFor(ctx, c, subscriptionID)
	if err != nil {
		return nil, err
	}
	body, err := s.client.ListResourceUsages(ctx, sub, flowgladapi.ResourceUsagesQuery{})
	if err != nil {
		return nil, err
	}
	var entries []struct {
		Usage json.RawMessage `json:"usage"`
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, err)
	}
	out := &ResourceList{Resources: make([]json.RawMessage, 0, len(entries))}
	for _, e := range entries {
		if len(e.Usage) > 0 {
			out.Resources = append(out.Resources, e.Usage)
		}
	}
	return out, nil
}

// ResourceUsage returns one resource's usage and claims ({usage, claims}) for one of the
// customer's subscriptions. It reads billing, then calls GET
// /api/v1/resource-claims/{subscriptionId}/usage.
func (s *Service) ResourceUsage(ctx context.Context, c Customer, in ResourceInput) (json.RawMessage, error) {
	if (in.ResourceSlug == "") == (in.ResourceID == "") {
		return nil, invalidBody([]Issue{{Path: "ResourceSlug|ResourceID", Message: "exactly one of ResourceSlug, ResourceID is required"}})
	}
	sub, err := s.subscriptionFor(ctx, c, in.SubscriptionID)
	if err != nil {
		return nil, err
	}
	return s.client.GetResourceUsage(ctx, sub, flowgladapi.ResourceRef{ResourceSlug: in.ResourceSlug, ResourceID: in.ResourceID})
}

// ResourceClaims lists the active claims ({claims}) of one of the customer's subscriptions,
// optionally of one resource. It reads billing, then calls GET
// /api/v1/resource-claims/{subscriptionId}/claims.
func (s *Service) ResourceClaims(ctx context.Context, c Customer, in ResourceInput) (json.RawMessage, error) {
	sub, err := s.subscriptionFor(ctx, c, in.SubscriptionID)
	if err != nil {
		return nil, err
	}
	return s.client.ListResourceClaims(ctx, sub, in.ResourceSlug)
}

// ClaimInput is the body of resources/claim.
type ClaimInput struct {
	// SubscriptionID is the customer's subscription; empty means the only current one.
	SubscriptionID string
	// ResourceSlug names the resource (required).
	ResourceSlug string
	// Exactly one of Quantity (anonymous claims), ExternalID and ExternalIDs (named,
	// idempotent claims).
	Quantity    int64
	ExternalID  string
	ExternalIDs []string
	// Metadata is stored on the claims: string (at most 500 characters), number or boolean
	// values.
	Metadata map[string]any
}

// DecodeClaim decodes and validates a resources/claim body.
func DecodeClaim(body []byte) (ClaimInput, error) {
	var in ClaimInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.SubscriptionID = optionalID(f, "subscriptionId")
	in.ResourceSlug = f.reqStr("resourceSlug")
	switch f.exactlyOne("quantity", "externalId", "externalIds") {
	case "quantity":
		if q, ok := f.posInt("quantity"); ok {
			in.Quantity = q
		}
	case "externalId":
		in.ExternalID = externalID(f, "externalId")
	case "externalIds":
		in.ExternalIDs, _ = f.stringList("externalIds", 255)
	}
	in.Metadata, _ = f.metadata("metadata")
	return in, f.err()
}

// externalID reads a required claim external id of at most 255 characters.
func externalID(f *fields, key string) string {
	s := f.reqStr(key)
	if len([]rune(s)) > 255 {
		f.add(key, "must be at most 255 characters")
		return ""
	}
	return s
}

// ClaimResource claims capacity of a resource for one of the customer's subscriptions and
// returns Flowglad's {claims, usage}. It reads billing, then calls POST
// /api/v1/resource-claims/{subscriptionId}/claim (never retried).
func (s *Service) ClaimResource(ctx context.Context, c Customer, in ClaimInput) (json.RawMessage, error) {
	f := goFields()
	if in.ResourceSlug == "" {
		f.add("ResourceSlug", "is required")
	}
	if modes(in.Quantity != 0, in.ExternalID != "", len(in.ExternalIDs) > 0) != 1 || in.Quantity < 0 {
		f.add("Quantity|ExternalID|ExternalIDs", "exactly one of a positive Quantity, ExternalID, ExternalIDs is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	sub, err := s.subscriptionFor(ctx, c, in.SubscriptionID)
	if err != nil {
		return nil, err
	}
	return s.client.ClaimResource(ctx, sub, flowgladapi.ClaimParams{
		ResourceSlug: in.ResourceSlug,
		Metadata:     in.Metadata,
		Quantity:     in.Quantity,
		ExternalID:   in.ExternalID,
		ExternalIDs:  in.ExternalIDs,
	})
}

// ReleaseInput is the body of resources/release.
type ReleaseInput struct {
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

// DecodeRelease decodes and validates a resources/release body.
func DecodeRelease(body []byte) (ReleaseInput, error) {
	var in ReleaseInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.SubscriptionID = optionalID(f, "subscriptionId")
	in.ResourceSlug = f.reqStr("resourceSlug")
	switch f.exactlyOne("quantity", "externalId", "externalIds", "claimIds") {
	case "quantity":
		if q, ok := f.posInt("quantity"); ok {
			in.Quantity = q
		}
	case "externalId":
		in.ExternalID = externalID(f, "externalId")
	case "externalIds":
		in.ExternalIDs, _ = f.stringList("externalIds", 255)
	case "claimIds":
		in.ClaimIDs, _ = f.stringList("claimIds", 255)
	}
	return in, f.err()
}

// ReleaseResource releases claims of a resource for one of the customer's subscriptions and
// returns Flowglad's {releasedClaims, usage}. It reads billing, then calls POST
// /api/v1/resource-claims/{subscriptionId}/release (never retried).
func (s *Service) ReleaseResource(ctx context.Context, c Customer, in ReleaseInput) (json.RawMessage, error) {
	f := goFields()
	if in.ResourceSlug == "" {
		f.add("ResourceSlug", "is required")
	}
	if modes(in.Quantity != 0, in.ExternalID != "", len(in.ExternalIDs) > 0, len(in.ClaimIDs) > 0) != 1 || in.Quantity < 0 {
		f.add("Quantity|ExternalID|ExternalIDs|ClaimIDs", "exactly one of a positive Quantity, ExternalID, ExternalIDs, ClaimIDs is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	sub, err := s.subscriptionFor(ctx, c, in.SubscriptionID)
	if err != nil {
		return nil, err
	}
	return s.client.ReleaseResource(ctx, sub, flowgladapi.ReleaseParams{
		ResourceSlug: in.ResourceSlug,
		Quantity:     in.Quantity,
		ExternalID:   in.ExternalID,
		ExternalIDs:  in.ExternalIDs,
		ClaimIDs:     in.ClaimIDs,
	})
}

// modes counts how many of several mutually exclusive inputs are set.
func modes(set ...bool) int {
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	return n
}

// subscriptionFor reads billing and returns the id of the subscription an action works on.
func (s *Service) subscriptionFor(ctx context.Context, c Customer, id string) (string, error) {
	b, err := s.Billing(ctx, c)
	if err != nil {
		return "", err
	}
	sub, err := s.resolveSubscription(ctx, b, id)
	if err != nil {
		return "", err
	}
	return sub.ID, nil
}
