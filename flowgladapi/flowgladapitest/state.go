package flowgladapitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// state is everything the fake knows. It is guarded by Fake.mu; every
// timestamp is epoch milliseconds.
type state struct {
	pm            *pricingModel
	customers     []*customer // creation order, archived ones included
	subs          []*subscription
	events        []*usageEvent
	claims        []*claim
	sessions      []*checkoutSession
	invoiceNumber int
}

type pricingModel struct {
	id, name  string
	createdAt int64
	meters    []*usageMeter
	resources []*resource
	features  []*feature
	products  []*product
}

type product struct {
	id, slug, name, description string
	isDefault                   bool
	createdAt                   int64
	prices                      []*price
	features                    []*feature
}

type price struct {
	id, slug, name     string
	typ                string
	unitPrice          int64
	currency           string
	interval           string
	intervalCount      int64
	trialDays          int64
	usageEventsPerUnit int64
	isDefault          bool
	createdAt          int64
	product            *product    // subscription and single_payment prices
	meter              *usageMeter // usage prices
}

type usageMeter struct {
	id, slug, name, aggregation string
	createdAt                   int64
	prices                      []*price
}

type resource struct {
	id, slug, name string
	createdAt      int64
}

type feature struct {
	id, slug, name, description, typ string
	amount                           int64
	renewal                          string
	meter                            *usageMeter
	resource                         *resource
	createdAt                        int64
}

type customer struct {
	id, externalID, email, name string
	archived                    bool
	logoURL, iconURL, domain    *string
	userID                      *string
	billingAddress              json.RawMessage
	createdAt, updatedAt        int64
	paymentMethods              []*paymentMethod
	purchases                   []*purchase
	invoices                    []*invoice
}

type subscription struct {
	id                     string
	seq                    int // creation order, to sort ties on createdAt
	cust                   *customer
	status                 string
	renews                 bool
	interval               string
	intervalCount          int64
	name                   string
	startDate              int64
	createdAt, updatedAt   int64
	trialEnd               *int64
	periodStart, periodEnd *int64
	billingPeriodID        string
	canceledAt             *int64
	cancelScheduledAt      *int64
	scheduledAdjustmentAt  *int64
	cancellationReason     *string
	replacedBy             *string
	statusBeforeCancel     string
	defaultPM              *string
	isFreePlan             bool
	doNotCharge            bool
	metadata               map[string]any
	items                  []*subItem // every item, expired ones included
	pending                []itemSpec // end-of-period adjustment
}

type subItem struct {
	id                   string
	sub                  *subscription
	price                *price
	name                 string
	quantity, unitPrice  int64
	addedDate            int64
	createdAt, updatedAt int64
	expiredAt            *int64
	features             []*subItemFeature
}

type subItemFeature struct {
	id        string
	item      *subItem
	feature   *feature
	createdAt int64
}

type paymentMethod struct {
	id           string
	cust         *customer
	typ          string
	isDefault    bool
	brand, last4 string
	createdAt    int64
}

type purchase struct {
	id        string
	cust      *customer
	price     *price
	name      string
	quantity  int64
	status    string
	createdAt int64
}

type invoice struct {
	id        string
	cust      *customer
	number    string
	status    string
	sub       *subscription
	purchase  *purchase
	lines     []*lineItem
	createdAt int64
}

type lineItem struct {
	id          string
	description string
	price       *price
	quantity    int64
	amount      int64
	createdAt   int64
}

type usageEvent struct {
	id              string
	sub             *subscription
	meter           *usageMeter
	price           *price
	amount          int64
	usageDate       int64
	transactionID   string
	properties      map[string]any
	billingPeriodID *string
	createdAt       int64
}

type claim struct {
	id            string
	sub           *subscription
	resource      *resource
	externalID    *string
	metadata      map[string]any
	claimedAt     int64
	releasedAt    *int64
	releaseReason *string
	updatedAt     int64
}

type checkoutSession struct {
	id                 string
	typ                string
	status             string
	cust               *customer // nil for anonymous sessions
	price              *price
	quantity           int64
	target             *subscription
	autoUpdate         *bool
	preserveAnchor     bool
	successURL         string
	cancelURL          string
	url                string
	outputName         *string
	outputMetadata     map[string]any
	purchase           *purchase
	invoice            *invoice
	result             string
	createdAt, expires int64
	updatedAt          int64
}

// itemSpec is a subscription item to create: a price and a quantity.
type itemSpec struct {
	price    *price
	quantity int64
}

// now is the fake's clock in epoch milliseconds.
func (f *Fake) now() int64 { return f.clock().UnixMilli() }

// newIDLocked returns prefix_N for the next unused N.
func (f *Fake) newIDLocked(prefix string) string {
	for {
		f.seq[prefix]++
		id := prefix + "_" + strconv.Itoa(f.seq[prefix])
		if !f.used[id] {
			f.used[id] = true
			return id
		}
	}
}

// idLocked returns want when given (it must be unused) or a new id.
func (f *Fake) idLocked(prefix, want string) (string, error) {
	if want == "" {
		return f.newIDLocked(prefix), nil
	}
	if f.used[want] {
		return "", fmt.Errorf("id %q is used twice", want)
	}
	f.used[want] = true
	return want, nil
}

func isCurrent(status string) bool {
	switch status {
	case StatusActive, StatusTrialing, StatusPastDue, StatusCancellationScheduled, StatusCreditTrial:
		return true
	}
	return false
}

func validInterval(s string) bool {
	switch s {
	case "day", "week", "month", "year":
		return true
	}
	return false
}

// addInterval returns t (ms) moved n intervals later.
func addInterval(t int64, interval string, n int64) int64 {
	tm := time.UnixMilli(t).UTC()
	switch interval {
	case "day":
		tm = tm.AddDate(0, 0, int(n))
	case "week":
		tm = tm.AddDate(0, 0, 7*int(n))
	case "year":
		tm = tm.AddDate(int(n), 0, 0)
	default:
		tm = tm.AddDate(0, int(n), 0)
	}
	return tm.UnixMilli()
}

func ptr[T any](v T) *T { return &v }

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
		if ms.Slug == "" {
			return errors.New("a usage meter has no slug")
		}
		if f.meterBySlug(ms.Slug) != nil {
			return fmt.Errorf("usage meter slug %q is used twice", ms.Slug)
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
		if rs.Slug == "" {
			return errors.New("a resource has no slug")
		}
		if f.resourceBySlug(rs.Slug) != nil {
			return fmt.Errorf("resource slug %q is used twice", rs.Slug)
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
		if ps.Slug == "" {
			return errors.New("a product has no slug")
		}
		if f.productBySlug(ps.Slug) != nil {
			return fmt.Errorf("product slug %q is used twice", ps.Slug)
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
	if fs.Slug == "" {
		return errors.New("a feature has no slug")
	}
	if f.featureBySlug(fs.Slug) != nil {
		return fmt.Errorf("feature slug %q is used twice", fs.Slug)
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
