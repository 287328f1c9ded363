package usage_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
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

// viewCounter is a Ledger that counts its View calls: with a shared ledger (Redis), each is
// a round trip.
type viewCounter struct {
	usage.Ledger
	views atomic.Int64
}

func (l *viewCounter) View(ctx context.Context, customerID string) (usage.LedgerView, error) {
	l.views.Add(1)
	return l.Ledger.View(ctx, customerID)
}

// TestRequestReadsTheLedgerOnce: a request that reads the customer's balances (a gate, then
// its handler) reads the ledger once, just before its billing, and subtracts that view;
// once the request itself records usage, reserves or releases, its balances read the ledger again
// (each time, as before this view was kept) and show the change.
func TestRequestReadsTheLedgerOnce(t *testing.T) {
	ledger := &viewCounter{Ledger: usage.NewMemoryLedger()}
	e := newEnv(t, usage.WithLedger(ledger))
	req := reqmemo.With(ctx(t))
	var res *usage.Reservation
	inRequest := func() float64 {
		t.Helper()
		subs, err := e.svc.CurrentSubscriptions(req, bob)
		require.NoError(t, err)
		return subs[0].UsageBalance(meter).AvailableBalance
	}
	for _, step := range []struct {
		name    string
		do      func()
		balance float64
		views   int64 // the ledger's View calls the step's balance read made
	}{
		{"the gate's read", func() {}, 100, 1},
		{"the handler's read", func() {}, 100, 0},
		{"after the request's own usage", func() {
			_, err := e.rec.Record(req, bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 7})
			require.NoError(t, err)
		}, 93, 1},
		{"read again: the ledger again, as without a view", func() {}, 93, 1},
		{"after the request's reservation", func() {
			var err error
			res, err = e.rec.Reserve(req, bob, meter, 10)
			require.NoError(t, err)
		}, 83, 1},
		{"after its release", func() { res.Release(req) }, 93, 1},
	} {
		step.do()
		before := ledger.views.Load()
		assert.Equal(t, step.balance, inRequest(), step.name)
		assert.Equal(t, step.views, ledger.views.Load()-before, "%s: ledger views", step.name)
	}
}

// TestRequestBalancesAgreeWithTheirBilling: usage pending when a request read the
// customer's billing (a gate) lands while the request runs; the request's later balances
// (its handler's, on the same billing) still count it, once: as pending, since that
// billing predates it. Read anew, the ledger no longer has it, and the request's billing
// does not either: the usage was counted nowhere.
func TestRequestBalancesAgreeWithTheirBilling(t *testing.T) {
	e := newEnv(t)
	spend(t, e, 90) // a balance of 10
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 3})
	require.NoError(t, err)

	req := reqmemo.With(ctx(t))
	subs, err := e.svc.CurrentSubscriptions(req, bob) // the gate: 10 at Flowglad, 3 pending
	require.NoError(t, err)
	require.Equal(t, 7.0, subs[0].UsageBalance(meter).AvailableBalance)

	require.NoError(t, e.rec.Flush(ctx(t))) // the 3 land: 7 at Flowglad, none pending
	subs, err = e.svc.CurrentSubscriptions(req, bob)
	require.NoError(t, err)
	assert.Equal(t, 7.0, subs[0].UsageBalance(meter).AvailableBalance, "the landed usage counted once")
	assert.Equal(t, 7.0, balance(t, e.svc, bob), "a new request reads Flowglad's")
}

// failingPuts is a Queue whose Put fails while fail is set.
type failingPuts struct {
	usage.Queue
	fail atomic.Bool
}

func (q *failingPuts) Put(ctx context.Context, events []usage.Event) error {
	if q.fail.Load() {
		return usage.ErrQueueFull
	}
	return q.Queue.Put(ctx, events)
}

// TestFailedRetryKeepsThePendingEvent: an event is queued and pending; a retry of it (the
// same transaction id) cannot be queued. The retry's failure takes nothing out of the
// pending usage: the first event is still queued, and the balance still counts it, once,
// until it lands. A new event that cannot be queued is not pending.
func TestFailedRetryKeepsThePendingEvent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ledger usage.Ledger
	}{
		{"memory ledger", usage.NewMemoryLedger()},
		{"a ledger without AddPendingCount", struct{ usage.Ledger }{usage.NewMemoryLedger()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &failingPuts{Queue: usage.NewMemoryQueue(100)}
			e := newEnv(t, usage.WithQueue(q), usage.WithLedger(tc.ledger))
			job := flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 6, TransactionID: "job-1"}
			_, err := e.rec.Record(ctx(t), bob, job)
			require.NoError(t, err)
			require.Equal(t, 94.0, balance(t, e.svc, bob))

			q.fail.Store(true)
			_, err = e.rec.Record(ctx(t), bob, job) // the caller's retry
			require.ErrorIs(t, err, usage.ErrQueueFull)
			_, err = e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 9})
			require.ErrorIs(t, err, usage.ErrQueueFull)
			if _, counts := tc.ledger.(interface {
				AddPendingCount(context.Context, string, []usage.PendingEvent) (int, error)
			}); counts {
				assert.Equal(t, 94.0, balance(t, e.svc, bob), "job-1 is still queued, and pending")
			} else {
				// Without AddPendingCount the recorder cannot tell a retry from a new
				// event: the failed retry takes job-1 out of the pending usage.
				assert.Equal(t, 100.0, balance(t, e.svc, bob))
			}

			q.fail.Store(false)
			require.NoError(t, e.rec.Flush(ctx(t)))
			landed := 0
			for _, ev := range e.fake.UsageEvents() {
				if strings.HasSuffix(ev.TransactionID, ":job-1") { // the id Flowglad keeps, namespaced
					landed++
				}
			}
			assert.Equal(t, 1, landed, "job-1 reached Flowglad once")
			assert.Equal(t, 94.0, balance(t, e.svc, bob), "and is counted once")
		})
	}
}
