package flowgladapitest

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
	return copyAll(cs, f.claimJSON)
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
