package flowgladapitest

import "encoding/json"

// Wire shapes. Flowglad's response schemas are closed (additionalProperties:
// false) and many keys are required but nullable, so these structs have no
// omitempty except on keys the spec makes optional, and nullable values are
// pointers that marshal as null. One struct serves every variant of a union
// (price, feature, subscription, ...): each key it emits is allowed,
// possibly only as null, in every variant it is used for.

type customerJSON struct {
	ID                string          `json:"id"`
	CreatedAt         int64           `json:"createdAt"`
	UpdatedAt         int64           `json:"updatedAt"`
	Livemode          bool            `json:"livemode"`
	OrganizationID    string          `json:"organizationId"`
	Email             string          `json:"email"`
	Name              string          `json:"name"`
	InvoiceNumberBase *string         `json:"invoiceNumberBase"`
	Archived          bool            `json:"archived"`
	LogoURL           *string         `json:"logoURL"`
	IconURL           *string         `json:"iconURL"`
	Domain            *string         `json:"domain"`
	BillingAddress    json.RawMessage `json:"billingAddress,omitempty"`
	ExternalID        string          `json:"externalId"`
	UserID            *string         `json:"userId"`
	PricingModelID    string          `json:"pricingModelId"`
}

func (f *Fake) customerJSON(c *customer) customerJSON {
	return customerJSON{
		ID: c.id, CreatedAt: c.createdAt, UpdatedAt: c.updatedAt, OrganizationID: organizationID,
		Email: c.email, Name: c.name, InvoiceNumberBase: ptr("FAKE-" + c.id), Archived: c.archived,
		LogoURL: c.logoURL, IconURL: c.iconURL, Domain: c.domain, BillingAddress: c.billingAddress,
		ExternalID: c.externalID, UserID: c.userID, PricingModelID: f.st.pm.id,
	}
}

type priceJSON struct {
	ID                 string  `json:"id"`
	CreatedAt          int64   `json:"createdAt"`
	UpdatedAt          int64   `json:"updatedAt"`
	Livemode           bool    `json:"livemode"`
	IntervalUnit       *string `json:"intervalUnit"`
	Name               *string `json:"name"`
	IntervalCount      *int64  `json:"intervalCount"`
	Type               string  `json:"type"`
	TrialPeriodDays    *int64  `json:"trialPeriodDays"`
	IsDefault          bool    `json:"isDefault"`
	UnitPrice          int64   `json:"unitPrice"`
	UsageEventsPerUnit *int64  `json:"usageEventsPerUnit"`
	ProductID          *string `json:"productId"`
	Active             bool    `json:"active"`
	Currency           string  `json:"currency"`
	Slug               *string `json:"slug"`
	UsageMeterID       *string `json:"usageMeterId"`
	PricingModelID     string  `json:"pricingModelId"`
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (f *Fake) priceJSON(p *price) priceJSON {
	j := priceJSON{
		ID: p.id, CreatedAt: p.createdAt, UpdatedAt: p.createdAt, Name: nonEmpty(p.name), Type: p.typ,
		IsDefault: p.isDefault, UnitPrice: p.unitPrice, Active: true, Currency: p.currency,
		Slug: nonEmpty(p.slug), PricingModelID: f.st.pm.id,
	}
	switch p.typ {
	case PriceSubscription:
		j.IntervalUnit, j.IntervalCount = ptr(p.interval), ptr(p.intervalCount)
		j.ProductID = ptr(p.product.id)
		if p.trialDays > 0 {
			j.TrialPeriodDays = ptr(p.trialDays)
		}
	case PriceSinglePayment:
		j.ProductID = ptr(p.product.id)
	case PriceUsage:
		j.IntervalUnit, j.IntervalCount = ptr(p.interval), ptr(p.intervalCount)
		j.UsageEventsPerUnit = ptr(p.usageEventsPerUnit)
		j.UsageMeterID = ptr(p.meter.id)
	}
	return j
}

type featureJSON struct {
	ID               string  `json:"id"`
	CreatedAt        int64   `json:"createdAt"`
	UpdatedAt        int64   `json:"updatedAt"`
	Livemode         bool    `json:"livemode"`
	OrganizationID   string  `json:"organizationId"`
	Type             string  `json:"type"`
	Slug             string  `json:"slug"`
	Name             string  `json:"name"`
	Description      string  `json:"description"`
	Amount           *int64  `json:"amount"`
	UsageMeterID     *string `json:"usageMeterId"`
	RenewalFrequency *string `json:"renewalFrequency"`
	PricingModelID   string  `json:"pricingModelId"`
	ResourceID       *string `json:"resourceId"`
	Active           bool    `json:"active"`
}

// featureRefs returns the type-specific fields of ft: amount, usage meter
// id, renewal frequency and resource id, nil where the type has none.
func featureRefs(ft *feature) (amount *int64, meterID, renewal, resourceID *string) {
	switch ft.typ {
	case FeatureUsageCreditGrant:
		return ptr(ft.amount), ptr(ft.meter.id), ptr(ft.renewal), nil
	case FeatureResource:
		return ptr(ft.amount), nil, nil, ptr(ft.resource.id)
	}
	return nil, nil, nil, nil
}

func (f *Fake) featureJSON(ft *feature) featureJSON {
	j := featureJSON{
		ID: ft.id, CreatedAt: ft.createdAt, UpdatedAt: ft.createdAt, OrganizationID: organizationID,
		Type: ft.typ, Slug: ft.slug, Name: ft.name, Description: ft.description,
		PricingModelID: f.st.pm.id, Active: true,
	}
	j.Amount, j.UsageMeterID, j.RenewalFrequency, j.ResourceID = featureRefs(ft)
	return j
}

type productJSON struct {
	ID                    string        `json:"id"`
	CreatedAt             int64         `json:"createdAt"`
	UpdatedAt             int64         `json:"updatedAt"`
	Livemode              bool          `json:"livemode"`
	Name                  string        `json:"name"`
	Description           *string       `json:"description"`
	ImageURL              *string       `json:"imageURL"`
	OrganizationID        string        `json:"organizationId"`
	Active                bool          `json:"active"`
	SingularQuantityLabel *string       `json:"singularQuantityLabel"`
	PluralQuantityLabel   *string       `json:"pluralQuantityLabel"`
	PricingModelID        string        `json:"pricingModelId"`
	Default               bool          `json:"default"`
	Slug                  string        `json:"slug"`
	Prices                []priceJSON   `json:"prices"`
	DefaultPrice          priceJSON     `json:"defaultPrice"`
	Features              []featureJSON `json:"features"`
}

func (f *Fake) productJSON(p *product) productJSON {
	j := productJSON{
		ID: p.id, CreatedAt: p.createdAt, UpdatedAt: p.createdAt, Name: p.name,
		Description: nonEmpty(p.description), OrganizationID: organizationID, Active: true,
		PricingModelID: f.st.pm.id, Default: p.isDefault, Slug: p.slug,
		Prices: []priceJSON{}, Features: []featureJSON{},
	}
	for _, pr := range p.prices {
		j.Prices = append(j.Prices, f.priceJSON(pr))
		if pr.isDefault {
			j.DefaultPrice = f.priceJSON(pr)
		}
	}
	for _, ft := range p.features {
		j.Features = append(j.Features, f.featureJSON(ft))
	}
	return j
}

type usageMeterJSON struct {
	ID              string      `json:"id"`
	CreatedAt       int64       `json:"createdAt"`
	UpdatedAt       int64       `json:"updatedAt"`
	Livemode        bool        `json:"livemode"`
	OrganizationID  string      `json:"organizationId"`
	Name            string      `json:"name"`
	PricingModelID  string      `json:"pricingModelId"`
	Slug            string      `json:"slug"`
	AggregationType string      `json:"aggregationType"`
	Prices          []priceJSON `json:"prices"`
	DefaultPrice    *priceJSON  `json:"defaultPrice,omitempty"`
}

type pricingModelJSON struct {
	ID             string           `json:"id"`
	CreatedAt      int64            `json:"createdAt"`
	UpdatedAt      int64            `json:"updatedAt"`
	Livemode       bool             `json:"livemode"`
	OrganizationID string           `json:"organizationId"`
	IsDefault      bool             `json:"isDefault"`
	Name           string           `json:"name"`
	Products       []productJSON    `json:"products"`
	UsageMeters    []usageMeterJSON `json:"usageMeters"`
	DefaultProduct *productJSON     `json:"defaultProduct,omitempty"`
}

func (f *Fake) pricingModelJSON() pricingModelJSON {
	pm := f.st.pm
	j := pricingModelJSON{
		ID: pm.id, CreatedAt: pm.createdAt, UpdatedAt: pm.createdAt, OrganizationID: organizationID,
		IsDefault: true, Name: pm.name, Products: []productJSON{}, UsageMeters: []usageMeterJSON{},
	}
	for _, p := range pm.products {
		pj := f.productJSON(p)
		j.Products = append(j.Products, pj)
		if p.isDefault {
			j.DefaultProduct = &pj
		}
	}
	for _, m := range pm.meters {
		mj := usageMeterJSON{
			ID: m.id, CreatedAt: m.createdAt, UpdatedAt: m.createdAt, OrganizationID: organizationID,
			Name: m.name, PricingModelID: pm.id, Slug: m.slug, AggregationType: m.aggregation,
			Prices: []priceJSON{},
		}
		for _, p := range m.prices {
			mj.Prices = append(mj.Prices, f.priceJSON(p))
			if p.isDefault {
				mj.DefaultPrice = ptr(f.priceJSON(p))
			}
		}
		j.UsageMeters = append(j.UsageMeters, mj)
	}
	return j
}

// subscriptionJSON is SubscriptionClientSelectSchema (both variants).
type subscriptionJSON struct {
	ID                        string         `json:"id"`
	CreatedAt                 int64          `json:"createdAt"`
	UpdatedAt                 int64          `json:"updatedAt"`
	Livemode                  bool           `json:"livemode"`
	StartDate                 int64          `json:"startDate"`
	CustomerID                string         `json:"customerId"`
	OrganizationID            string         `json:"organizationId"`
	Status                    string         `json:"status"`
	DefaultPaymentMethodID    *string        `json:"defaultPaymentMethodId"`
	BackupPaymentMethodID     *string        `json:"backupPaymentMethodId"`
	TrialEnd                  *int64         `json:"trialEnd"`
	CurrentBillingPeriodStart *int64         `json:"currentBillingPeriodStart"`
	CurrentBillingPeriodEnd   *int64         `json:"currentBillingPeriodEnd"`
	Metadata                  map[string]any `json:"metadata"`
	CanceledAt                *int64         `json:"canceledAt"`
	CancelScheduledAt         *int64         `json:"cancelScheduledAt"`
	CancellationReason        *string        `json:"cancellationReason"`
	ReplacedBySubscriptionID  *string        `json:"replacedBySubscriptionId"`
	IsFreePlan                *bool          `json:"isFreePlan"`
	DoNotCharge               *bool          `json:"doNotCharge"`
	PriceID                   string         `json:"priceId"`
	RunBillingAtPeriodStart   *bool          `json:"runBillingAtPeriodStart"`
	Interval                  *string        `json:"interval"`
	IntervalCount             *int64         `json:"intervalCount"`
	BillingCycleAnchorDate    *int64         `json:"billingCycleAnchorDate"`
	Name                      *string        `json:"name"`
	Renews                    bool           `json:"renews"`
	PricingModelID            string         `json:"pricingModelId"`
	ScheduledAdjustmentAt     *int64         `json:"scheduledAdjustmentAt"`
	Current                   bool           `json:"current"`
}

// priceID is the subscription's priceId: its first active item's price (or
// its first item's, once all are expired).
func (s *subscription) priceID() string {
	if items := s.activeItems(); len(items) > 0 {
		return items[0].price.id
	}
	return s.items[0].price.id
}

func (f *Fake) subscriptionJSON(s *subscription) subscriptionJSON {
	j := subscriptionJSON{
		ID: s.id, CreatedAt: s.createdAt, UpdatedAt: s.updatedAt, StartDate: s.startDate,
		CustomerID: s.cust.id, OrganizationID: organizationID, Status: s.status,
		DefaultPaymentMethodID: s.defaultPM, Metadata: s.metadata,
		CanceledAt: s.canceledAt, CancelScheduledAt: s.cancelScheduledAt,
		CancellationReason: s.cancellationReason, ReplacedBySubscriptionID: s.replacedBy,
		IsFreePlan: ptr(s.isFreePlan), DoNotCharge: ptr(s.doNotCharge), PriceID: s.priceID(),
		RunBillingAtPeriodStart: ptr(true), Name: nonEmpty(s.name), Renews: s.renews,
		PricingModelID: f.st.pm.id, ScheduledAdjustmentAt: s.scheduledAdjustmentAt,
		Current: isCurrent(s.status),
	}
	if s.renews {
		j.TrialEnd = s.trialEnd
		j.CurrentBillingPeriodStart, j.CurrentBillingPeriodEnd = s.periodStart, s.periodEnd
		j.Interval, j.IntervalCount = ptr(s.interval), ptr(s.intervalCount)
		j.BillingCycleAnchorDate = ptr(s.startDate)
	}
	return j
}

// subscriptionItemJSON is StaticSubscriptionItemClientSelectSchemaOutput.
type subscriptionItemJSON struct {
	ID              string         `json:"id"`
	CreatedAt       int64          `json:"createdAt"`
	UpdatedAt       int64          `json:"updatedAt"`
	Livemode        bool           `json:"livemode"`
	SubscriptionID  string         `json:"subscriptionId"`
	Name            *string        `json:"name"`
	AddedDate       int64          `json:"addedDate"`
	PriceID         *string        `json:"priceId"`
	UnitPrice       int64          `json:"unitPrice"`
	Quantity        int64          `json:"quantity"`
	Metadata        map[string]any `json:"metadata"`
	Type            string         `json:"type"`
	ExternalID      *string        `json:"externalId"`
	ExpiredAt       *int64         `json:"expiredAt"`
	ManuallyCreated bool           `json:"manuallyCreated"`
	PricingModelID  string         `json:"pricingModelId"`
}

func (f *Fake) subscriptionItemJSON(it *subItem) subscriptionItemJSON {
	return subscriptionItemJSON{
		ID: it.id, CreatedAt: it.createdAt, UpdatedAt: it.updatedAt, SubscriptionID: it.sub.id,
		Name: nonEmpty(it.name), AddedDate: it.addedDate, PriceID: ptr(it.price.id),
		UnitPrice: it.unitPrice, Quantity: it.quantity, Type: "static", ExpiredAt: it.expiredAt,
		PricingModelID: f.st.pm.id,
	}
}

func (f *Fake) itemsJSON(items []*subItem) []subscriptionItemJSON {
	out := []subscriptionItemJSON{}
	for _, it := range items {
		out = append(out, f.subscriptionItemJSON(it))
	}
	return out
}

type subscriptionItemDetailsJSON struct {
	subscriptionItemJSON
	Price priceJSON `json:"price"`
}

type subItemFeatureJSON struct {
	ID                 string  `json:"id"`
	CreatedAt          int64   `json:"createdAt"`
	UpdatedAt          int64   `json:"updatedAt"`
	Livemode           bool    `json:"livemode"`
	SubscriptionItemID string  `json:"subscriptionItemId"`
	FeatureID          string  `json:"featureId"`
	ProductFeatureID   *string `json:"productFeatureId"`
	Type               string  `json:"type"`
	Amount             *int64  `json:"amount"`
	UsageMeterID       *string `json:"usageMeterId"`
	RenewalFrequency   *string `json:"renewalFrequency"`
	ExpiredAt          *int64  `json:"expiredAt"`
	DetachedAt         *int64  `json:"detachedAt"`
	DetachedReason     *string `json:"detachedReason"`
	ManuallyCreated    bool    `json:"manuallyCreated"`
	PricingModelID     string  `json:"pricingModelId"`
	ResourceID         *string `json:"resourceId"`
	Name               string  `json:"name"`
	Slug               string  `json:"slug"`
}

type usageMeterBalanceJSON struct {
	ID               string  `json:"id"`
	CreatedAt        int64   `json:"createdAt"`
	UpdatedAt        int64   `json:"updatedAt"`
	Livemode         bool    `json:"livemode"`
	OrganizationID   string  `json:"organizationId"`
	Name             string  `json:"name"`
	PricingModelID   string  `json:"pricingModelId"`
	Slug             string  `json:"slug"`
	AggregationType  string  `json:"aggregationType"`
	AvailableBalance float64 `json:"availableBalance"`
	SubscriptionID   string  `json:"subscriptionId"`
}

type experimentalJSON struct {
	FeatureItems       []subItemFeatureJSON    `json:"featureItems"`
	UsageMeterBalances []usageMeterBalanceJSON `json:"usageMeterBalances"`
}

type subscriptionDetailsJSON struct {
	subscriptionJSON
	SubscriptionItems []subscriptionItemDetailsJSON `json:"subscriptionItems"`
	Experimental      *experimentalJSON             `json:"experimental,omitempty"`
}

func (f *Fake) subscriptionDetailsJSON(s *subscription) subscriptionDetailsJSON {
	j := subscriptionDetailsJSON{subscriptionJSON: f.subscriptionJSON(s), SubscriptionItems: []subscriptionItemDetailsJSON{}}
	for _, it := range s.activeItems() {
		j.SubscriptionItems = append(j.SubscriptionItems, subscriptionItemDetailsJSON{f.subscriptionItemJSON(it), f.priceJSON(it.price)})
	}
	// Feature items and balances describe what a customer can use now, so
	// only current subscriptions carry them.
	if isCurrent(s.status) {
		j.Experimental = &experimentalJSON{FeatureItems: f.featureItemsJSON(s), UsageMeterBalances: f.balancesJSON(s)}
	}
	return j
}

func (f *Fake) featureItemsJSON(s *subscription) []subItemFeatureJSON {
	out := []subItemFeatureJSON{}
	for _, it := range s.activeItems() {
		for _, sf := range it.features {
			ft := sf.feature
			j := subItemFeatureJSON{
				ID: sf.id, CreatedAt: sf.createdAt, UpdatedAt: sf.createdAt, SubscriptionItemID: it.id,
				FeatureID: ft.id, Type: ft.typ, PricingModelID: f.st.pm.id, Name: ft.name, Slug: ft.slug,
			}
			j.Amount, j.UsageMeterID, j.RenewalFrequency, j.ResourceID = featureRefs(ft)
			out = append(out, j)
		}
	}
	return out
}

// balancesJSON lists a balance for every usage meter of the pricing model.
func (f *Fake) balancesJSON(s *subscription) []usageMeterBalanceJSON {
	out := []usageMeterBalanceJSON{}
	for _, m := range f.st.pm.meters {
		out = append(out, usageMeterBalanceJSON{
			ID: m.id, CreatedAt: m.createdAt, UpdatedAt: m.createdAt, OrganizationID: organizationID,
			Name: m.name, PricingModelID: f.st.pm.id, Slug: m.slug, AggregationType: m.aggregation,
			AvailableBalance: f.balance(s, m), SubscriptionID: s.id,
		})
	}
	return out
}

// invoiceJSON covers the subscription and purchase variants of
// InvoiceRecord.
type invoiceJSON struct {
	ID                     string  `json:"id"`
	CreatedAt              int64   `json:"createdAt"`
	UpdatedAt              int64   `json:"updatedAt"`
	Livemode               bool    `json:"livemode"`
	PurchaseID             *string `json:"purchaseId"`
	InvoiceNumber          string  `json:"invoiceNumber"`
	InvoiceDate            int64   `json:"invoiceDate"`
	BillingPeriodID        *string `json:"billingPeriodId"`
	DueDate                *int64  `json:"dueDate"`
	CustomerID             string  `json:"customerId"`
	OrganizationID         string  `json:"organizationId"`
	Status                 string  `json:"status"`
	SubscriptionID         *string `json:"subscriptionId"`
	BillingRunID           *string `json:"billingRunId"`
	BillingPeriodStartDate *int64  `json:"billingPeriodStartDate"`
	BillingPeriodEndDate   *int64  `json:"billingPeriodEndDate"`
	OwnerMembershipID      *string `json:"ownerMembershipId"`
	PdfURL                 *string `json:"pdfURL"`
	ReceiptPdfURL          *string `json:"receiptPdfURL"`
	Memo                   *string `json:"memo"`
	BankPaymentOnly        *bool   `json:"bankPaymentOnly"`
	Type                   string  `json:"type"`
	Currency               string  `json:"currency"`
	TaxAmount              *int64  `json:"taxAmount"`
	Subtotal               *int64  `json:"subtotal"`
	TaxType                *string `json:"taxType"`
	TaxCountry             *string `json:"taxCountry"`
	TaxState               *string `json:"taxState"`
	TaxRatePercentage      *string `json:"taxRatePercentage"`
	ApplicationFee         *int64  `json:"applicationFee"`
	PricingModelID         string  `json:"pricingModelId"`
}

type lineItemJSON struct {
	ID                  string   `json:"id"`
	CreatedAt           int64    `json:"createdAt"`
	UpdatedAt           int64    `json:"updatedAt"`
	Livemode            bool     `json:"livemode"`
	InvoiceID           string   `json:"invoiceId"`
	Quantity            int64    `json:"quantity"`
	PriceID             *string  `json:"priceId"`
	Description         *string  `json:"description"`
	Price               int64    `json:"price"`
	Type                string   `json:"type"`
	PricingModelID      string   `json:"pricingModelId"`
	LedgerAccountID     *string  `json:"ledgerAccountId"`
	LedgerAccountCredit *float64 `json:"ledgerAccountCredit"`
}

type invoiceWithLinesJSON struct {
	Invoice          invoiceJSON    `json:"invoice"`
	InvoiceLineItems []lineItemJSON `json:"invoiceLineItems"`
}

func (f *Fake) invoiceWithLinesJSON(inv *invoice) invoiceWithLinesJSON {
	var subtotal int64
	lines := []lineItemJSON{}
	for _, li := range inv.lines {
		subtotal += li.amount * li.quantity
		lj := lineItemJSON{
			ID: li.id, CreatedAt: li.createdAt, UpdatedAt: li.createdAt, InvoiceID: inv.id,
			Quantity: li.quantity, Description: nonEmpty(li.description), Price: li.amount,
			Type: "static", PricingModelID: f.st.pm.id,
		}
		if li.price != nil {
			lj.PriceID = ptr(li.price.id)
		}
		lines = append(lines, lj)
	}
	j := invoiceJSON{
		ID: inv.id, CreatedAt: inv.createdAt, UpdatedAt: inv.createdAt, InvoiceNumber: inv.number,
		InvoiceDate: inv.createdAt, DueDate: ptr(inv.createdAt), CustomerID: inv.cust.id,
		OrganizationID: organizationID, Status: inv.status, BankPaymentOnly: ptr(false),
		Currency: "USD", TaxAmount: ptr(int64(0)), Subtotal: ptr(subtotal), PricingModelID: f.st.pm.id,
	}
	if inv.sub != nil {
		j.Type = "subscription"
		j.SubscriptionID = ptr(inv.sub.id)
		j.BillingPeriodID = ptr(inv.sub.billingPeriodID)
		j.BillingPeriodStartDate, j.BillingPeriodEndDate = inv.sub.periodStart, inv.sub.periodEnd
	} else {
		j.Type = "purchase"
		j.PurchaseID = ptr(inv.purchase.id)
	}
	return invoiceWithLinesJSON{Invoice: j, InvoiceLineItems: lines}
}

type addressJSON struct {
	Country string `json:"country"`
}

type billingDetailsJSON struct {
	Name    *string     `json:"name"`
	Email   *string     `json:"email"`
	Address addressJSON `json:"address"`
}

type paymentMethodJSON struct {
	ID                string             `json:"id"`
	CreatedAt         int64              `json:"createdAt"`
	UpdatedAt         int64              `json:"updatedAt"`
	Livemode          bool               `json:"livemode"`
	CustomerID        string             `json:"customerId"`
	PricingModelID    string             `json:"pricingModelId"`
	BillingDetails    billingDetailsJSON `json:"billingDetails"`
	Type              string             `json:"type"`
	Default           bool               `json:"default"`
	PaymentMethodData map[string]any     `json:"paymentMethodData"`
	Metadata          map[string]any     `json:"metadata"`
}

func (f *Fake) paymentMethodJSON(pm *paymentMethod) paymentMethodJSON {
	return paymentMethodJSON{
		ID: pm.id, CreatedAt: pm.createdAt, UpdatedAt: pm.createdAt, CustomerID: pm.cust.id,
		PricingModelID: f.st.pm.id,
		BillingDetails: billingDetailsJSON{Name: ptr(pm.cust.name), Email: ptr(pm.cust.email), Address: addressJSON{Country: "US"}},
		Type:           pm.typ, Default: pm.isDefault,
		PaymentMethodData: map[string]any{"brand": pm.brand, "last4": pm.last4, "exp_month": 12, "exp_year": 2030},
	}
}

type purchaseJSON struct {
	ID                   string         `json:"id"`
	CreatedAt            int64          `json:"createdAt"`
	UpdatedAt            int64          `json:"updatedAt"`
	Livemode             bool           `json:"livemode"`
	Name                 string         `json:"name"`
	Status               string         `json:"status"`
	CustomerID           string         `json:"customerId"`
	OrganizationID       string         `json:"organizationId"`
	BillingCycleAnchor   *int64         `json:"billingCycleAnchor"`
	PriceID              string         `json:"priceId"`
	Quantity             int64          `json:"quantity"`
	PriceType            string         `json:"priceType"`
	TrialPeriodDays      *int64         `json:"trialPeriodDays"`
	PricePerBillingCycle *int64         `json:"pricePerBillingCycle"`
	IntervalUnit         *string        `json:"intervalUnit"`
	IntervalCount        *int64         `json:"intervalCount"`
	FirstInvoiceValue    int64          `json:"firstInvoiceValue"`
	TotalPurchaseValue   *int64         `json:"totalPurchaseValue"`
	BankPaymentOnly      *bool          `json:"bankPaymentOnly"`
	PurchaseDate         *int64         `json:"purchaseDate"`
	EndDate              *int64         `json:"endDate"`
	Proposal             *string        `json:"proposal"`
	Archived             *bool          `json:"archived"`
	Metadata             map[string]any `json:"metadata"`
	PricingModelID       string         `json:"pricingModelId"`
	Position             float64        `json:"position"`
}

func (f *Fake) purchaseJSON(p *purchase, position int) purchaseJSON {
	value := p.price.unitPrice * p.quantity
	j := purchaseJSON{
		ID: p.id, CreatedAt: p.createdAt, UpdatedAt: p.createdAt, Name: p.name, Status: p.status,
		CustomerID: p.cust.id, OrganizationID: organizationID, PriceID: p.price.id, Quantity: p.quantity,
		PriceType: p.price.typ, FirstInvoiceValue: value, BankPaymentOnly: ptr(false),
		PurchaseDate: ptr(p.createdAt), Archived: ptr(false), PricingModelID: f.st.pm.id,
		Position: float64(position),
	}
	if p.price.typ == PriceSubscription {
		j.TrialPeriodDays = ptr(p.price.trialDays)
		j.PricePerBillingCycle = ptr(value)
		j.IntervalUnit, j.IntervalCount = ptr(p.price.interval), ptr(p.price.intervalCount)
		j.BillingCycleAnchor = ptr(p.createdAt)
	} else {
		j.TotalPurchaseValue = ptr(value)
	}
	return j
}

type billingJSON struct {
	Customer             customerJSON              `json:"customer"`
	Subscriptions        []subscriptionDetailsJSON `json:"subscriptions"`
	Invoices             []invoiceWithLinesJSON    `json:"invoices"`
	PaymentMethods       []paymentMethodJSON       `json:"paymentMethods"`
	Purchases            []purchaseJSON            `json:"purchases"`
	CurrentSubscriptions []subscriptionDetailsJSON `json:"currentSubscriptions"`
	// CurrentSubscription is absent (never null) when there is none.
	CurrentSubscription *subscriptionDetailsJSON `json:"currentSubscription,omitempty"`
	Catalog             pricingModelJSON         `json:"catalog"`
	PricingModel        pricingModelJSON         `json:"pricingModel"`
	BillingPortalURL    string                   `json:"billingPortalUrl"`
}

func (f *Fake) billingJSON(c *customer, base string) billingJSON {
	pm := f.pricingModelJSON()
	j := billingJSON{
		Customer: f.customerJSON(c), Subscriptions: []subscriptionDetailsJSON{},
		Invoices: []invoiceWithLinesJSON{}, PaymentMethods: []paymentMethodJSON{},
		Purchases: []purchaseJSON{}, CurrentSubscriptions: []subscriptionDetailsJSON{},
		Catalog: pm, PricingModel: pm, BillingPortalURL: base + "/billing-portal/" + c.id,
	}
	for _, s := range f.subsOf(c) {
		j.Subscriptions = append(j.Subscriptions, f.subscriptionDetailsJSON(s))
	}
	for _, s := range f.currentSubsOf(c) {
		j.CurrentSubscriptions = append(j.CurrentSubscriptions, f.subscriptionDetailsJSON(s))
	}
	if len(j.CurrentSubscriptions) > 0 {
		j.CurrentSubscription = &j.CurrentSubscriptions[0]
	}
	for _, inv := range c.invoices {
		j.Invoices = append(j.Invoices, f.invoiceWithLinesJSON(inv))
	}
	for _, pm := range c.paymentMethods {
		j.PaymentMethods = append(j.PaymentMethods, f.paymentMethodJSON(pm))
	}
	for i, p := range c.purchases {
		j.Purchases = append(j.Purchases, f.purchaseJSON(p, i))
	}
	return j
}

type usageEventJSON struct {
	ID              string         `json:"id"`
	CreatedAt       int64          `json:"createdAt"`
	UpdatedAt       int64          `json:"updatedAt"`
	Livemode        bool           `json:"livemode"`
	CustomerID      string         `json:"customerId"`
	SubscriptionID  string         `json:"subscriptionId"`
	UsageMeterID    string         `json:"usageMeterId"`
	BillingPeriodID *string        `json:"billingPeriodId"`
	Amount          int64          `json:"amount"`
	UsageDate       int64          `json:"usageDate"`
	TransactionID   string         `json:"transactionId"`
	PriceID         string         `json:"priceId"`
	Properties      map[string]any `json:"properties"`
	PricingModelID  string         `json:"pricingModelId"`
}

func (f *Fake) usageEventJSON(e *usageEvent) usageEventJSON {
	return usageEventJSON{
		ID: e.id, CreatedAt: e.createdAt, UpdatedAt: e.createdAt, CustomerID: e.sub.cust.id,
		SubscriptionID: e.sub.id, UsageMeterID: e.meter.id, BillingPeriodID: e.billingPeriodID,
		Amount: e.amount, UsageDate: e.usageDate, TransactionID: e.transactionID,
		PriceID: e.price.id, Properties: e.properties, PricingModelID: f.st.pm.id,
	}
}

type claimJSON struct {
	ID             string         `json:"id"`
	CreatedAt      int64          `json:"createdAt"`
	UpdatedAt      int64          `json:"updatedAt"`
	Livemode       bool           `json:"livemode"`
	OrganizationID string         `json:"organizationId"`
	ResourceID     string         `json:"resourceId"`
	SubscriptionID string         `json:"subscriptionId"`
	PricingModelID string         `json:"pricingModelId"`
	ExternalID     *string        `json:"externalId"`
	ClaimedAt      int64          `json:"claimedAt"`
	ReleasedAt     *int64         `json:"releasedAt"`
	ReleaseReason  *string        `json:"releaseReason"`
	ExpiredAt      *int64         `json:"expiredAt"`
	Metadata       map[string]any `json:"metadata"`
}

func (f *Fake) claimJSON(c *claim) claimJSON {
	return claimJSON{
		ID: c.id, CreatedAt: c.claimedAt, UpdatedAt: c.updatedAt, OrganizationID: organizationID,
		ResourceID: c.resource.id, SubscriptionID: c.sub.id, PricingModelID: f.st.pm.id,
		ExternalID: c.externalID, ClaimedAt: c.claimedAt, ReleasedAt: c.releasedAt,
		ReleaseReason: c.releaseReason, Metadata: c.metadata,
	}
}

func (f *Fake) claimsJSON(cs []*claim) []claimJSON {
	out := []claimJSON{}
	for _, c := range cs {
		out = append(out, f.claimJSON(c))
	}
	return out
}

type resourceUsageDataJSON struct {
	ResourceSlug string `json:"resourceSlug"`
	ResourceID   string `json:"resourceId"`
	Capacity     int64  `json:"capacity"`
	Claimed      int64  `json:"claimed"`
	Available    int64  `json:"available"`
}

func (f *Fake) resourceUsageJSON(s *subscription, r *resource) resourceUsageDataJSON {
	capacity := s.capacity(r)
	claimed := int64(len(f.activeClaims(s, r)))
	available := capacity - claimed
	if available < 0 {
		available = 0
	}
	return resourceUsageDataJSON{ResourceSlug: r.slug, ResourceID: r.id, Capacity: capacity, Claimed: claimed, Available: available}
}

// checkoutSessionJSON covers the product, add_payment_method and
// activate_subscription variants of CheckoutSessionRecord.
type checkoutSessionJSON struct {
	ID                               string         `json:"id"`
	CreatedAt                        int64          `json:"createdAt"`
	UpdatedAt                        int64          `json:"updatedAt"`
	Livemode                         bool           `json:"livemode"`
	PricingModelID                   string         `json:"pricingModelId"`
	Status                           string         `json:"status"`
	PriceID                          *string        `json:"priceId"`
	PurchaseID                       *string        `json:"purchaseId"`
	InvoiceID                        *string        `json:"invoiceId"`
	Quantity                         int64          `json:"quantity"`
	OrganizationID                   string         `json:"organizationId"`
	CustomerName                     *string        `json:"customerName"`
	CustomerEmail                    *string        `json:"customerEmail"`
	CustomerID                       *string        `json:"customerId"`
	PaymentMethodType                *string        `json:"paymentMethodType"`
	DiscountID                       *string        `json:"discountId"`
	SuccessURL                       *string        `json:"successUrl"`
	CancelURL                        *string        `json:"cancelUrl"`
	Type                             string         `json:"type"`
	PreserveBillingCycleAnchor       bool           `json:"preserveBillingCycleAnchor"`
	OutputMetadata                   map[string]any `json:"outputMetadata"`
	OutputName                       *string        `json:"outputName"`
	TargetSubscriptionID             *string        `json:"targetSubscriptionId"`
	AutomaticallyUpdateSubscriptions *bool          `json:"automaticallyUpdateSubscriptions"`
	Expires                          int64          `json:"expires"`
}

func (f *Fake) checkoutSessionJSON(cs *checkoutSession) checkoutSessionJSON {
	j := checkoutSessionJSON{
		ID: cs.id, CreatedAt: cs.createdAt, UpdatedAt: cs.updatedAt, PricingModelID: f.st.pm.id,
		Status: cs.status, Quantity: cs.quantity, OrganizationID: organizationID,
		SuccessURL: ptr(cs.successURL), CancelURL: ptr(cs.cancelURL), Type: cs.typ,
		PreserveBillingCycleAnchor: cs.preserveAnchor, OutputMetadata: cs.outputMetadata,
		OutputName: cs.outputName, Expires: cs.expires,
	}
	if cs.price != nil {
		j.PriceID = ptr(cs.price.id)
	}
	if cs.cust != nil {
		j.CustomerID = ptr(cs.cust.id)
		j.CustomerName, j.CustomerEmail = ptr(cs.cust.name), ptr(cs.cust.email)
	}
	switch cs.typ {
	case CheckoutProduct:
		if cs.purchase != nil {
			j.PurchaseID = ptr(cs.purchase.id)
		}
	case CheckoutAddPaymentMethod:
		if cs.target != nil {
			j.TargetSubscriptionID = ptr(cs.target.id)
		}
		j.AutomaticallyUpdateSubscriptions = cs.autoUpdate
	case CheckoutActivateSubscription:
		j.TargetSubscriptionID = ptr(cs.target.id)
		j.AutomaticallyUpdateSubscriptions = cs.autoUpdate
	}
	return j
}
