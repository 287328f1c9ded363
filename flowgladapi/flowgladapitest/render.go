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
