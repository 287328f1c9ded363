package flowgladapitest

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
