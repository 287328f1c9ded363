package flowglad

import (
	"context"

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
	return flowgladapi.DecodeResourceUsages(body)
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
	f.oneString([]string{"resourceSlug", "resourceId"}, &p.ResourceSlug, &p.ResourceID)
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
	return flowgladapi.DecodeResourceClaimList(body)
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
	checkUnits(is, claimModes, p.SubscriptionID, p.ResourceSlug, p.Quantity, p.ExternalID, p.ExternalIDs, nil)
	is.metadata("metadata", p.Metadata)
}

// The ways a claim and a release name their units: exactly one of these members.
var (
	claimModes   = []string{"quantity", "externalId", "externalIds"}
	releaseModes = []string{"quantity", "externalId", "externalIds", "claimIds"}
)

// checkUnits states the rules claims and releases share: the subscription, the resource,
// and exactly one way of naming units.
func checkUnits(is *issueList, modes []string, subID, slug string, qty int64, extID string, extIDs, claimIDs []string) {
	is.ownedID("subscriptionId", subID, false)
	is.id("resourceSlug", slug, true)
	set := []bool{qty != 0, extID != "", extIDs != nil, claimIDs != nil}
	is.exactlyOne("", modes, set[:len(modes)]...)
	is.count("quantity", qty, maxSafeInteger)
	is.name("externalId", extID, false)
	is.names("externalIds", extIDs)
	is.ids("claimIds", claimIDs)
}

// decodeUnits reads what claims and releases share: the subscription, the resource, and
// the units, by exactly one of modes.
func decodeUnits(f *fields, modes []string) (subID, slug string, qty int64, extID string, extIDs, claimIDs []string) {
	subID = optionalID(f, "subscriptionId")
	slug = f.reqStr("resourceSlug")
	switch f.exactlyOne(modes...) {
	case "quantity":
		qty, _ = f.posInt("quantity")
	case "externalId":
		extID = f.reqStr("externalId")
	case "externalIds":
		extIDs, _ = f.stringList("externalIds", maxIDLength)
	case "claimIds":
		claimIDs, _ = f.stringList("claimIds", maxIDLength)
	}
	return
}

// decodeClaim decodes and validates a resources/claim body.
func decodeClaim(body []byte) (ClaimResourceParams, error) {
	var p ClaimResourceParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID, p.ResourceSlug, p.Quantity, p.ExternalID, p.ExternalIDs, _ = decodeUnits(f, claimModes)
	p.Metadata, _ = f.metadata("metadata")
	return p, f.checked(p)
}

// ClaimResource claims capacity of a resource for one of the customer's subscriptions and
// returns the claims made with the resource's usage after them. It reads billing, then
// calls POST /api/v1/resource-claims/{subscriptionId}/claim (never retried).
func (s *Service) ClaimResource(ctx context.Context, c Customer, p ClaimResourceParams) (*flowgladapi.ResourceClaims, error) {
	return s.changeClaims(ctx, c, p, p.SubscriptionID, "claims", func(sub string) ([]byte, error) {
		return s.client.ClaimResource(ctx, sub, flowgladapi.ClaimParams{
			ResourceSlug: p.ResourceSlug,
			Metadata:     p.Metadata,
			Quantity:     p.Quantity,
			ExternalID:   p.ExternalID,
			ExternalIDs:  p.ExternalIDs,
		})
	})
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
	checkUnits(is, releaseModes, p.SubscriptionID, p.ResourceSlug, p.Quantity, p.ExternalID, p.ExternalIDs, p.ClaimIDs)
}

// decodeRelease decodes and validates a resources/release body.
func decodeRelease(body []byte) (ReleaseResourceParams, error) {
	var p ReleaseResourceParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SubscriptionID, p.ResourceSlug, p.Quantity, p.ExternalID, p.ExternalIDs, p.ClaimIDs = decodeUnits(f, releaseModes)
	return p, f.checked(p)
}

// ReleaseResource releases claims of a resource for one of the customer's subscriptions and
// returns the claims released with the resource's usage after them. It reads billing, then
// calls POST /api/v1/resource-claims/{subscriptionId}/release (never retried).
func (s *Service) ReleaseResource(ctx context.Context, c Customer, p ReleaseResourceParams) (*flowgladapi.ResourceClaims, error) {
	return s.changeClaims(ctx, c, p, p.SubscriptionID, "releasedClaims", func(sub string) ([]byte, error) {
		return s.client.ReleaseResource(ctx, sub, flowgladapi.ReleaseParams{
			ResourceSlug: p.ResourceSlug,
			Quantity:     p.Quantity,
			ExternalID:   p.ExternalID,
			ExternalIDs:  p.ExternalIDs,
			ClaimIDs:     p.ClaimIDs,
		})
	})
}

// changeClaims runs a claim or a release on the customer's subscription and reads the
// answer's claims (under claimsKey) and usage.
func (s *Service) changeClaims(ctx context.Context, c Customer, p checker, subscriptionID, claimsKey string, call func(sub string) ([]byte, error)) (*flowgladapi.ResourceClaims, error) {
	sub, err := s.resourceSubscription(ctx, c, p, subscriptionID)
	if err != nil {
		return nil, err
	}
	body, err := call(sub)
	s.wrote(ctx, c.ExternalID, err)
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodeResourceClaims(body, claimsKey)
}

// resourceSubscription validates c and p, then reads billing and returns the subscription
// a resource operation works on.
func (s *Service) resourceSubscription(ctx context.Context, c Customer, p checker, subscriptionID string) (string, error) {
	if err := validateInput(c, p); err != nil {
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
