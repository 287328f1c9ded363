package flowgladapitest

func (f *Fake) meterBySlug(slug string) *usageMeter {
	return first(f.st.pm.meters, func(m *usageMeter) bool { return m.slug == slug })
}

func (f *Fake) meterByID(id string) *usageMeter {
	return first(f.st.pm.meters, func(m *usageMeter) bool { return m.id == id })
}

func (f *Fake) resourceBySlug(slug string) *resource {
	return first(f.st.pm.resources, func(r *resource) bool { return r.slug == slug })
}

func (f *Fake) resourceByID(id string) *resource {
	return first(f.st.pm.resources, func(r *resource) bool { return r.id == id })
}

func (f *Fake) featureBySlug(slug string) *feature {
	return first(f.st.pm.features, func(ft *feature) bool { return ft.slug == slug })
}

func (f *Fake) productBySlug(slug string) *product {
	return first(f.st.pm.products, func(p *product) bool { return p.slug == slug })
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
	return first(f.allPrices(), func(p *price) bool { return p.slug == slug })
}

func (f *Fake) priceByID(id string) *price {
	return first(f.allPrices(), func(p *price) bool { return p.id == id })
}

// resolvePriceRef resolves ref as a price id when key is "priceId", else as a slug.
func (f *Fake) resolvePriceRef(key, ref string) (*price, *apiError) {
	if key == "priceId" {
		return f.resolvePrice(ref, "")
	}
	return f.resolvePrice("", ref)
}

// resolvePrice finds a price by id or slug (exactly one given by the
// caller).
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
	return first(f.st.customers, func(c *customer) bool { return c.externalID == ext && !c.archived })
}

func (f *Fake) customerByID(id string) *customer {
	return first(f.st.customers, func(c *customer) bool { return c.id == id })
}

func (f *Fake) subByID(id string) *subscription {
	return first(f.st.subs, func(s *subscription) bool { return s.id == id })
}

func (f *Fake) subsOf(c *customer) []*subscription {
	return filter(f.st.subs, func(s *subscription) bool { return s.cust == c })
}

// currentSubsOf lists c's current subscriptions, newest first (createdAt,
// then updatedAt, then creation order), as billing's currentSubscriptions.
func (f *Fake) currentSubsOf(c *customer) []*subscription {
	out := filter(f.subsOf(c), func(s *subscription) bool { return isCurrent(s.status) })
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
	return filter(s.items, func(it *subItem) bool { return it.expiredAt == nil })
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
		if e.sub == s && e.meter == m && e.counted {
			used += e.amount
		}
	}
	return float64(granted - used)
}

func (f *Fake) activeClaims(s *subscription, r *resource) []*claim {
	return filter(f.st.claims, func(c *claim) bool { return c.sub == s && c.releasedAt == nil && (r == nil || c.resource == r) })
}

// first returns the first of items that match accepts, or nil.
func first[T any](items []*T, match func(*T) bool) *T {
	for _, x := range items {
		if match(x) {
			return x
		}
	}
	return nil
}

// filter returns the items that keep accepts, in order (nil when none).
func filter[T any](items []*T, keep func(*T) bool) []*T {
	var out []*T
	for _, x := range items {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
