package flowgladapitest

import (
	"errors"
	"fmt"
)

// addCustomerLocked creates a customer and its seeded records.
func (f *Fake) addCustomerLocked(cs Customer, now int64) (*customer, error) {
	if cs.ExternalID == "" {
		return nil, errors.New("a customer has no external id")
	}
	if f.customerByExternalID(cs.ExternalID) != nil {
		return nil, fmt.Errorf("customer %q already exists", cs.ExternalID)
	}
	id, err := f.idLocked("cus", cs.ID)
	if err != nil {
		return nil, err
	}
	c := &customer{id: id, externalID: cs.ExternalID, email: cs.Email, name: cs.Name, createdAt: now, updatedAt: now}
	if c.name == "" {
		c.name = cs.ExternalID
	}
	if c.email == "" {
		c.email = cs.ExternalID + "@example.com"
	}
	f.st.customers = append(f.st.customers, c)
	for _, pm := range cs.PaymentMethods {
		if _, err := f.addPaymentMethodLocked(c, pm, now); err != nil {
			return nil, fmt.Errorf("customer %q: %w", cs.ExternalID, err)
		}
	}
	for _, ss := range cs.Subscriptions {
		if _, err := f.addSubscriptionLocked(c, ss, now); err != nil {
			return nil, fmt.Errorf("customer %q: %w", cs.ExternalID, err)
		}
	}
	for _, ps := range cs.Purchases {
		if _, err := f.addPurchaseLocked(c, ps, now); err != nil {
			return nil, fmt.Errorf("customer %q: %w", cs.ExternalID, err)
		}
	}
	for _, is := range cs.Invoices {
		if _, err := f.addInvoiceLocked(c, is, now); err != nil {
			return nil, fmt.Errorf("customer %q: %w", cs.ExternalID, err)
		}
	}
	return c, nil
}

func (f *Fake) addPaymentMethodLocked(c *customer, ps PaymentMethod, now int64) (*paymentMethod, error) {
	id, err := f.idLocked("pmeth", ps.ID)
	if err != nil {
		return nil, err
	}
	pm := &paymentMethod{id: id, cust: c, typ: ps.Type, isDefault: ps.Default, brand: ps.Brand, last4: ps.Last4, createdAt: now}
	if pm.typ == "" {
		pm.typ = "card"
	}
	switch pm.typ {
	case "card", "link", "us_bank_account", "sepa_debit":
	default:
		return nil, fmt.Errorf("payment method: unknown type %q", pm.typ)
	}
	if pm.brand == "" {
		pm.brand = "visa"
	}
	if pm.last4 == "" {
		pm.last4 = "4242"
	}
	if len(c.paymentMethods) == 0 {
		pm.isDefault = true
	}
	if pm.isDefault {
		for _, o := range c.paymentMethods {
			o.isDefault = false
		}
	}
	c.paymentMethods = append(c.paymentMethods, pm)
	return pm, nil
}

// itemSpecs resolves a Subscription's items to prices and quantities.
func (f *Fake) itemSpecs(items []SubscriptionItem) ([]itemSpec, error) {
	if len(items) == 0 {
		return nil, errors.New("subscription has no items")
	}
	var out []itemSpec
	for _, it := range items {
		if (it.PriceID == "") == (it.PriceSlug == "") {
			return nil, errors.New("subscription item: give exactly one of PriceID and PriceSlug")
		}
		p, err := f.resolvePrice(it.PriceID, it.PriceSlug)
		if err != nil {
			return nil, err
		}
		if p.typ == PriceSinglePayment {
			return nil, fmt.Errorf("price %q is a single payment price, not a subscription price", p.slug)
		}
		q := it.Quantity
		if q == 0 {
			q = 1
		}
		if q < 0 {
			return nil, errors.New("subscription item: negative quantity")
		}
		out = append(out, itemSpec{price: p, quantity: q})
	}
	return out, nil
}

func (f *Fake) addSubscriptionLocked(c *customer, ss Subscription, now int64) (*subscription, error) {
	specs, err := f.itemSpecs(ss.Items)
	if err != nil {
		return nil, err
	}
	status := ss.Status
	first := specs[0].price
	if status == "" {
		status = StatusActive
		if first.trialDays > 0 && !ss.NonRenewing {
			status = StatusTrialing
		}
	}
	if ss.NonRenewing {
		if status != StatusActive && status != StatusCanceled && status != StatusCreditTrial {
			return nil, fmt.Errorf("non-renewing subscription: status %q is not allowed", status)
		}
	} else if !validStandardStatus(status) {
		return nil, fmt.Errorf("subscription: unknown status %q", status)
	}
	id, err := f.idLocked("sub", ss.ID)
	if err != nil {
		return nil, err
	}
	s := f.newSubscriptionLocked(id, c, specs, now)
	s.status = status
	if ss.NonRenewing {
		s.renews = false
		s.interval, s.intervalCount = "", 0
		s.periodStart, s.periodEnd, s.trialEnd = nil, nil, nil
	} else if status == StatusTrialing {
		s.trialEnd = ptr(addInterval(now, "day", first.trialDays))
	}
	if status == StatusCanceled {
		s.canceledAt = ptr(now)
	}
	if status == StatusCancellationScheduled {
		s.cancelScheduledAt = s.periodEnd
		s.statusBeforeCancel = StatusActive
	}
	if ss.Name != "" {
		s.name = ss.Name
	}
	s.metadata = ss.Metadata
	if ss.DefaultPaymentMethodID != "" {
		s.defaultPM = ptr(ss.DefaultPaymentMethodID)
	}
	return s, nil
}

func validStandardStatus(s string) bool {
	switch s {
	case StatusTrialing, StatusActive, StatusPastDue, StatusUnpaid, StatusCancellationScheduled,
		StatusIncomplete, StatusIncompleteExpired, StatusCanceled, StatusPaused:
		return true
	}
	return false
}

// newSubscriptionLocked creates an active renewing subscription on specs,
// with its items and their feature items.
func (f *Fake) newSubscriptionLocked(id string, c *customer, specs []itemSpec, now int64) *subscription {
	first := specs[0].price
	s := &subscription{
		id: id, seq: len(f.st.subs) + 1, cust: c, status: StatusActive, renews: true,
		interval: first.interval, intervalCount: first.intervalCount,
		startDate: now, createdAt: now, updatedAt: now,
		billingPeriodID: f.newIDLocked("bp"),
	}
	if s.interval == "" {
		s.interval, s.intervalCount = "month", 1
	}
	s.periodStart = ptr(now)
	s.periodEnd = ptr(addInterval(now, s.interval, s.intervalCount))
	s.name = productName(first)
	s.isFreePlan = totalOf(specs) == 0
	for _, pm := range c.paymentMethods {
		if pm.isDefault {
			s.defaultPM = ptr(pm.id)
		}
	}
	f.st.subs = append(f.st.subs, s)
	f.addItemsLocked(s, specs, now)
	return s
}

func productName(p *price) string {
	if p.product != nil {
		return p.product.name
	}
	if p.meter != nil {
		return p.meter.name
	}
	return p.name
}

func totalOf(specs []itemSpec) int64 {
	var t int64
	for _, sp := range specs {
		t += sp.price.unitPrice * sp.quantity
	}
	return t
}

// addItemsLocked adds items for specs, with a feature item for each
// feature of the price's product.
func (f *Fake) addItemsLocked(s *subscription, specs []itemSpec, now int64) {
	for _, sp := range specs {
		it := &subItem{
			id: f.newIDLocked("si"), sub: s, price: sp.price, name: sp.price.name,
			quantity: sp.quantity, unitPrice: sp.price.unitPrice,
			addedDate: now, createdAt: now, updatedAt: now,
		}
		if it.name == "" {
			it.name = productName(sp.price)
		}
		if sp.price.product != nil {
			for _, ft := range sp.price.product.features {
				it.features = append(it.features, &subItemFeature{id: f.newIDLocked("sif"), item: it, feature: ft, createdAt: now})
			}
		}
		s.items = append(s.items, it)
	}
	s.updatedAt = now
}

// replaceItemsLocked expires s's items and adds specs in their place.
func (f *Fake) replaceItemsLocked(s *subscription, specs []itemSpec, now int64) {
	for _, it := range s.activeItems() {
		it.expiredAt = ptr(now)
		it.updatedAt = now
	}
	f.addItemsLocked(s, specs, now)
	s.name = productName(specs[0].price)
	s.isFreePlan = totalOf(specs) == 0
	s.pending = nil
	s.scheduledAdjustmentAt = nil
}

func (f *Fake) addPurchaseLocked(c *customer, ps Purchase, now int64) (*purchase, error) {
	if (ps.PriceID == "") == (ps.PriceSlug == "") {
		return nil, errors.New("purchase: give exactly one of PriceID and PriceSlug")
	}
	p, aerr := f.resolvePrice(ps.PriceID, ps.PriceSlug)
	if aerr != nil {
		return nil, aerr
	}
	if p.typ == PriceSubscription && p.unitPrice == 0 {
		// Flowglad's subscription purchase needs pricePerBillingCycle > 0.
		return nil, fmt.Errorf("purchase: price %q is free", p.slug)
	}
	id, err := f.idLocked("pur", ps.ID)
	if err != nil {
		return nil, err
	}
	pu := &purchase{id: id, cust: c, price: p, name: ps.Name, quantity: ps.Quantity, status: ps.Status, createdAt: now}
	if pu.quantity <= 0 {
		pu.quantity = 1
	}
	if pu.status == "" {
		pu.status = "paid"
	}
	if pu.name == "" {
		pu.name = productName(p)
	}
	c.purchases = append(c.purchases, pu)
	return pu, nil
}

func (f *Fake) addInvoiceLocked(c *customer, is Invoice, now int64) (*invoice, error) {
	if (is.SubscriptionID == "") == (is.PurchaseID == "") {
		return nil, errors.New("invoice: give exactly one of SubscriptionID and PurchaseID")
	}
	id, err := f.idLocked("inv", is.ID)
	if err != nil {
		return nil, err
	}
	f.st.invoiceNumber++
	inv := &invoice{id: id, cust: c, number: is.Number, status: is.Status, createdAt: now}
	if inv.number == "" {
		inv.number = fmt.Sprintf("FAKE-%04d", f.st.invoiceNumber)
	}
	if inv.status == "" {
		inv.status = "paid"
	}
	if is.SubscriptionID != "" {
		inv.sub = f.subByID(is.SubscriptionID)
		if inv.sub == nil || inv.sub.cust != c {
			return nil, fmt.Errorf("invoice: subscription %q is not this customer's", is.SubscriptionID)
		}
		if !inv.sub.renews {
			return nil, fmt.Errorf("invoice: subscription %q does not renew (no billing period)", is.SubscriptionID)
		}
	} else {
		for _, p := range c.purchases {
			if p.id == is.PurchaseID {
				inv.purchase = p
			}
		}
		if inv.purchase == nil {
			return nil, fmt.Errorf("invoice: purchase %q is not this customer's", is.PurchaseID)
		}
	}
	if len(is.LineItems) == 0 {
		if inv.sub != nil {
			for _, it := range inv.sub.activeItems() {
				inv.lines = append(inv.lines, &lineItem{id: f.newIDLocked("ili"), description: it.name, price: it.price, quantity: it.quantity, amount: it.unitPrice, createdAt: now})
			}
		} else {
			p := inv.purchase
			inv.lines = append(inv.lines, &lineItem{id: f.newIDLocked("ili"), description: p.name, price: p.price, quantity: p.quantity, amount: p.price.unitPrice, createdAt: now})
		}
	}
	for _, ls := range is.LineItems {
		li := &lineItem{id: f.newIDLocked("ili"), description: ls.Description, quantity: ls.Quantity, amount: ls.Price, createdAt: now}
		if li.quantity == 0 {
			li.quantity = 1
		}
		if ls.PriceID != "" || ls.PriceSlug != "" {
			p, err := f.resolvePrice(ls.PriceID, ls.PriceSlug)
			if err != nil {
				return nil, err
			}
			li.price = p
		}
		inv.lines = append(inv.lines, li)
	}
	c.invoices = append(c.invoices, inv)
	return inv, nil
}
