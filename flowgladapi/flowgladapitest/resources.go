package flowgladapitest

import (
	"net/http"
	"slices"
)

// claimTarget resolves the path's subscription (it must be current) and the
// body's resourceSlug.
func (f *Fake) claimTarget(r *http.Request, in obj) (*subscription, *resource, *apiError) {
	slug, _, err := in.str("resourceSlug", true)
	if err != nil {
		return nil, nil, err
	}
	s, err := f.subOr404(r.PathValue("subscriptionId"))
	if err != nil {
		return nil, nil, err
	}
	if !isCurrent(s.status) {
		return nil, nil, badRequest("Subscription %s is %s; resources can only be claimed on a current subscription", s.id, s.status)
	}
	res := f.resourceBySlug(slug)
	if res == nil {
		return nil, nil, notFound("Resource with slug %s not found", slug)
	}
	return s, res, nil
}

// claimInput reads a claim or release body, which must give exactly one of
// keys, and returns that key.
func claimInput(r *http.Request, keys ...string) (obj, string, *apiError) {
	in, err := parseBody(r, false)
	if err != nil {
		return obj{}, "", err
	}
	key, err := in.exactlyOne(keys...)
	return in, key, err
}

// claimUnits reads the units a claim or release names by key: a quantity,
// or the ids given as externalId, externalIds or claimIds.
func claimUnits(in obj, key string) (int64, []string, *apiError) {
	switch key {
	case "quantity":
		quantity, _, err := in.integer("quantity", true, 1)
		return quantity, nil, err
	case "externalId":
		id, _, err := in.str("externalId", true)
		return 0, []string{id}, err
	case "externalIds":
		ids, _, err := in.strings("externalIds", 255)
		return 0, ids, err
	default: // claimIds
		ids, _, err := in.strings("claimIds", 0)
		return 0, ids, err
	}
}

// POST /api/v1/resource-claims/{subscriptionId}/claim. Claims by externalId
// are idempotent: an active claim with that id is returned, not doubled.
// Claims beyond the capacity are refused as a whole.
func (f *Fake) claimResource(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		in, key, err := claimInput(r, "quantity", "externalId", "externalIds")
		if err != nil {
			return nil, err
		}
		metadata, err := in.metadata("metadata", false)
		if err != nil {
			return nil, err
		}
		quantity, ids, err := claimUnits(in, key)
		if err != nil {
			return nil, err
		}
		if key == "externalId" && len([]rune(ids[0])) > 255 {
			return nil, badRequest("externalId: String must contain at most 255 character(s)")
		}
		s, res, err := f.claimTarget(r, in)
		if err != nil {
			return nil, err
		}
		active := f.activeClaims(s, res)
		var result []*claim
		var newIDs []*string
		if key == "quantity" {
			for range quantity {
				newIDs = append(newIDs, nil)
			}
		} else {
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					continue
				}
				seen[id] = true
				if c := findClaim(active, id); c != nil {
					result = append(result, c)
				} else {
					newIDs = append(newIDs, ptr(id))
				}
			}
		}
		capacity := s.capacity(res)
		available := capacity - int64(len(active))
		if int64(len(newIDs)) > available {
			return nil, badRequest("Cannot claim %d %s: %d of %d available", len(newIDs), res.slug, max(available, 0), capacity)
		}
		for _, ext := range newIDs {
			c := &claim{id: f.newIDLocked("claim"), sub: s, resource: res, externalID: ext, metadata: metadata, claimedAt: now, updatedAt: now}
			f.st.claims = append(f.st.claims, c)
			result = append(result, c)
		}
		return map[string]any{"claims": f.claimsJSON(result), "usage": f.resourceUsageJSON(s, res)}, nil
	})
}

func findClaim(cs []*claim, externalID string) *claim {
	return first(cs, func(c *claim) bool { return c.externalID != nil && *c.externalID == externalID })
}

// POST /api/v1/resource-claims/{subscriptionId}/release. quantity releases
// the oldest anonymous claims; externalId(s) and claimIds name active
// claims, and naming one that is not active is 404.
func (f *Fake) releaseResource(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		in, key, err := claimInput(r, "quantity", "externalId", "externalIds", "claimIds")
		if err != nil {
			return nil, err
		}
		quantity, refs, err := claimUnits(in, key)
		if err != nil {
			return nil, err
		}
		s, res, err := f.claimTarget(r, in)
		if err != nil {
			return nil, err
		}
		active := f.activeClaims(s, res)
		var release []*claim
		switch key {
		case "quantity":
			for _, c := range active {
				if int64(len(release)) == quantity {
					break
				}
				if c.externalID == nil {
					release = append(release, c)
				}
			}
			if int64(len(release)) < quantity {
				return nil, badRequest("Cannot release %d anonymous %s claims: only %d exist", quantity, res.slug, len(release))
			}
		case "claimIds":
			for _, id := range refs {
				i := slices.IndexFunc(active, func(c *claim) bool { return c.id == id })
				if i < 0 {
					return nil, notFound("Claim %s not found among the active %s claims", id, res.slug)
				}
				if !slices.Contains(release, active[i]) {
					release = append(release, active[i])
				}
			}
		default:
			for _, id := range refs {
				c := findClaim(active, id)
				if c == nil {
					return nil, notFound("No active %s claim with externalId %s", res.slug, id)
				}
				if !slices.Contains(release, c) {
					release = append(release, c)
				}
			}
		}
		for _, c := range release {
			c.releasedAt, c.releaseReason, c.updatedAt = ptr(now), ptr("released"), now
		}
		return map[string]any{"releasedClaims": f.claimsJSON(release), "usage": f.resourceUsageJSON(s, res)}, nil
	})
}

// resourcesOf lists the resources s has capacity for or claims on, in
// catalog order.
func (f *Fake) resourcesOf(s *subscription) []*resource {
	var out []*resource
	for _, res := range f.st.pm.resources {
		if s.capacity(res) > 0 || len(f.activeClaims(s, res)) > 0 {
			out = append(out, res)
		}
	}
	return out
}

// GET /api/v1/resource-claims/{subscriptionId}/usage?resourceSlug= | resourceId=
func (f *Fake) getResourceUsage(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		q := r.URL.Query()
		slug, id := q.Get("resourceSlug"), q.Get("resourceId")
		if (slug == "") == (id == "") {
			return nil, badRequest("Exactly one of resourceSlug or resourceId must be provided")
		}
		s, err := f.subOr404(r.PathValue("subscriptionId"))
		if err != nil {
			return nil, err
		}
		res := f.resourceBySlug(slug)
		if id != "" {
			res = f.resourceByID(id)
		}
		if res == nil {
			return nil, notFound("Resource not found")
		}
		return map[string]any{"usage": f.resourceUsageJSON(s, res), "claims": f.claimsJSON(f.activeClaims(s, res))}, nil
	})
}

// GET /api/v1/resource-claims/{subscriptionId}/usages[?resourceSlugs=&resourceIds=]:
// a bare array. Filters are repeated keys; a lone value is accepted too.
func (f *Fake) listResourceUsages(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		q := r.URL.Query()
		slugs, ids := q["resourceSlugs"], q["resourceIds"]
		if len(slugs) > 100 {
			return nil, badRequest("resourceSlugs: Array must contain at most 100 element(s)")
		}
		s, err := f.subOr404(r.PathValue("subscriptionId"))
		if err != nil {
			return nil, err
		}
		type usageJSON struct {
			Usage  resourceUsageDataJSON `json:"usage"`
			Claims []claimJSON           `json:"claims"`
		}
		out := []usageJSON{}
		for _, res := range f.resourcesOf(s) {
			if len(slugs) > 0 && !slices.Contains(slugs, res.slug) {
				continue
			}
			if len(ids) > 0 && !slices.Contains(ids, res.id) {
				continue
			}
			out = append(out, usageJSON{f.resourceUsageJSON(s, res), f.claimsJSON(f.activeClaims(s, res))})
		}
		return out, nil
	})
}

// GET /api/v1/resource-claims/{subscriptionId}/claims[?resourceSlug=]: the
// active claims.
func (f *Fake) listResourceClaims(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		s, err := f.subOr404(r.PathValue("subscriptionId"))
		if err != nil {
			return nil, err
		}
		var res *resource
		if slug := r.URL.Query().Get("resourceSlug"); slug != "" {
			if res = f.resourceBySlug(slug); res == nil {
				return nil, notFound("Resource with slug %s not found", slug)
			}
		}
		return map[string]any{"claims": f.claimsJSON(f.activeClaims(s, res))}, nil
	})
}
