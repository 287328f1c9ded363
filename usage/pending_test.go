package usage_test

import (
	"context"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Service's balances subtract usage recorded and not yet at Flowglad, without a
// Flowglad call; once it lands they are Flowglad's again (the cached billing forgotten,
// the pending usage gone: counted once, never twice or zero times).
func TestBalancesSeePendingUsage(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	e := newEnvCfg(t, fake, flowglad.Config{BillingCacheTTL: time.Hour})
	require.Equal(t, 100.0, balance(t, e.svc, bob))
	fake.ResetRequests()

	for _, p := range []flowglad.UsageEventParams{
		{UsageMeterSlug: meter, Amount: 30},
		{PriceSlug: flowgladapitest.DemoPriceAPICallsOverage, Amount: 5},
		{UsageMeterSlug: meter, Amount: 7, TransactionID: "twice"},
		{UsageMeterSlug: meter, Amount: 7, TransactionID: "twice"},
	} {
		_, err := e.rec.Record(ctx(t), bob, p)
		require.NoError(t, err)
	}
	assert.Equal(t, 58.0, balance(t, e.svc, bob), "100 - 30 - 5 - 7 (one transaction id counts once)")
	b, err := e.svc.Billing(ctx(t), bob)
	require.NoError(t, err)
	assert.Equal(t, 58.0, b.CheckUsageBalance(meter).AvailableBalance)
	assert.Equal(t, 1000.0, balance(t, e.svc, alice))
	assert.Empty(t, calls(fake)["GET /api/v1/customers/"+bob.ExternalID+"/billing"], "pending usage costs no read")

	require.NoError(t, e.rec.Flush(ctx(t)))
	got, ok := fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, meter)
	require.True(t, ok)
	assert.Equal(t, 58.0, got)
	assert.Equal(t, 58.0, balance(t, e.svc, bob))
	reported, err := e.svc.ReportedSubscriptions(ctx(t), bob)
	require.NoError(t, err)
	assert.Equal(t, 58.0, reported[0].UsageBalance(meter).AvailableBalance)
}

// An event Flowglad refuses stops being pending; a closed recorder no longer counts.
func TestPendingUsageEnds(t *testing.T) {
	q := usage.NewMemoryQueue(10)
	e := newEnv(t, usage.WithQueue(q))
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 4, SubscriptionID: "sub_nobody"})
	require.NoError(t, err)
	assert.Equal(t, 100.0, balance(t, e.svc, bob), "pending on a subscription that is not the customer's")
	_, err = e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 6, SubscriptionID: flowgladapitest.DemoBobSubscriptionID})
	require.NoError(t, err)
	assert.Equal(t, 94.0, balance(t, e.svc, bob))
	require.NoError(t, e.rec.Flush(ctx(t)))
	require.Len(t, e.dead.get(), 1)
	assert.Equal(t, 94.0, balance(t, e.svc, bob))

	_, err = e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 10})
	require.NoError(t, err)
	require.Equal(t, 84.0, balance(t, e.svc, bob))
	e.fake.FailNext(1_000_000, flowgladapitest.Fault{Path: bulkPath, Status: 503})
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.Error(t, e.rec.Close(short))
	assert.Equal(t, 94.0, balance(t, e.svc, bob), "a closed recorder's queue is not counted")
}

// Flowglad keeps one event per transaction id and meter (a job may bill two meters under
// one id): each is pending until it lands. Noted by transaction id alone, the second
// event was not pending at all, and its meter's balance could be spent again meanwhile.
func TestOneTransactionIDOnTwoMeters(t *testing.T) {
	seed := flowgladapitest.DemoSeed()
	seed.PricingModel.UsageMeters = append(seed.PricingModel.UsageMeters, flowgladapitest.UsageMeter{Slug: "tokens", Name: "Tokens"})
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(seed))
	e := newEnvOn(t, fake)
	require.Equal(t, 100.0, balance(t, e.svc, bob))

	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: "tokens", Amount: 40, TransactionID: "job-7"})
	require.NoError(t, err)
	_, err = e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 9, TransactionID: "job-7"})
	require.NoError(t, err)
	assert.Equal(t, 91.0, balance(t, e.svc, bob), "the api-calls event of job-7 is pending")

	require.NoError(t, e.rec.Flush(ctx(t)))
	require.Empty(t, e.dead.get())
	assert.Len(t, fake.UsageEvents(), 2, "Flowglad keeps both")
	got, ok := fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, meter)
	require.True(t, ok)
	assert.Equal(t, 91.0, got)
	assert.Equal(t, 91.0, balance(t, e.svc, bob), "no longer pending once landed")
}
