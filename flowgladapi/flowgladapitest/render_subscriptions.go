package flowgladapitest

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
	return copyAll(items, f.subscriptionItemJSON)
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
