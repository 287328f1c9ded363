package flowgladapitest

import (
	"errors"
	"fmt"
)

// applySeed loads s. It runs before the fake serves anything, so it takes
// the lock only to keep the race detector's model simple.
func (f *Fake) applySeed(s Seed) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	spec := s.PricingModel
	id, err := f.idLocked("pm", spec.ID)
	if err != nil {
		return err
	}
	pm := &pricingModel{id: id, name: spec.Name, createdAt: now}
	if pm.name == "" {
		pm.name = "Default"
	}
	f.st.pm = pm

	for _, ms := range spec.UsageMeters {
		if err := checkSlug("usage meter", ms.Slug, f.meterBySlug(ms.Slug) != nil); err != nil {
			return err
		}
		id, err := f.idLocked("um", ms.ID)
		if err != nil {
			return err
		}
		m := &usageMeter{id: id, slug: ms.Slug, name: ms.Name, aggregation: ms.AggregationType, createdAt: now}
		if m.name == "" {
			m.name = ms.Slug
		}
		if m.aggregation == "" {
			m.aggregation = AggregationSum
		}
		if m.aggregation != AggregationSum && m.aggregation != AggregationCountDistinctProperties {
			return fmt.Errorf("usage meter %q: unknown aggregation type %q", ms.Slug, m.aggregation)
		}
		pm.meters = append(pm.meters, m)
		prices := ms.Prices
		if len(prices) == 0 {
			prices = []Price{{Slug: ms.Slug + "_no_charge", Name: m.name + " (no charge)"}}
		}
		for _, ps := range prices {
			if ps.Type == "" {
				ps.Type = PriceUsage
			}
			if ps.Type != PriceUsage {
				return fmt.Errorf("usage meter %q: price %q must be a usage price", ms.Slug, ps.Slug)
			}
			p, err := f.newPriceLocked(ps, now)
			if err != nil {
				return err
			}
			p.meter = m
			m.prices = append(m.prices, p)
		}
		markDefault(m.prices)
	}

	for _, rs := range spec.Resources {
		if err := checkSlug("resource", rs.Slug, f.resourceBySlug(rs.Slug) != nil); err != nil {
			return err
		}
		id, err := f.idLocked("res", rs.ID)
		if err != nil {
			return err
		}
		r := &resource{id: id, slug: rs.Slug, name: rs.Name, createdAt: now}
		if r.name == "" {
			r.name = rs.Slug
		}
		pm.resources = append(pm.resources, r)
	}

	for _, fs := range spec.Features {
		if err := f.addFeatureLocked(fs, now); err != nil {
			return err
		}
	}

	defaults := 0
	for _, ps := range spec.Products {
		if err := checkSlug("product", ps.Slug, f.productBySlug(ps.Slug) != nil); err != nil {
			return err
		}
		if len(ps.Prices) == 0 {
			return fmt.Errorf("product %q has no price", ps.Slug)
		}
		id, err := f.idLocked("prod", ps.ID)
		if err != nil {
			return err
		}
		p := &product{id: id, slug: ps.Slug, name: ps.Name, description: ps.Description, isDefault: ps.Default, createdAt: now}
		if p.name == "" {
			p.name = ps.Slug
		}
		if ps.Default {
			defaults++
		}
		for _, slug := range ps.Features {
			ft := f.featureBySlug(slug)
			if ft == nil {
				return fmt.Errorf("product %q: unknown feature %q", ps.Slug, slug)
			}
			p.features = append(p.features, ft)
		}
		for _, prs := range ps.Prices {
			if prs.Type == "" {
				prs.Type = PriceSubscription
			}
			if prs.Type != PriceSubscription && prs.Type != PriceSinglePayment {
				return fmt.Errorf("product %q: price %q must be a subscription or single_payment price (usage prices belong to usage meters)", ps.Slug, prs.Slug)
			}
			pr, err := f.newPriceLocked(prs, now)
			if err != nil {
				return err
			}
			pr.product = p
			p.prices = append(p.prices, pr)
		}
		markDefault(p.prices)
		pm.products = append(pm.products, p)
	}
	if defaults > 1 {
		return errors.New("more than one default product")
	}

	for _, cs := range s.Customers {
		if _, err := f.addCustomerLocked(cs, now); err != nil {
			return err
		}
	}
	return nil
}

// checkSlug checks the slug of a seeded kind of thing: it must be given,
// and not taken by another one already.
func checkSlug(kind, slug string, taken bool) error {
	if slug == "" {
		return fmt.Errorf("a %s has no slug", kind)
	}
	if taken {
		return fmt.Errorf("%s slug %q is used twice", kind, slug)
	}
	return nil
}

// markDefault makes the first price the default unless one is marked.
func markDefault(prices []*price) {
	for _, p := range prices {
		if p.isDefault {
			return
		}
	}
	if len(prices) > 0 {
		prices[0].isDefault = true
	}
}

func (f *Fake) newPriceLocked(ps Price, now int64) (*price, error) {
	if ps.Slug != "" && f.priceBySlug(ps.Slug) != nil {
		return nil, fmt.Errorf("price slug %q is used twice", ps.Slug)
	}
	if ps.UnitPrice < 0 {
		return nil, fmt.Errorf("price %q: negative unit price", ps.Slug)
	}
	id, err := f.idLocked("price", ps.ID)
	if err != nil {
		return nil, err
	}
	p := &price{
		id: id, slug: ps.Slug, name: ps.Name, typ: ps.Type, unitPrice: ps.UnitPrice,
		currency: ps.Currency, interval: ps.Interval, intervalCount: ps.IntervalCount,
		trialDays: ps.TrialPeriodDays, usageEventsPerUnit: ps.UsageEventsPerUnit,
		isDefault: ps.Default, createdAt: now,
	}
	if p.currency == "" {
		p.currency = "USD"
	}
	if p.typ != PriceSinglePayment {
		if p.interval == "" {
			p.interval = "month"
		}
		if !validInterval(p.interval) {
			return nil, fmt.Errorf("price %q: unknown interval %q", ps.Slug, p.interval)
		}
		if p.intervalCount <= 0 {
			p.intervalCount = 1
		}
	}
	if p.typ == PriceUsage && p.usageEventsPerUnit <= 0 {
		p.usageEventsPerUnit = 1
	}
	return p, nil
}

func (f *Fake) addFeatureLocked(fs Feature, now int64) error {
	if err := checkSlug("feature", fs.Slug, f.featureBySlug(fs.Slug) != nil); err != nil {
		return err
	}
	ft := &feature{slug: fs.Slug, name: fs.Name, description: fs.Description, typ: fs.Type, amount: fs.Amount, renewal: fs.RenewalFrequency, createdAt: now}
	if ft.name == "" {
		ft.name = fs.Slug
	}
	switch fs.Type {
	case FeatureToggle:
	case FeatureUsageCreditGrant:
		ft.meter = f.meterBySlug(fs.UsageMeter)
		if ft.meter == nil {
			return fmt.Errorf("feature %q: unknown usage meter %q", fs.Slug, fs.UsageMeter)
		}
		if ft.renewal == "" {
			ft.renewal = RenewEveryBillingPeriod
		}
		if ft.renewal != RenewOnce && ft.renewal != RenewEveryBillingPeriod {
			return fmt.Errorf("feature %q: unknown renewal frequency %q", fs.Slug, ft.renewal)
		}
		if fs.Amount <= 0 {
			return fmt.Errorf("feature %q: amount must be positive", fs.Slug)
		}
	case FeatureResource:
		ft.resource = f.resourceBySlug(fs.Resource)
		if ft.resource == nil {
			return fmt.Errorf("feature %q: unknown resource %q", fs.Slug, fs.Resource)
		}
		if fs.Amount <= 0 {
			return fmt.Errorf("feature %q: amount must be positive", fs.Slug)
		}
	default:
		return fmt.Errorf("feature %q: unknown type %q", fs.Slug, fs.Type)
	}
	id, err := f.idLocked("feature", fs.ID)
	if err != nil {
		return err
	}
	ft.id = id
	f.st.pm.features = append(f.st.pm.features, ft)
	return nil
}

// Lookups. All expect f.mu held.
