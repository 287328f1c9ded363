package flowgladapitest

import (
	"fmt"
	"maps"
	"time"
)

// This file is the Go-side API of the fake: seeding records while it runs
// and reading its state back. Reads return copies; changing them changes
// nothing in the fake.

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func msPtrTime(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return msTime(*ms)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// PricingModelID returns the id of the fake's (only, default) pricing
// model.
func (f *Fake) PricingModelID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.pm.id
}

// checkpointLocked returns a function that puts back the records and the
// id bookkeeping as they are now. An Add* call that fails half-way (a
// customer whose third record is invalid, an id taken before a later check
// fails) uses it, so a refused call leaves no trace and the same call,
// corrected, can be made again with the same explicit ids.
func (f *Fake) checkpointLocked() (restore func()) {
	customers, subs, invoiceNumber := len(f.st.customers), len(f.st.subs), f.st.invoiceNumber
	seq, used := maps.Clone(f.seq), maps.Clone(f.used)
	return func() {
		clear(f.st.customers[customers:])
		f.st.customers = f.st.customers[:customers]
		clear(f.st.subs[subs:])
		f.st.subs = f.st.subs[:subs]
		f.st.invoiceNumber = invoiceNumber
		f.seq, f.used = seq, used
	}
}

// AddCustomer adds a customer with the records it lists, as in a Seed. It
// fails if the external id is taken or a record is invalid. Unlike POST
// /customers it subscribes the customer to nothing it does not list.
func (f *Fake) AddCustomer(c Customer) (Customer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	restore := f.checkpointLocked()
	cu, err := f.addCustomerLocked(c, f.now())
	if err != nil {
		restore()
		return Customer{}, fmt.Errorf("flowgladapitest: %w", err)
	}
	return f.customerOut(cu), nil
}

// AddSubscription adds a subscription for the live customer with external
// id customerExternalID. Other current subscriptions are kept, so this is
// how a test gives a customer several.
func (f *Fake) AddSubscription(customerExternalID string, s Subscription) (Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.customerByExternalID(customerExternalID)
	if c == nil {
		return Subscription{}, fmt.Errorf("flowgladapitest: customer %q not found", customerExternalID)
	}
	sub, err := f.addSubscriptionLocked(c, s, f.now())
	if err != nil {
		return Subscription{}, fmt.Errorf("flowgladapitest: %w", err)
	}
	return f.subscriptionOut(sub), nil
}

// AddPaymentMethod adds a payment method for a customer.
func (f *Fake) AddPaymentMethod(customerExternalID string, pm PaymentMethod) (PaymentMethod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.customerByExternalID(customerExternalID)
	if c == nil {
		return PaymentMethod{}, fmt.Errorf("flowgladapitest: customer %q not found", customerExternalID)
	}
	restore := f.checkpointLocked()
	p, err := f.addPaymentMethodLocked(c, pm, f.now())
	if err != nil {
		restore()
		return PaymentMethod{}, fmt.Errorf("flowgladapitest: %w", err)
	}
	return paymentMethodOut(p), nil
}

// AddPurchase adds a purchase for a customer.
func (f *Fake) AddPurchase(customerExternalID string, p Purchase) (Purchase, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.customerByExternalID(customerExternalID)
	if c == nil {
		return Purchase{}, fmt.Errorf("flowgladapitest: customer %q not found", customerExternalID)
	}
	pu, err := f.addPurchaseLocked(c, p, f.now())
	if err != nil {
		return Purchase{}, fmt.Errorf("flowgladapitest: %w", err)
	}
	return purchaseOut(pu), nil
}

// AddInvoice adds an invoice for a customer.
func (f *Fake) AddInvoice(customerExternalID string, inv Invoice) (Invoice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.customerByExternalID(customerExternalID)
	if c == nil {
		return Invoice{}, fmt.Errorf("flowgladapitest: customer %q not found", customerExternalID)
	}
	restore := f.checkpointLocked()
	in, err := f.addInvoiceLocked(c, inv, f.now())
	if err != nil {
		restore()
		return Invoice{}, fmt.Errorf("flowgladapitest: %w", err)
	}
	return invoiceOut(in), nil
}

// SetSubscriptionStatus forces a subscription's status, e.g. to past_due
// or canceled, to reach states the API cannot. Setting canceled stamps
// canceledAt; setting cancellation_scheduled schedules the cancellation for
// the end of the period.
func (f *Fake) SetSubscriptionStatus(id, status string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.notifyLocked(f.snapshotLocked())
	s := f.subByID(id)
	if s == nil {
		return fmt.Errorf("flowgladapitest: subscription %q not found", id)
	}
	if s.renews && !validStandardStatus(status) ||
		!s.renews && status != StatusActive && status != StatusCanceled && status != StatusCreditTrial {
		return fmt.Errorf("flowgladapitest: status %q is not allowed for subscription %q", status, id)
	}
	now := f.now()
	switch status {
	case StatusCanceled:
		s.cancel(now, "")
		return nil
	case StatusCancellationScheduled:
		// Uncancel goes back to the status before the first scheduling; a
		// subscription that was not current (canceled, say) goes back to
		// active, and is no longer canceled.
		switch {
		case s.status == StatusCancellationScheduled:
		case isCurrent(s.status):
			s.statusBeforeCancel = s.status
		default:
			s.statusBeforeCancel = StatusActive
		}
		s.cancelScheduledAt, s.canceledAt = s.periodEnd, nil
	default:
		s.cancelScheduledAt, s.canceledAt = nil, nil
	}
	s.status, s.updatedAt = status, now
	return nil
}

// Customer returns the live (not archived) customer with the given
// external id, with its records.
func (f *Fake) Customer(externalID string) (Customer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.customerByExternalID(externalID)
	if c == nil {
		return Customer{}, false
	}
	return f.customerOut(c), true
}

// Customers returns every customer, archived ones included, in creation
// order.
func (f *Fake) Customers() []Customer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyAll(f.st.customers, f.customerOut)
}

// Subscription returns the subscription with the given id.
func (f *Fake) Subscription(id string) (Subscription, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.subByID(id)
	if s == nil {
		return Subscription{}, false
	}
	return f.subscriptionOut(s), true
}

// UsageEvents returns every recorded usage event, oldest first (an event
// sent again with the same transactionId appears once).
func (f *Fake) UsageEvents() []UsageEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyAll(f.st.events, usageEventOut)
}

// usageEventOut is the copy of e that UsageEvents hands out.
func usageEventOut(e *usageEvent) UsageEvent {
	return UsageEvent{
		ID: e.id, CustomerID: e.sub.cust.id, SubscriptionID: e.sub.id, UsageMeterID: e.meter.id,
		UsageMeterSlug: e.meter.slug, PriceID: e.price.id, TransactionID: e.transactionID,
		Amount: e.amount, UsageDate: msTime(e.usageDate), Properties: maps.Clone(e.properties),
	}
}

// UsageBalance returns a subscription's available balance on the usage
// meter with the given slug: the credits its items grant minus the usage
// recorded.
func (f *Fake) UsageBalance(subscriptionID, meterSlug string) (float64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, m := f.subByID(subscriptionID), f.meterBySlug(meterSlug)
	if s == nil || m == nil {
		return 0, false
	}
	return f.balance(s, m), true
}

// Claims returns a subscription's active (unreleased) resource claims,
// oldest first.
func (f *Fake) Claims(subscriptionID string) []Claim {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Claim
	for _, c := range f.st.claims {
		if c.sub.id != subscriptionID || c.releasedAt != nil {
			continue
		}
		out = append(out, Claim{
			ID: c.id, SubscriptionID: c.sub.id, ResourceID: c.resource.id, ResourceSlug: c.resource.slug,
			ExternalID: deref(c.externalID), Metadata: maps.Clone(c.metadata), ClaimedAt: msTime(c.claimedAt),
			ReleasedAt: msPtrTime(c.releasedAt),
		})
	}
	return out
}

// CheckoutSessions returns every checkout session, oldest first.
func (f *Fake) CheckoutSessions() []CheckoutSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyAll(f.st.sessions, checkoutSessionOut)
}

// checkoutSessionOut is the copy of cs that CheckoutSessions hands out.
func checkoutSessionOut(cs *checkoutSession) CheckoutSession {
	o := CheckoutSession{
		ID: cs.id, Type: cs.typ, Status: cs.status, Quantity: cs.quantity,
		SuccessURL: cs.successURL, CancelURL: cs.cancelURL, URL: cs.url,
		OutputName: deref(cs.outputName), OutputMetadata: maps.Clone(cs.outputMetadata), Result: cs.result,
	}
	if cs.cust != nil {
		o.CustomerID, o.CustomerExternalID = cs.cust.id, cs.cust.externalID
	}
	if cs.price != nil {
		o.PriceID = cs.price.id
	}
	if cs.target != nil {
		o.TargetSubscriptionID = cs.target.id
	}
	return o
}

// copyAll returns out(x) for each x of items, in order, never nil (so an
// empty list renders as []): the copies the accessors hand out of the fake's
// records, and the JSON of lists (the caller holds f.mu).
func copyAll[T, U any](items []T, out func(T) U) []U {
	res := make([]U, 0, len(items))
	for _, x := range items {
		res = append(res, out(x))
	}
	return res
}

func (f *Fake) customerOut(c *customer) Customer {
	out := Customer{ID: c.id, ExternalID: c.externalID, Email: c.email, Name: c.name, Archived: c.archived}
	for _, s := range f.subsOf(c) {
		out.Subscriptions = append(out.Subscriptions, f.subscriptionOut(s))
	}
	for _, pm := range c.paymentMethods {
		out.PaymentMethods = append(out.PaymentMethods, paymentMethodOut(pm))
	}
	for _, p := range c.purchases {
		out.Purchases = append(out.Purchases, purchaseOut(p))
	}
	for _, inv := range c.invoices {
		out.Invoices = append(out.Invoices, invoiceOut(inv))
	}
	return out
}

func itemOut(p *price, id string, q int64) SubscriptionItem {
	return SubscriptionItem{ID: id, PriceID: p.id, PriceSlug: p.slug, Quantity: q}
}

func (f *Fake) subscriptionOut(s *subscription) Subscription {
	out := Subscription{
		ID: s.id, CustomerID: s.cust.id, Status: s.status, NonRenewing: !s.renews, Name: s.name,
		DefaultPaymentMethodID: deref(s.defaultPM), Metadata: maps.Clone(s.metadata),
		Interval: s.interval, IntervalCount: s.intervalCount, StartDate: msTime(s.startDate),
		CurrentPeriodStart: msPtrTime(s.periodStart), CurrentPeriodEnd: msPtrTime(s.periodEnd),
		CanceledAt: msPtrTime(s.canceledAt), CancelScheduledAt: msPtrTime(s.cancelScheduledAt),
		ScheduledAdjustmentAt:    msPtrTime(s.scheduledAdjustmentAt),
		ReplacedBySubscriptionID: deref(s.replacedBy),
	}
	for _, it := range s.activeItems() {
		out.Items = append(out.Items, itemOut(it.price, it.id, it.quantity))
	}
	for _, sp := range s.pending {
		out.ScheduledItems = append(out.ScheduledItems, itemOut(sp.price, "", sp.quantity))
	}
	return out
}

func paymentMethodOut(pm *paymentMethod) PaymentMethod {
	return PaymentMethod{ID: pm.id, Type: pm.typ, Default: pm.isDefault, Brand: pm.brand, Last4: pm.last4}
}

func purchaseOut(p *purchase) Purchase {
	return Purchase{ID: p.id, PriceID: p.price.id, PriceSlug: p.price.slug, Quantity: p.quantity, Status: p.status, Name: p.name}
}

func invoiceOut(inv *invoice) Invoice {
	out := Invoice{ID: inv.id, Number: inv.number, Status: inv.status, PaymentID: inv.paymentID}
	if inv.sub != nil {
		out.SubscriptionID = inv.sub.id
	}
	if inv.purchase != nil {
		out.PurchaseID = inv.purchase.id
	}
	for _, li := range inv.lines {
		l := InvoiceLineItem{ID: li.id, Description: li.description, Quantity: li.quantity, Price: li.amount}
		if li.price != nil {
			l.PriceID, l.PriceSlug = li.price.id, li.price.slug
		}
		out.LineItems = append(out.LineItems, l)
	}
	return out
}
