package flowgladapitest

import "time"

// Seed is the initial state of a Fake: one pricing model (the
// organization's default) and the customers with their billing records.
//
// Records refer to each other by slug (prices, features, meters, resources)
// or by the IDs given in the seed (subscriptions, purchases). An empty ID is
// generated as prefix + counter ("cus_1", "sub_2", ...), in seed order, so a
// given seed always yields the same IDs.
type Seed struct {
	PricingModel PricingModel
	Customers    []Customer
}

// PricingModel is the catalog: products with their prices and features,
// usage meters with their usage prices, and resources.
type PricingModel struct {
	ID   string // default "pm_1"
	Name string // default "Default"
	// UsageMeters, Resources and Features are declared once and referred to
	// by slug from features and products.
	UsageMeters []UsageMeter
	Resources   []Resource
	Features    []Feature
	Products    []Product
}

// Product is a catalog product. It needs at least one price.
type Product struct {
	ID          string
	Slug        string
	Name        string
	Description string
	// Default marks the default product (at most one): a customer created
	// through the API is subscribed to its default price, as Flowglad does
	// with a free plan.
	Default bool
	// Features lists slugs of PricingModel.Features granted by this
	// product.
	Features []string
	// Prices are subscription or single_payment prices; the first one (or
	// the one marked Default) is the product's default price.
	Prices []Price
}

// Price types.
const (
	PriceSubscription  = "subscription"
	PriceSinglePayment = "single_payment"
	PriceUsage         = "usage"
)

// Price is a product price or a usage meter's price.
type Price struct {
	ID   string
	Slug string
	Name string
	// Type is PriceSubscription (default for product prices),
	// PriceSinglePayment, or PriceUsage (the only type, and the default, for
	// usage meter prices).
	Type string
	// UnitPrice is in the currency's minor unit (cents).
	UnitPrice int64
	Currency  string // default "USD"
	// Interval ("day", "week", "month", "year"; default "month") and
	// IntervalCount (default 1) apply to subscription and usage prices.
	Interval      string
	IntervalCount int64
	// TrialPeriodDays, when positive, starts subscriptions in "trialing".
	TrialPeriodDays int64
	// UsageEventsPerUnit applies to usage prices (default 1).
	UsageEventsPerUnit int64
	Default            bool
}

// Aggregation types of a usage meter.
const (
	AggregationSum                     = "sum"
	AggregationCountDistinctProperties = "count_distinct_properties"
)

// UsageMeter is a usage meter. A meter without prices gets a $0 usage
// price with slug "<meter slug>_no_charge", because every usage event must
// be tied to a price.
type UsageMeter struct {
	ID              string
	Slug            string
	Name            string
	AggregationType string // default AggregationSum
	Prices          []Price
}

// Resource is a claimable resource (seats, projects, ...). Capacity comes
// from resource features.
type Resource struct {
	ID   string
	Slug string
	Name string
}

// Feature types.
const (
	FeatureToggle           = "toggle"
	FeatureUsageCreditGrant = "usage_credit_grant"
	FeatureResource         = "resource"
)

// Renewal frequencies of a usage credit grant.
const (
	RenewOnce               = "once"
	RenewEveryBillingPeriod = "every_billing_period"
)

// Feature is a product feature.
//
//   - FeatureToggle: on or off.
//   - FeatureUsageCreditGrant: Amount credits on UsageMeter (a slug),
//     RenewalFrequency RenewOnce or RenewEveryBillingPeriod (the default).
//   - FeatureResource: Amount units of Resource (a slug) per unit of the
//     subscription item's quantity.
type Feature struct {
	ID               string
	Slug             string
	Name             string
	Description      string
	Type             string
	Amount           int64
	UsageMeter       string
	RenewalFrequency string
	Resource         string
}

// Subscription statuses. A subscription is current when its status is
// active, trialing, past_due, cancellation_scheduled or credit_trial.
const (
	StatusActive                = "active"
	StatusTrialing              = "trialing"
	StatusPastDue               = "past_due"
	StatusUnpaid                = "unpaid"
	StatusCancellationScheduled = "cancellation_scheduled"
	StatusIncomplete            = "incomplete"
	StatusIncompleteExpired     = "incomplete_expired"
	StatusCanceled              = "canceled"
	StatusPaused                = "paused"
	StatusCreditTrial           = "credit_trial"
)

// Customer is a Flowglad customer and, when seeding or read back, its
// billing records.
type Customer struct {
	ID         string
	ExternalID string // required, unique among customers that are not archived
	Email      string
	Name       string
	Archived   bool // read only

	Subscriptions  []Subscription
	PaymentMethods []PaymentMethod
	Purchases      []Purchase
	Invoices       []Invoice
}

// Subscription is a customer's subscription.
type Subscription struct {
	ID         string
	CustomerID string // read only
	// Status defaults to StatusActive (StatusTrialing when the price has a
	// trial period).
	Status string
	// Items are the subscription's current items; at least one. The first
	// item's price is the subscription's priceId.
	Items []SubscriptionItem
	// NonRenewing makes a subscription that does not renew (renews:false;
	// statuses active, canceled or credit_trial only).
	NonRenewing bool
	// Name defaults to the first item's product name.
	Name                   string
	DefaultPaymentMethodID string
	Metadata               map[string]any

	// Read only: interval of the first item's price, and the timestamps
	// of the subscription's life (zero when unset).
	Interval              string
	IntervalCount         int64
	StartDate             time.Time
	CurrentPeriodStart    time.Time
	CurrentPeriodEnd      time.Time
	CanceledAt            time.Time
	CancelScheduledAt     time.Time
	ScheduledAdjustmentAt time.Time
	// ScheduledItems are the items an end-of-period adjustment will switch
	// to (read only).
	ScheduledItems []SubscriptionItem
	// ReplacedBySubscriptionID is set on a free plan replaced by a paid
	// subscription (read only).
	ReplacedBySubscriptionID string
}

// Current reports whether s counts as current (Flowglad's "current" flag).
func (s Subscription) Current() bool { return isCurrent(s.Status) }

// SubscriptionItem is one priced line of a subscription. Give PriceSlug or
// PriceID.
type SubscriptionItem struct {
	ID        string // read only
	PriceID   string
	PriceSlug string
	Quantity  int64 // default 1
}

// PaymentMethod is a customer's payment method.
type PaymentMethod struct {
	ID      string
	Type    string // default "card"
	Default bool
	Brand   string // default "visa"
	Last4   string // default "4242"
}

// Purchase is a customer's purchase of a price (typically single_payment).
type Purchase struct {
	ID        string
	PriceID   string
	PriceSlug string
	Quantity  int64  // default 1
	Status    string // default "paid"
	Name      string // default: the product's name
}

// Invoice is a customer's invoice, tied to a subscription (SubscriptionID)
// or to a purchase (PurchaseID): give exactly one.
type Invoice struct {
	ID             string
	Number         string // default "FAKE-<n>"
	Status         string // default "paid"
	SubscriptionID string
	PurchaseID     string
	// PaymentID is the payment that settled the invoice when a checkout paid
	// it (read only); the payment.succeeded webhook names it.
	PaymentID string
	// LineItems default to one line per subscription item, or one line for
	// the purchase.
	LineItems []InvoiceLineItem
}

// InvoiceLineItem is one line of an invoice.
type InvoiceLineItem struct {
	ID          string // read only
	Description string
	PriceID     string
	PriceSlug   string
	Quantity    int64 // default 1
	Price       int64 // unit amount in minor units
}

// UsageEvent is a recorded usage event.
type UsageEvent struct {
	ID             string
	CustomerID     string
	SubscriptionID string
	UsageMeterID   string
	UsageMeterSlug string
	PriceID        string
	TransactionID  string
	Amount         int64
	UsageDate      time.Time
	Properties     map[string]any
}

// Claim is a resource claim.
type Claim struct {
	ID             string
	SubscriptionID string
	ResourceID     string
	ResourceSlug   string
	ExternalID     string // "" for an anonymous claim
	Metadata       map[string]any
	ClaimedAt      time.Time
	ReleasedAt     time.Time // zero while the claim is active
}

// Checkout session types.
const (
	CheckoutProduct              = "product"
	CheckoutAddPaymentMethod     = "add_payment_method"
	CheckoutActivateSubscription = "activate_subscription"
)

// CheckoutSession is a checkout session created through the API.
type CheckoutSession struct {
	ID                   string
	Type                 string
	Status               string // "open", then "succeeded" once completed
	CustomerID           string
	CustomerExternalID   string
	PriceID              string
	Quantity             int64
	TargetSubscriptionID string
	SuccessURL           string
	CancelURL            string
	URL                  string
	OutputName           string
	OutputMetadata       map[string]any
	// Result records what completing the session created: a subscription,
	// purchase or payment method id.
	Result string
}

// Demo pricing model, products, prices, features, meters and resources of
// DemoSeed.
const (
	DemoPricingModelID = "pm_demo"

	DemoProductFree    = "free"
	DemoProductPro     = "pro"
	DemoProductTeam    = "team"
	DemoProductCredits = "credits"

	DemoPriceFreeMonthly     = "free-monthly"
	DemoPriceProMonthly      = "pro-monthly"
	DemoPriceTeamMonthly     = "team-monthly"
	DemoPriceCredits         = "credits-100"
	DemoPriceAPICallsOverage = "api-calls-overage"

	DemoFeatureBasic        = "basic"
	DemoFeaturePremium      = "premium"
	DemoFeatureSSO          = "sso"
	DemoFeatureFreeAPICalls = "free-api-calls" // 100 api-calls credits
	DemoFeatureProAPICalls  = "pro-api-calls"  // 1000
	DemoFeatureTeamAPICalls = "team-api-calls" // 10000
	DemoFeatureProSeats     = "pro-seats"      // 5 seats
	DemoFeatureTeamSeats    = "team-seats"     // 20 seats

	DemoUsageMeterAPICalls = "api-calls"
	DemoResourceSeats      = "seats"
)

// Demo customers of DemoSeed. DemoCustomerCarol deliberately has no
// Flowglad customer: apps create it on her first visit.
const (
	DemoCustomerAlice = "user_alice"
	DemoCustomerBob   = "user_bob"
	DemoCustomerCarol = "user_carol"

	DemoAliceCustomerID     = "cus_alice"
	DemoAliceSubscriptionID = "sub_alice_pro"
	DemoAlicePurchaseID     = "pur_alice_credits"
	DemoBobCustomerID       = "cus_bob"
	DemoBobSubscriptionID   = "sub_bob_free"
)

// DemoSeed returns a small, realistic state:
//
// Pricing model "Demo" (DemoPricingModelID), the default, with
//   - "free" (the default product): $0/month "free-monthly"; toggle "basic",
//     100 "api-calls" credits every billing period;
//   - "pro": $20/month "pro-monthly"; toggle "premium", 1000 "api-calls"
//     credits, 5 "seats";
//   - "team": $50/month "team-monthly"; toggles "premium" and "sso", 10000
//     "api-calls" credits, 20 "seats";
//   - "credits": a $10 single payment "credits-100";
//   - usage meter "api-calls" (sum) with usage price "api-calls-overage"
//     ($0.01 per event), and resource "seats".
//
// Customers:
//   - "user_alice" (Alice Example, alice@example.com): active Pro
//     subscription, a Visa card, a paid "credits-100" purchase, and paid
//     invoices for both;
//   - "user_bob" (Bob Example, bob@example.com): on Free.
//
// "user_carol" has no Flowglad customer.
func DemoSeed() Seed {
	return Seed{
		PricingModel: PricingModel{
			ID:   DemoPricingModelID,
			Name: "Demo",
			UsageMeters: []UsageMeter{{
				Slug: DemoUsageMeterAPICalls, Name: "API calls",
				Prices: []Price{{Slug: DemoPriceAPICallsOverage, Name: "API call overage", UnitPrice: 1}},
			}},
			Resources: []Resource{{Slug: DemoResourceSeats, Name: "Seats"}},
			Features: []Feature{
				{Slug: DemoFeatureBasic, Name: "Basic", Type: FeatureToggle},
				{Slug: DemoFeaturePremium, Name: "Premium", Type: FeatureToggle},
				{Slug: DemoFeatureSSO, Name: "Single sign-on", Type: FeatureToggle},
				{Slug: DemoFeatureFreeAPICalls, Name: "100 API calls", Type: FeatureUsageCreditGrant, Amount: 100, UsageMeter: DemoUsageMeterAPICalls},
				{Slug: DemoFeatureProAPICalls, Name: "1,000 API calls", Type: FeatureUsageCreditGrant, Amount: 1000, UsageMeter: DemoUsageMeterAPICalls},
				{Slug: DemoFeatureTeamAPICalls, Name: "10,000 API calls", Type: FeatureUsageCreditGrant, Amount: 10000, UsageMeter: DemoUsageMeterAPICalls},
				{Slug: DemoFeatureProSeats, Name: "5 seats", Type: FeatureResource, Amount: 5, Resource: DemoResourceSeats},
				{Slug: DemoFeatureTeamSeats, Name: "20 seats", Type: FeatureResource, Amount: 20, Resource: DemoResourceSeats},
			},
			Products: []Product{
				{
					Slug: DemoProductFree, Name: "Free", Description: "For trying things out", Default: true,
					Features: []string{DemoFeatureBasic, DemoFeatureFreeAPICalls},
					Prices:   []Price{{Slug: DemoPriceFreeMonthly, Name: "Free", UnitPrice: 0}},
				},
				{
					Slug: DemoProductPro, Name: "Pro", Description: "For professionals",
					Features: []string{DemoFeaturePremium, DemoFeatureProAPICalls, DemoFeatureProSeats},
					Prices:   []Price{{Slug: DemoPriceProMonthly, Name: "Pro monthly", UnitPrice: 2000}},
				},
				{
					Slug: DemoProductTeam, Name: "Team", Description: "For teams",
					Features: []string{DemoFeaturePremium, DemoFeatureSSO, DemoFeatureTeamAPICalls, DemoFeatureTeamSeats},
					Prices:   []Price{{Slug: DemoPriceTeamMonthly, Name: "Team monthly", UnitPrice: 5000}},
				},
				{
					Slug: DemoProductCredits, Name: "100 credits", Description: "A one-off top-up",
					Prices: []Price{{Slug: DemoPriceCredits, Name: "100 credits", Type: PriceSinglePayment, UnitPrice: 1000}},
				},
			},
		},
		Customers: []Customer{
			{
				ID: DemoAliceCustomerID, ExternalID: DemoCustomerAlice, Name: "Alice Example", Email: "alice@example.com",
				PaymentMethods: []PaymentMethod{{Default: true}},
				Subscriptions: []Subscription{{
					ID:    DemoAliceSubscriptionID,
					Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}},
				}},
				Purchases: []Purchase{{ID: DemoAlicePurchaseID, PriceSlug: DemoPriceCredits}},
				Invoices: []Invoice{
					{SubscriptionID: DemoAliceSubscriptionID},
					{PurchaseID: DemoAlicePurchaseID},
				},
			},
			{
				ID: DemoBobCustomerID, ExternalID: DemoCustomerBob, Name: "Bob Example", Email: "bob@example.com",
				Subscriptions: []Subscription{{
					ID:    DemoBobSubscriptionID,
					Items: []SubscriptionItem{{PriceSlug: DemoPriceFreeMonthly}},
				}},
			},
		},
	}
}
