package flowgladapitest

func (f *Fake) meterBySlug(slug string) *usageMeter {
	for _, m := range f.st.pm.meters {
		if m.slug == slug {
			return m
		}
	}
	return nil
}

func (f *Fake) meterByID(id string) *usageMeter {
	for _, m := range f.st.pm.meters {
		if m.id == id {
			return m
		}
	}
	return nil
}

func (f *Fake) resourceBySlug(slug string) *resource {
	for _, r := range f.st.pm.resources {
		if r.slug == slug {
			return r
		}
	}
	return nil
}

func (f *Fake) resourceByID(id string) *resource {
	for _, r := range f.st.pm.resources {
		if r.id == id {
			return r
		}
	}
	return nil
}

func (f *Fake) featureBySlug(slug string) *feature {
	for _, ft := range f.st.pm.features {
		if ft.slug == slug {
			return ft
		}
	}
	return nil
}

func (f *Fake) productBySlug(slug string) *product {
	for _, p := range f.st.pm.products {
		if p.slug == slug {
			return p
		}
	}
	return nil
}

func (f *Fake) allPrices() []*price {
	var out []*price
	for _, p := range f.st.pm.products {
		out = append(out, p.prices...)
	}
	for _, m := range f.st.pm.meters {
		out = append(out, m.prices...)
	}
	return out
}

func (f *Fake) priceBySlug(slug string) *price {
	for _, p := range f.allPrices() {
		if p.slug == slug {
			return p
		}
	}
	return nil
}

func (f *Fake) priceByID(id string) *price {
	for _, p := range f.allPrices() {
		if p.id == id {
			return p
		}
	}
	return nil
}

// resolvePrice finds a price by id or slug (exactly one given by the
// caller).
// resolvePriceRef resolves ref as a price id when key is "priceId", else as a slug.
func (f *Fake) resolvePriceRef(key, ref string) (*price, *apiError) {
	if key == "priceId" {
		return f.resolvePrice(ref, "")
	}
	return f.resolvePrice("", ref)
}

func (f *Fake) resolvePrice(id, slug string) (*price, *apiError) {
	if slug != "" {
		if p := f.priceBySlug(slug); p != nil {
			return p, nil
		}
		return nil, notFound("Price with slug %s not found", slug)
	}
	if p := f.priceByID(id); p != nil {
		return p, nil
	}
	return nil, notFound("Price %s not found", id)
}

// customerByExternalID finds the live (not archived) customer.
func (f *Fake) customerByExternalID(ext string) *customer {
	for _, c := range f.st.customers {
		if c.externalID == ext && !c.archived {
			return c
		}
	}
	return nil
}

func (f *Fake) customerByID(id string) *customer {
	for _, c := range f.st.customers {
		if c.id == id {
			return c
		}
	}
	return nil
}

func (f *Fake) subByID(id string) *subscription {
	for _, s := range f.st.subs {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (f *Fake) subsOf(c *customer) []*subscription {
	var out []*subscription
	for _, s := range f.st.subs {
		if s.cust == c {
			out = append(out, s)
		}
	}
	return out
}

// currentSubsOf lists c's current subscriptions, newest first (createdAt,
// then updatedAt, then creation order), as billing's currentSubscriptions.
func (f *Fake) currentSubsOf(c *customer) []*subscription {
	var out []*subscription
	for _, s := range f.subsOf(c) {
		if isCurrent(s.status) {
			out = append(out, s)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && newer(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func newer(a, b *subscription) bool {
	if a.createdAt != b.createdAt {
		return a.createdAt > b.createdAt
	}
	if a.updatedAt != b.updatedAt {
		return a.updatedAt > b.updatedAt
	}
	return a.seq > b.seq
}

func (s *subscription) activeItems() []*subItem {
	var out []*subItem
	for _, it := range s.items {
		if it.expiredAt == nil {
			out = append(out, it)
		}
	}
	return out
}

// total is what the subscription's active items cost per period.
func (s *subscription) total() int64 {
	var t int64
	for _, it := range s.activeItems() {
		t += it.unitPrice * it.quantity
	}
	return t
}

// capacity is how many units of r the subscription's active items grant.
func (s *subscription) capacity(r *resource) int64 {
	var n int64
	for _, it := range s.activeItems() {
		for _, sf := range it.features {
			if sf.feature.typ == FeatureResource && sf.feature.resource == r {
				n += sf.feature.amount * it.quantity
			}
		}
	}
	return n
}

// balance is the credits the subscription's items grant on m minus the
// usage recorded for it on m.
func (f *Fake) balance(s *subscription, m *usageMeter) float64 {
	var granted, used int64
	for _, it := range s.activeItems() {
		for _, sf := range it.features {
			if sf.feature.typ == FeatureUsageCreditGrant && sf.feature.meter == m {
				granted += sf.feature.amount * it.quantity
			}
		}
	}
	for _, e := range f.st.events {
		if e.sub == s && e.meter == m {
			used += e.amount
		}
	}
	return float64(granted - used)
}

func (f *Fake) activeClaims(s *subscription, r *resource) []*claim {
	var out []*claim
	for _, c := range f.st.claims {
		if c.sub == s && c.releasedAt == nil && (r == nil || c.resource == r) {
			out = append(out, c)
		}
	}
	return out
}
