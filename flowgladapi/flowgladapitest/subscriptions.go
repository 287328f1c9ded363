package flowgladapitest

import (
	"net/http"
	"slices"
	"strings"
)

// Cancellation and adjustment timings.
const (
	timingImmediately = "immediately"
	timingEndOfPeriod = "at_end_of_current_billing_period"
	timingAuto        = "auto"
)

func (f *Fake) subOr404(id string) (*subscription, *apiError) {
	if s := f.subByID(id); s != nil {
		return s, nil
	}
	return nil, notFound("Subscription not found")
}

// cancel ends s now.
func (s *subscription) cancel(now int64, reason string) {
	s.status = StatusCanceled
	s.canceledAt = ptr(now)
	s.cancelScheduledAt = nil
	if reason != "" {
		s.cancellationReason = ptr(reason)
	}
	s.pending, s.scheduledAdjustmentAt = nil, nil
	s.updatedAt = now
}

// GET /api/v1/subscriptions/{id}
func (f *Fake) getSubscription(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		s, err := f.subOr404(r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"subscription": f.subscriptionJSON(s)}, nil
	})
}

// POST /api/v1/subscriptions (flat body). A free-plan subscription the
// customer has is replaced (canceled, replacedBySubscriptionId set), as
// Flowglad does when a customer moves off the free plan; other current
// subscriptions stay, so a customer can end up with several.
func (f *Fake) createSubscription(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		in, err := parseBody(r, false)
		if err != nil {
			return nil, err
		}
		custKey, custRef, err := in.oneOf("customerId", "customerExternalId")
		if err != nil {
			return nil, err
		}
		priceKey, priceRef, quantity, err := in.priceItem()
		if err != nil {
			return nil, err
		}
		if in.has("startDate") {
			// The server's schema is z.date(), which JSON cannot carry.
			return nil, badRequest("startDate: Expected date, received string")
		}
		interval, hasInterval, err := in.str("interval", false)
		if err != nil {
			return nil, err
		}
		if hasInterval && !validInterval(interval) {
			return nil, badRequest("interval: Invalid enum value. Expected 'day' | 'week' | 'month' | 'year', received '%s'", interval)
		}
		intervalCount, hasCount, err := in.integer("intervalCount", false, 1)
		if err != nil {
			return nil, err
		}
		trialEnd, hasTrial, err := in.integer("trialEnd", false, 0)
		if err != nil {
			return nil, err
		}
		metadata, err := in.metadata("metadata", false)
		if err != nil {
			return nil, err
		}
		name, _, err := in.str("name", false)
		if err != nil {
			return nil, err
		}
		defaultPM, hasPM, err := in.str("defaultPaymentMethodId", false)
		if err != nil {
			return nil, err
		}
		backupPM, hasBackup, err := in.str("backupPaymentMethodId", false)
		if err != nil {
			return nil, err
		}
		doNotCharge, _, err := in.boolean("doNotCharge")
		if err != nil {
			return nil, err
		}
		if doNotCharge && (hasPM || hasBackup) {
			return nil, badRequest("Payment method IDs cannot be provided when doNotCharge is true")
		}

		var c *customer
		if custKey == "customerId" {
			if c = f.customerByID(custRef); c != nil && c.archived {
				c = nil
			}
		} else {
			c = f.customerByExternalID(custRef)
		}
		if c == nil {
			return nil, notFound("Customer not found")
		}
		var p *price
		if priceKey == "priceId" {
			p, err = f.resolvePrice(priceRef, "")
		} else {
			p, err = f.resolvePrice("", priceRef)
		}
		if err != nil {
			return nil, err
		}
		if p.typ == PriceSinglePayment {
			return nil, badRequest("Price %s is a single payment price; subscriptions need a subscription or usage price", p.id)
		}
		for _, pmID := range []string{defaultPM, backupPM} {
			if pmID != "" && !c.hasPaymentMethod(pmID) {
				return nil, notFound("Payment method %s not found", pmID)
			}
		}

		s := f.newSubscriptionLocked(f.newIDLocked("sub"), c, []itemSpec{{price: p, quantity: quantity}}, now)
		if hasInterval || hasCount {
			if hasInterval {
				s.interval = interval
			}
			if hasCount {
				s.intervalCount = intervalCount
			}
			s.periodEnd = ptr(addInterval(now, s.interval, s.intervalCount))
		}
		switch {
		case hasTrial && trialEnd > now:
			s.status, s.trialEnd = StatusTrialing, ptr(trialEnd)
		case !hasTrial && p.trialDays > 0:
			s.status, s.trialEnd = StatusTrialing, ptr(addInterval(now, "day", p.trialDays))
		}
		if name != "" {
			s.name = name
		}
		s.metadata = metadata
		if defaultPM != "" {
			s.defaultPM = ptr(defaultPM)
		}
		if doNotCharge {
			s.doNotCharge = true
			for _, it := range s.items {
				it.unitPrice = 0
			}
		}
		f.replaceFreePlansLocked(c, s, now)
		return map[string]any{"subscription": f.subscriptionJSON(s)}, nil
	})
}

func (c *customer) hasPaymentMethod(id string) bool {
	for _, pm := range c.paymentMethods {
		if pm.id == id {
			return true
		}
	}
	return false
}

// replaceFreePlansLocked cancels c's current free-plan subscriptions other
// than by, recording by as their replacement.
func (f *Fake) replaceFreePlansLocked(c *customer, by *subscription, now int64) {
	if by.isFreePlan {
		return
	}
	for _, o := range f.currentSubsOf(c) {
		if o != by && o.isFreePlan {
			o.cancel(now, "upgraded")
			o.replacedBy = ptr(by.id)
		}
	}
}

// timedInput reads a cancel or adjust body: the object at key, whose required
// timing must be one of timings (listed in that order when it is not).
func timedInput(r *http.Request, key string, timings ...string) (obj, string, *apiError) {
	in, err := bodyObject(r, key)
	if err != nil {
		return obj{}, "", err
	}
	timing, _, err := in.str("timing", true)
	if err != nil {
		return obj{}, "", err
	}
	if !slices.Contains(timings, timing) {
		return obj{}, "", badRequest("%stiming: Invalid discriminator value. Expected '%s'", in.path, strings.Join(timings, "' | '"))
	}
	return in, timing, nil
}

// POST /api/v1/subscriptions/{id}/cancel
func (f *Fake) cancelSubscription(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		_, timing, err := timedInput(r, "cancellation", timingEndOfPeriod, timingImmediately)
		if err != nil {
			return nil, err
		}
		s, err := f.subOr404(r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		if s.status == StatusCanceled {
			return nil, badRequest("Subscription %s is already canceled", s.id)
		}
		if timing == timingImmediately {
			s.cancel(now, "customer_request")
			return map[string]any{"subscription": f.subscriptionJSON(s)}, nil
		}
		if !s.renews {
			return nil, badRequest("Subscription %s does not renew; cancel it immediately", s.id)
		}
		if s.status != StatusCancellationScheduled {
			s.statusBeforeCancel = s.status
			s.status = StatusCancellationScheduled
			s.cancelScheduledAt = s.periodEnd
			s.cancellationReason = ptr("customer_request")
			s.updatedAt = now
		}
		return map[string]any{"subscription": f.subscriptionJSON(s)}, nil
	})
}

// POST /api/v1/subscriptions/{id}/uncancel (an empty body is allowed)
func (f *Fake) uncancelSubscription(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		if _, err := parseBody(r, true); err != nil {
			return nil, err
		}
		s, err := f.subOr404(r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		if s.status != StatusCancellationScheduled {
			return nil, badRequest("Subscription %s is not scheduled for cancellation (status %s)", s.id, s.status)
		}
		s.status = s.statusBeforeCancel
		if s.status == "" {
			s.status = StatusActive
		}
		s.cancelScheduledAt, s.cancellationReason = nil, nil
		s.updatedAt = now
		return map[string]any{"subscription": f.subscriptionJSON(s)}, nil
	})
}

// POST /api/v1/subscriptions/{id}/adjust. "auto" resolves to immediately
// for an upgrade (a higher total per period) and to the end of the period
// otherwise. Immediately replaces the items; at the end of the period the
// new items wait in ScheduledItems and scheduledAdjustmentAt is set.
func (f *Fake) adjustSubscription(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		in, timing, err := timedInput(r, "adjustment", timingImmediately, timingEndOfPeriod, timingAuto)
		if err != nil {
			return nil, err
		}
		if _, _, err := in.boolean("prorateCurrentBillingPeriod"); err != nil {
			return nil, err
		}
		specs, err := f.newItemSpecs(in)
		if err != nil {
			return nil, err
		}
		s, err := f.subOr404(r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		if !isCurrent(s.status) {
			return nil, badRequest("Subscription %s is %s and cannot be adjusted", s.id, s.status)
		}
		if !s.renews {
			return nil, badRequest("Subscription %s does not renew and cannot be adjusted", s.id)
		}
		isUpgrade := totalOf(specs) > s.total()
		resolved := timing
		if timing == timingAuto {
			resolved = timingEndOfPeriod
			if isUpgrade {
				resolved = timingImmediately
			}
		}
		if resolved == timingImmediately {
			f.replaceItemsLocked(s, specs, now)
		} else {
			s.pending = specs
			s.scheduledAdjustmentAt = s.periodEnd
			s.updatedAt = now
		}
		return map[string]any{
			"subscription":      f.subscriptionJSON(s),
			"subscriptionItems": f.itemsJSON(s.activeItems()),
			"resolvedTiming":    resolved,
			"isUpgrade":         isUpgrade,
		}, nil
	})
}

// newItemSpecs reads adjustment.newSubscriptionItems: each item names its
// price by priceId or priceSlug (exactly one) and may give a positive
// quantity (default 1).
func (f *Fake) newItemSpecs(in obj) ([]itemSpec, *apiError) {
	arr, err := in.array("newSubscriptionItems")
	if err != nil {
		return nil, err
	}
	if len(arr) == 0 {
		return nil, badRequest("adjustment.newSubscriptionItems: Array must contain at least 1 element(s)")
	}
	var specs []itemSpec
	for i, e := range arr {
		item, err := in.element("newSubscriptionItems", i, e)
		if err != nil {
			return nil, err
		}
		key, ref, q, err := item.priceItem()
		if err != nil {
			return nil, err
		}
		p, err := f.resolvePriceRef(key, ref)
		if err != nil {
			return nil, err
		}
		if p.typ != PriceSubscription {
			return nil, badRequest("Price %s is a %s price; subscription items need subscription prices", p.id, p.typ)
		}
		specs = append(specs, itemSpec{price: p, quantity: q})
	}
	return specs, nil
}
