package flowglad_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pendingStub reports fixed pending usage for one customer.
type pendingStub struct {
	customer string
	amounts  []flowglad.PendingUsageAmount
	err      error
}

func (p pendingStub) PendingUsage(_ context.Context, externalID string) ([]flowglad.PendingUsageAmount, error) {
	if externalID != p.customer {
		return nil, nil
	}
	return p.amounts, p.err
}

// meterBalance is the first current subscription's balance on the demo meter.
func meterBalance(t *testing.T, subs []flowgladapi.Subscription) float64 {
	t.Helper()
	require.NotEmpty(t, subs)
	b := subs[0].UsageBalance(flowgladapitest.DemoUsageMeterAPICalls)
	require.NotNil(t, b)
	return b.AvailableBalance
}

// The balances Billing and CurrentSubscriptions return subtract pending usage, whichever
// name the event gave its meter (slug, id, a price's slug or id); ReportedSubscriptions
// keeps Flowglad's, and removing the PendingUsage restores them.
func TestPendingUsageSubtracted(t *testing.T) {
	svc, _ := newGoService(t)
	bob := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerBob}
	b, err := svc.Billing(t.Context(), bob)
	require.NoError(t, err)
	require.Len(t, b.PricingModel.UsageMeters, 1)
	m := b.PricingModel.UsageMeters[0]
	require.NotEmpty(t, m.Prices)
	require.Equal(t, 100.0, meterBalance(t, b.CurrentSubscriptions))

	remove := svc.AddPendingUsage(pendingStub{customer: bob.ExternalID, amounts: []flowglad.PendingUsageAmount{
		{UsageMeterSlug: m.Slug, Amount: 5},
		{UsageMeterID: m.ID, Amount: 2},
		{PriceSlug: m.Prices[0].Slug, Amount: 3},
		{PriceID: m.Prices[0].ID, Amount: 1},
		{UsageMeterSlug: m.Slug, SubscriptionID: flowgladapitest.DemoBobSubscriptionID, Amount: 4},
		{UsageMeterSlug: "no-such-meter", Amount: 100},
		{UsageMeterSlug: m.Slug, SubscriptionID: flowgladapitest.DemoAliceSubscriptionID, Amount: 100},
		{PriceSlug: "no-such-price", Amount: 100},
	}})
	const want = 100.0 - 5 - 2 - 3 - 1 - 4

	subs, err := svc.CurrentSubscriptions(t.Context(), bob)
	require.NoError(t, err)
	assert.Equal(t, want, meterBalance(t, subs))
	b, err = svc.Billing(t.Context(), bob)
	require.NoError(t, err)
	assert.Equal(t, want, meterBalance(t, b.CurrentSubscriptions))
	assert.Equal(t, want, b.CheckUsageBalance(flowgladapitest.DemoUsageMeterAPICalls).AvailableBalance)
	require.NotNil(t, b.CurrentSubscription)
	assert.Equal(t, want, b.CurrentSubscription.UsageBalance(flowgladapitest.DemoUsageMeterAPICalls).AvailableBalance)

	reported, err := svc.ReportedSubscriptions(t.Context(), bob)
	require.NoError(t, err)
	assert.Equal(t, 100.0, meterBalance(t, reported), "the shared read is not modified")

	alice := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice}
	subs, err = svc.CurrentSubscriptions(t.Context(), alice)
	require.NoError(t, err)
	assert.Equal(t, 1000.0, meterBalance(t, subs), "another customer's pending usage")

	remove()
	remove()
	subs, err = svc.CurrentSubscriptions(t.Context(), bob)
	require.NoError(t, err)
	assert.Equal(t, 100.0, meterBalance(t, subs))
}

// Several PendingUsage add up; one that fails is left out (and logged).
func TestPendingUsageSeveral(t *testing.T) {
	svc, _ := newGoService(t)
	bob := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerBob}
	slug := flowgladapitest.DemoUsageMeterAPICalls
	r1 := svc.AddPendingUsage(pendingStub{customer: bob.ExternalID, amounts: []flowglad.PendingUsageAmount{{UsageMeterSlug: slug, Amount: 10}}})
	svc.AddPendingUsage(pendingStub{customer: bob.ExternalID, amounts: []flowglad.PendingUsageAmount{{UsageMeterSlug: slug, Amount: 20}}})
	svc.AddPendingUsage(pendingStub{customer: bob.ExternalID, err: errors.New("redis down")})
	subs, err := svc.CurrentSubscriptions(t.Context(), bob)
	require.NoError(t, err)
	assert.Equal(t, 70.0, meterBalance(t, subs))
	r1()
	subs, err = svc.CurrentSubscriptions(t.Context(), bob)
	require.NoError(t, err)
	assert.Equal(t, 80.0, meterBalance(t, subs))
}

// With nothing pending, a cached balance read allocates no more than without any
// PendingUsage registered.
func TestPendingUsageCheapWhenNone(t *testing.T) {
	svc, _ := newGoService(t, func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour })
	bob := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerBob}
	read := func() {
		if _, err := svc.CurrentSubscriptions(context.Background(), bob); err != nil {
			panic(err)
		}
	}
	read()
	none := testing.AllocsPerRun(50, read)
	svc.AddPendingUsage(pendingStub{customer: "someone else"})
	empty := testing.AllocsPerRun(50, read)
	assert.Equal(t, none, empty)
}

// UsageMeterBalances subtracts pending usage too (Raw stays Flowglad's).
func TestPendingUsageInUsageMeterBalances(t *testing.T) {
	svc, fake := newGoService(t)
	bob := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerBob}
	slug := flowgladapitest.DemoUsageMeterAPICalls
	svc.AddPendingUsage(pendingStub{customer: bob.ExternalID, amounts: []flowglad.PendingUsageAmount{
		{UsageMeterSlug: slug, Amount: 10},
		{UsageMeterSlug: slug, SubscriptionID: flowgladapitest.DemoBobSubscriptionID, Amount: 5},
		{UsageMeterSlug: slug, SubscriptionID: "sub_other", Amount: 50},
	}})
	fake.ResetRequests()
	_, err := svc.UsageMeterBalances(t.Context(), bob, flowglad.UsageMeterBalancesParams{})
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /api/v1/customers/user_bob/usage-balances"}, goCalls(fake),
		"one subscription has the meter: its balance is where the usage goes, with no billing read")
	for _, p := range []flowglad.UsageMeterBalancesParams{{}, {SubscriptionID: flowgladapitest.DemoBobSubscriptionID}} {
		balances, err := svc.UsageMeterBalances(t.Context(), bob, p)
		require.NoError(t, err)
		require.Len(t, balances, 1)
		assert.Equal(t, 85.0, balances[0].AvailableBalance, "%+v", p)
		assert.Contains(t, string(balances[0].Raw), `"availableBalance":100`)
	}
}

// UsageMeterBalances places usage pending without a subscription where the recorder will
// charge it (the first current subscription, newest first, that has the meter), whichever
// subscription the caller filters on and whatever order Flowglad lists the balances in.
// Alice is on Pro and a newer Free subscription, both with the meter.
func TestPendingUsageWithoutSubscriptionInUsageMeterBalances(t *testing.T) {
	svc, fake := newGoService(t)
	alice := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice}
	pro := flowgladapitest.DemoAliceSubscriptionID
	freeSub, err := fake.AddSubscription(alice.ExternalID, flowgladapitest.Subscription{
		Items: []flowgladapitest.SubscriptionItem{{PriceSlug: flowgladapitest.DemoPriceFreeMonthly}},
	})
	require.NoError(t, err)
	free := freeSub.ID
	slug := flowgladapitest.DemoUsageMeterAPICalls

	reported := map[string]float64{}
	balances, err := svc.UsageMeterBalances(t.Context(), alice, flowglad.UsageMeterBalancesParams{})
	require.NoError(t, err)
	for _, b := range balances {
		reported[b.SubscriptionID] = b.AvailableBalance
	}
	require.Contains(t, reported, pro)
	require.Contains(t, reported, free)

	svc.AddPendingUsage(pendingStub{customer: alice.ExternalID, amounts: []flowglad.PendingUsageAmount{
		{UsageMeterSlug: slug, Amount: 5},                      // goes to Free, the newest with the meter
		{UsageMeterSlug: slug, SubscriptionID: pro, Amount: 2}, // named
	}})
	want := map[string]float64{pro: reported[pro] - 2, free: reported[free] - 5}
	for _, filter := range []string{"", pro, free} {
		balances, err := svc.UsageMeterBalances(t.Context(), alice, flowglad.UsageMeterBalancesParams{SubscriptionID: filter})
		require.NoError(t, err)
		require.NotEmpty(t, balances)
		for _, b := range balances {
			assert.Equal(t, want[b.SubscriptionID], b.AvailableBalance, "filter %q, subscription %s", filter, b.SubscriptionID)
		}
	}
	subs, err := svc.CurrentSubscriptions(t.Context(), alice)
	require.NoError(t, err)
	for _, s := range subs {
		assert.Equal(t, want[s.ID], s.UsageBalance(slug).AvailableBalance, "CurrentSubscriptions agrees on %s", s.ID)
	}
}
