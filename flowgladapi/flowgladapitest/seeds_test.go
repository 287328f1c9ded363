package flowgladapitest

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedCase is a change that makes DemoSeed invalid, and the error it causes.
type seedCase struct {
	name    string
	mutate  func(*Seed)
	wantErr string
}

// seedError returns the error of a fake seeded with DemoSeed changed by
// mutate, failing t when there is none.
func seedError(t *testing.T, mutate func(*Seed)) string {
	t.Helper()
	seed := DemoSeed()
	mutate(&seed)
	_, err := newFake(WithSeed(seed))
	require.Error(t, err)
	return err.Error()
}

// TestInvalidSeeds: every rule a Seed must follow is enforced, with
// an error that points at the offending record.
func TestInvalidSeeds(t *testing.T) {
	tests := []seedCase{
		{"meter without slug", func(s *Seed) { s.PricingModel.UsageMeters = append(s.PricingModel.UsageMeters, UsageMeter{}) }, "a usage meter has no slug"},
		{"meter slug twice", func(s *Seed) {
			s.PricingModel.UsageMeters = append(s.PricingModel.UsageMeters, UsageMeter{Slug: DemoUsageMeterAPICalls})
		}, `usage meter slug "api-calls" is used twice`},
		{"meter id taken", func(s *Seed) { s.PricingModel.UsageMeters[0].ID = DemoPricingModelID }, `id "pm_demo" is used twice`},
		{"meter aggregation unknown", func(s *Seed) { s.PricingModel.UsageMeters[0].AggregationType = "max" }, `usage meter "api-calls": unknown aggregation type "max"`},
		{"meter price not usage", func(s *Seed) { s.PricingModel.UsageMeters[0].Prices[0].Type = PriceSubscription }, `usage meter "api-calls": price "api-calls-overage" must be a usage price`},
		{"meter price slug twice", func(s *Seed) {
			s.PricingModel.UsageMeters[0].Prices = append(s.PricingModel.UsageMeters[0].Prices, Price{Slug: DemoPriceAPICallsOverage})
		}, `price slug "api-calls-overage" is used twice`},
		{"meter price interval unknown", func(s *Seed) { s.PricingModel.UsageMeters[0].Prices[0].Interval = "decade" }, `price "api-calls-overage": unknown interval "decade"`},
		{"resource without slug", func(s *Seed) { s.PricingModel.Resources = append(s.PricingModel.Resources, Resource{}) }, "a resource has no slug"},
		{"resource slug twice", func(s *Seed) {
			s.PricingModel.Resources = append(s.PricingModel.Resources, Resource{Slug: DemoResourceSeats})
		}, `resource slug "seats" is used twice`},
		{"resource id taken", func(s *Seed) { s.PricingModel.Resources[0].ID = DemoPricingModelID }, `id "pm_demo" is used twice`},
		{"feature without slug", func(s *Seed) { s.PricingModel.Features = append(s.PricingModel.Features, Feature{Type: FeatureToggle}) }, "a feature has no slug"},
		{"feature slug twice", func(s *Seed) {
			s.PricingModel.Features = append(s.PricingModel.Features, Feature{Slug: DemoFeatureSSO, Type: FeatureToggle})
		}, `feature slug "sso" is used twice`},
		{"feature type unknown", func(s *Seed) { s.PricingModel.Features[0].Type = "flag" }, `feature "basic": unknown type "flag"`},
		{"feature id taken", func(s *Seed) { s.PricingModel.Features[0].ID = DemoPricingModelID }, `id "pm_demo" is used twice`},
		{"credit renewal unknown", func(s *Seed) { s.PricingModel.Features[3].RenewalFrequency = "daily" }, `feature "free-api-calls": unknown renewal frequency "daily"`},
		{"credit amount zero", func(s *Seed) { s.PricingModel.Features[3].Amount = 0 }, `feature "free-api-calls": amount must be positive`},
		{"resource feature unknown resource", func(s *Seed) { s.PricingModel.Features[6].Resource = "desks" }, `feature "pro-seats": unknown resource "desks"`},
		{"resource feature amount zero", func(s *Seed) { s.PricingModel.Features[6].Amount = -1 }, `feature "pro-seats": amount must be positive`},
		{"product without slug", func(s *Seed) { s.PricingModel.Products[1].Slug = "" }, "a product has no slug"},
		{"product slug twice", func(s *Seed) { s.PricingModel.Products[1].Slug = DemoProductFree }, `product slug "free" is used twice`},
		{"product id taken", func(s *Seed) { s.PricingModel.Products[1].ID = DemoPricingModelID }, `id "pm_demo" is used twice`},
		{"product usage price", func(s *Seed) { s.PricingModel.Products[1].Prices[0].Type = PriceUsage }, `product "pro": price "pro-monthly" must be a subscription or single_payment price (usage prices belong to usage meters)`},
		{"negative unit price", func(s *Seed) { s.PricingModel.Products[1].Prices[0].UnitPrice = -1 }, `price "pro-monthly": negative unit price`},
		{"price id taken", func(s *Seed) { s.PricingModel.Products[1].Prices[0].ID = DemoPricingModelID }, `id "pm_demo" is used twice`},
		{"customer without external id", func(s *Seed) { s.Customers[1].ExternalID = "" }, "a customer has no external id"},
		{"payment method type unknown", func(s *Seed) { s.Customers[0].PaymentMethods[0].Type = "cheque" }, `customer "user_alice": payment method: unknown type "cheque"`},
		{"purchase of nothing", func(s *Seed) { s.Customers[0].Purchases[0].PriceSlug = "" }, `customer "user_alice": purchase: give exactly one of PriceID and PriceSlug`},
		{"non-renewing past due", func(s *Seed) {
			s.Customers[1].Subscriptions[0].NonRenewing, s.Customers[1].Subscriptions[0].Status = true, StatusPastDue
		}, `customer "user_bob": non-renewing subscription: status "past_due" is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, "flowgladapitest: seed: "+tt.wantErr, seedError(t, tt.mutate))
		})
	}
}

// TestInvalidSeedStopsTheTest: New panics with the seed error and
// NewServer fails the test with it (and starts no server).
func TestInvalidSeedStopsTheTest(t *testing.T) {
	seed := DemoSeed()
	seed.PricingModel.Products[0].Prices = nil
	const want = `flowgladapitest: seed: product "free" has no price`

	t.Run("New panics", func(t *testing.T) {
		defer func() {
			r := recover()
			require.NotNil(t, r, "New must panic")
			err, isErr := r.(error)
			require.True(t, isErr, "panic value %v", r)
			assert.EqualError(t, err, want)
		}()
		New(WithSeed(seed))
	})

	t.Run("NewServer fails the test", func(t *testing.T) {
		tb := &fatalTB{TB: t}
		done := make(chan *Server)
		go func() {
			defer close(done)
			done <- NewServer(tb, WithSeed(seed))
		}()
		srv, returned := <-done
		assert.False(t, returned, "NewServer must not return, got %v", srv)
		assert.Equal(t, []string{want}, tb.fatals)
		assert.Zero(t, tb.cleanups, "no server to close")
	})

	t.Run("a valid seed passes", func(t *testing.T) {
		tb := &fatalTB{TB: t}
		s := NewServer(tb, WithSeed(DemoSeed()))
		assert.Empty(t, tb.fatals)
		assert.Equal(t, 1, tb.cleanups, "the server is closed by Cleanup")
		assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil).status)
	})
}

// fatalTB records Fatal calls and stops the calling goroutine, as
// testing.T does, without failing the real test.
type fatalTB struct {
	testing.TB
	mu       sync.Mutex
	fatals   []string
	cleanups int
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.mu.Lock()
	f.fatals = append(f.fatals, strings.TrimSuffix(fmt.Sprintln(args...), "\n"))
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fatalTB) Cleanup(fn func()) {
	f.mu.Lock()
	f.cleanups++
	f.mu.Unlock()
	f.TB.Cleanup(fn)
}

// TestSeedDefaults: what a minimal seed gets filled in with, as
// the Seed docs promise, read back through the API.
func TestSeedDefaults(t *testing.T) {
	seed := Seed{PricingModel: PricingModel{
		UsageMeters: []UsageMeter{{Slug: "events"}},
		Resources:   []Resource{{Slug: "projects"}},
		Features: []Feature{
			{Slug: "events-grant", Type: FeatureUsageCreditGrant, Amount: 50, UsageMeter: "events"},
			{Slug: "project-cap", Type: FeatureResource, Amount: 3, Resource: "projects"},
		},
		Products: []Product{
			{Slug: "one-off", Prices: []Price{{Slug: "one-off-price", Type: PriceSinglePayment, UnitPrice: 500}}},
			{Slug: "starter", Default: true, Features: []string{"events-grant", "project-cap"}, Prices: []Price{
				{Slug: "starter-yearly", Interval: "year", UnitPrice: 0},
				{Slug: "starter-monthly", Default: true},
			}},
		},
	}}
	s := newSpecServer(t, WithSeed(seed))

	pm := ok(t, call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil))["pricingModel"]
	assert.Equal(t, "Default", dig(t, pm, "name"))
	assert.Equal(t, "pm_1", dig(t, pm, "id"))
	meter := dig(t, pm, "usageMeters", 0)
	assert.Equal(t, "events", dig(t, meter, "name"), "the name defaults to the slug")
	assert.Equal(t, AggregationSum, dig(t, meter, "aggregationType"))
	assert.Equal(t, "events_no_charge", dig(t, meter, "defaultPrice", "slug"), "a meter without prices gets a free one")
	assert.InDelta(t, 0, dig(t, meter, "defaultPrice", "unitPrice"), 0)
	starter := dig(t, pm, "products", 1)
	assert.Equal(t, "starter", dig(t, starter, "name"))
	assert.Equal(t, "starter-monthly", dig(t, starter, "defaultPrice", "slug"), "the price marked Default wins over the first")
	assert.Equal(t, "month", dig(t, starter, "defaultPrice", "intervalUnit"))
	assert.Equal(t, "USD", dig(t, starter, "defaultPrice", "currency"))
	assert.Equal(t, "starter", dig(t, pm, "defaultProduct", "slug"))

	// The default product need not come first: a new customer still gets
	// its default price.
	m := ok(t, call(t, s, http.MethodPost, "/api/v1/customers", map[string]any{"customer": map[string]any{"externalId": "u1", "email": "u1@example.com", "name": "U1"}}))
	subID := dig(t, m, "data", "subscription", "id").(string)
	sub, _ := s.Subscription(subID)
	assert.Equal(t, "starter-monthly", sub.Items[0].PriceSlug)
	bal, _ := s.UsageBalance(subID, "events")
	assert.InDelta(t, 50, bal, 0)
	u := ok(t, call(t, s, http.MethodGet, "/api/v1/resource-claims/"+subID+"/usage?resourceSlug=projects", nil))
	assert.InDelta(t, 3, dig(t, u, "usage", "capacity"), 0)
	assert.Equal(t, "projects", dig(t, u, "usage", "resourceSlug"))

	t.Run("a one-off default product subscribes nobody", func(t *testing.T) {
		s := newSpecServer(t, WithSeed(Seed{PricingModel: PricingModel{Products: []Product{
			{Slug: "pass", Default: true, Prices: []Price{{Slug: "pass-price", Type: PriceSinglePayment, UnitPrice: 100}}},
		}}}))
		m := ok(t, call(t, s, http.MethodPost, "/api/v1/customers", map[string]any{"customer": map[string]any{"externalId": "u1", "email": "u1@example.com", "name": "U1"}}))
		assert.NotContains(t, m["data"], "subscription")
		c, _ := s.Customer("u1")
		assert.Empty(t, c.Subscriptions)
	})
}
