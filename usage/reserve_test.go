package usage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/flowglad-go/flowglad/internal/testclock"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/queuetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spend records amount for bob at Flowglad, so that his balance is 100 - amount.
func spend(t *testing.T, e *env, amount int64) {
	t.Helper()
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: amount})
	require.NoError(t, err)
	require.NoError(t, e.rec.Flush(ctx(t)))
}

// reserveAll makes n concurrent reservations of amount and returns those granted.
func reserveAll(t *testing.T, e *env, n int, amount int64) []*usage.Reservation {
	t.Helper()
	var (
		mu      sync.Mutex
		granted []*usage.Reservation
		wg      sync.WaitGroup
		other   []error
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			res, err := e.rec.Reserve(ctx(t), bob, meter, amount)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				granted = append(granted, res)
			case !errors.Is(err, usage.ErrInsufficientBalance):
				other = append(other, err)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Empty(t, other)
	return granted
}

// Concurrent requests on a balance B get at most floor(B/amount) reservations.
func TestReserveConcurrent(t *testing.T) {
	cases := []struct {
		balance, amount int64
		want            int
	}{
		{1, 1, 1},
		{5, 2, 2},
		{24, 1, 24},
		{0, 1, 0},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("balance %d, amount %d", tc.balance, tc.amount), func(t *testing.T) {
			e := newEnv(t)
			spend(t, e, 100-tc.balance)
			granted := reserveAll(t, e, 24, tc.amount)
			assert.Len(t, granted, tc.want)
		})
	}
}

// Reserved amounts are subtracted from the Service's balances; Release gives them back;
// Commit turns them into pending usage, then usage at Flowglad.
func TestReservationLifecycle(t *testing.T) {
	e := newEnv(t)
	spend(t, e, 98) // balance 2
	res, err := e.rec.Reserve(ctx(t), bob, meter, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(2), res.Amount())
	assert.Equal(t, 0.0, balance(t, e.svc, bob))
	_, err = e.rec.Reserve(ctx(t), bob, meter, 1)
	require.ErrorIs(t, err, usage.ErrInsufficientBalance)

	res.Release(ctx(t))
	res.Release(ctx(t))
	assert.Equal(t, 2.0, balance(t, e.svc, bob))

	res, err = e.rec.Reserve(ctx(t), bob, meter, 2)
	require.NoError(t, err)
	tx, err := res.Commit(ctx(t), flowglad.UsageEventParams{Amount: 1, TransactionID: "work-1"})
	require.NoError(t, err)
	assert.Equal(t, "work-1", tx)
	assert.Equal(t, 1.0, balance(t, e.svc, bob), "the hold is gone, the usage pending")
	res2, err := e.rec.Reserve(ctx(t), bob, meter, 1)
	require.NoError(t, err)
	res2.Release(ctx(t))

	require.NoError(t, e.rec.Flush(ctx(t)))
	got, _ := e.fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, meter)
	assert.Equal(t, 1.0, got)
	assert.Equal(t, 1.0, balance(t, e.svc, bob))
}

// A reservation nobody commits or releases (its instance crashed) lapses after the TTL.
func TestReservationExpires(t *testing.T) {
	clock := testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	e := newEnv(t, usage.WithClock(clock.Now), usage.WithReservationTTL(30*time.Second))
	spend(t, e, 99)
	_, err := e.rec.Reserve(ctx(t), bob, meter, 1)
	require.NoError(t, err)
	_, err = e.rec.Reserve(ctx(t), bob, meter, 1)
	require.ErrorIs(t, err, usage.ErrInsufficientBalance)
	clock.Advance(29 * time.Second)
	_, err = e.rec.Reserve(ctx(t), bob, meter, 1)
	require.ErrorIs(t, err, usage.ErrInsufficientBalance)
	clock.Advance(time.Second)
	_, err = e.rec.Reserve(ctx(t), bob, meter, 1)
	require.NoError(t, err)
}

func TestReserveRefuses(t *testing.T) {
	e := newEnv(t)
	for name, call := range map[string]func() error{
		"unknown meter": func() error { _, err := e.rec.Reserve(ctx(t), bob, "no-such-meter", 1); return err },
		"no meter":      func() error { _, err := e.rec.Reserve(ctx(t), bob, "", 1); return err },
		"zero amount":   func() error { _, err := e.rec.Reserve(ctx(t), bob, meter, 0); return err },
		"bad customer":  func() error { _, err := e.rec.Reserve(ctx(t), flowglad.Customer{}, meter, 1); return err },
	} {
		assert.Error(t, call(), name)
	}
	_, err := e.rec.Reserve(ctx(t), bob, "no-such-meter", 1)
	assert.ErrorIs(t, err, usage.ErrInsufficientBalance)
}

// The ledger grants a hold only when the balance covers it, counts the pending events of
// every name of the meter, and refuses a caller whose read predates a landing.
func TestMemoryLedger(t *testing.T) {
	c := context.Background()
	l := usage.NewMemoryLedger()
	refs := usage.MeterRefs{Slug: "m", ID: "m_1", PriceSlugs: []string{"p"}, PriceIDs: []string{"p_1"}}
	require.NoError(t, l.AddPending(c, "cust", []usage.PendingEvent{
		{TransactionID: "a", UsageMeterSlug: "m", Amount: 1},
		{TransactionID: "b", UsageMeterID: "m_1", Amount: 1},
		{TransactionID: "c", PriceSlug: "p", Amount: 1},
		{TransactionID: "d", PriceID: "p_1", Amount: 1},
		{TransactionID: "e", UsageMeterSlug: "other", Amount: 100},
	}))
	v, err := l.View(c, "cust")
	require.NoError(t, err)
	assert.Len(t, v.Pending, 5)
	hold := func(id string, amount int64) usage.Hold {
		return usage.Hold{ID: id, Meter: "m", Amount: amount, ExpiresAt: time.Now().Add(time.Hour)}
	}
	req := usage.ReserveRequest{CustomerID: "cust", Refs: refs, Available: 6, Generation: v.Generation}
	req.Hold = hold("h1", 3)
	ok, err := l.Reserve(c, req)
	require.NoError(t, err)
	assert.False(t, ok, "6 - 4 pending < 3")
	req.Hold = hold("h1", 2)
	ok, err = l.Reserve(c, req)
	require.NoError(t, err)
	assert.True(t, ok)
	req.Hold = hold("h2", 1)
	ok, err = l.Reserve(c, req)
	require.NoError(t, err)
	assert.False(t, ok, "6 - 4 pending - 2 held < 1")

	require.NoError(t, l.RemovePending(c, "cust", []string{"a"}))
	_, err = l.Reserve(c, req)
	assert.ErrorIs(t, err, usage.ErrStale)
	v, err = l.View(c, "cust")
	require.NoError(t, err)
	req.Generation = v.Generation
	ok, err = l.Reserve(c, req)
	require.NoError(t, err)
	assert.True(t, ok)

	require.NoError(t, l.Unreserve(c, "cust", "h1"))
	require.NoError(t, l.Unreserve(c, "cust", "h2"))
	require.NoError(t, l.RemovePending(c, "cust", []string{"b", "c", "d", "e"}))
	v, err = l.View(c, "cust")
	require.NoError(t, err)
	assert.Empty(t, v.Pending)
	assert.Empty(t, v.Holds)
}

// Generations are per customer: another customer's usage landing does not send a
// reservation back to read its balance again, and a landing that empties a customer's
// entry still does.
func TestMemoryLedgerGenerations(t *testing.T) {
	c := context.Background()
	l := usage.NewMemoryLedger()
	refs := usage.MeterRefs{Slug: "m"}
	hold := usage.Hold{ID: "h", Meter: "m", Amount: 1, ExpiresAt: time.Now().Add(time.Hour)}
	require.NoError(t, l.AddPending(c, "a", []usage.PendingEvent{{TransactionID: "a1", UsageMeterSlug: "m", Amount: 1}}))
	require.NoError(t, l.AddPending(c, "b", []usage.PendingEvent{{TransactionID: "b1", UsageMeterSlug: "m", Amount: 1}}))
	va, err := l.View(c, "a")
	require.NoError(t, err)

	require.NoError(t, l.RemovePending(c, "b", []string{"b1"}))
	ok, err := l.Reserve(c, usage.ReserveRequest{CustomerID: "a", Hold: hold, Refs: refs, Available: 2, Generation: va.Generation})
	require.NoError(t, err, "b's landing does not concern a")
	assert.True(t, ok)
	require.NoError(t, l.Unreserve(c, "a", "h"))

	va, err = l.View(c, "a")
	require.NoError(t, err)
	require.NoError(t, l.RemovePending(c, "a", []string{"a1"})) // a's entry is now empty
	_, err = l.Reserve(c, usage.ReserveRequest{CustomerID: "a", Hold: hold, Refs: refs, Available: 1, Generation: va.Generation})
	assert.ErrorIs(t, err, usage.ErrStale, "a balance read before a's usage landed")
	va, err = l.View(c, "a")
	require.NoError(t, err)
	ok, err = l.Reserve(c, usage.ReserveRequest{CustomerID: "a", Hold: hold, Refs: refs, Available: 1, Generation: va.Generation})
	require.NoError(t, err)
	assert.True(t, ok)
}

// Commit records against the reservation's meter unless the usage names its own.
func TestCommitKeepsTheUsagesMeter(t *testing.T) {
	e := newEnv(t)
	for _, p := range []flowglad.UsageEventParams{
		{TransactionID: "meter"},
		{PriceSlug: flowgladapitest.DemoPriceAPICallsOverage, TransactionID: "price"},
	} {
		res, err := e.rec.Reserve(ctx(t), bob, meter, 1)
		require.NoError(t, err)
		_, err = res.Commit(ctx(t), p)
		require.NoError(t, err)
	}
	require.NoError(t, e.rec.Flush(ctx(t)))
	got := map[string]string{}
	for _, ev := range e.fake.UsageEvents() {
		got[ev.TransactionID] = ev.PriceID
	}
	require.Len(t, got, 2)
	assert.Empty(t, e.dead.get())
	for _, r := range e.fake.Requests() {
		if r.Path == bulkPath {
			assert.Contains(t, string(r.Body), `"priceSlug":"`+flowgladapitest.DemoPriceAPICallsOverage+`"`)
			assert.Contains(t, string(r.Body), `"usageMeterSlug":"`+meter+`"`)
		}
	}
}

func TestMemoryLedgerConformance(t *testing.T) {
	queuetest.RunLedger(t, func(*testing.T) usage.Ledger { return usage.NewMemoryLedger() })
}

// TestReserveAfterUsageLandedInTheRequest: a request read the customer's billing (a gate)
// while an event was pending; the event then reached Flowglad (its pending amount is gone
// from the ledger) before the request reserved. The reservation is checked against billing
// read after the ledger, never the request's older read (which shows neither the event at
// Flowglad nor pending): the balance the event used up cannot be reserved again.
func TestReserveAfterUsageLandedInTheRequest(t *testing.T) {
	e := newEnv(t)
	spend(t, e, 99) // a balance of 1
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 1})
	require.NoError(t, err)

	req := reqmemo.With(ctx(t))
	subs, err := e.svc.CurrentSubscriptions(req, bob) // the gate's read: 1 at Flowglad, 1 pending
	require.NoError(t, err)
	require.Zero(t, subs[0].UsageBalance(meter).AvailableBalance)

	require.NoError(t, e.rec.Flush(ctx(t))) // the event lands while the request runs
	res, err := e.rec.Reserve(req, bob, meter, 1)
	if res != nil {
		res.Release(req)
	}
	require.ErrorIs(t, err, usage.ErrInsufficientBalance, "the landed event's unit was reserved again")

	// The request's later reads agree with Flowglad.
	subs, err = e.svc.CurrentSubscriptions(req, bob)
	require.NoError(t, err)
	assert.Zero(t, subs[0].UsageBalance(meter).AvailableBalance)
}

// TestReserveUsesTheRequestsBilling: without a billing cache, a request that read the
// customer's billing (a gate) reserves without reading it again, as long as no usage has
// landed since; when some has, it reads it once more.
func TestReserveUsesTheRequestsBilling(t *testing.T) {
	e := newEnv(t)
	billing := "GET /api/v1/customers/" + bob.ExternalID + "/billing"
	reserveInRequest := func() {
		t.Helper()
		req := reqmemo.With(ctx(t))
		_, err := e.svc.CurrentSubscriptions(req, bob)
		require.NoError(t, err)
		res, err := e.rec.Reserve(req, bob, meter, 1)
		require.NoError(t, err)
		res.Release(req)
	}
	e.fake.ResetRequests()
	reserveInRequest()
	assert.Equal(t, 1, calls(e.fake)[billing], "one read for the gate and the reservation")

	// Usage lands between the request's read and its reservation.
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 1})
	require.NoError(t, err)
	req := reqmemo.With(ctx(t))
	_, err = e.svc.CurrentSubscriptions(req, bob)
	require.NoError(t, err)
	require.NoError(t, e.rec.Flush(ctx(t)))
	e.fake.ResetRequests()
	res, err := e.rec.Reserve(req, bob, meter, 1)
	require.NoError(t, err)
	res.Release(req)
	assert.Equal(t, 1, calls(e.fake)[billing], "read again after the landing")
}

// TestReserveAcrossInstancesWithLocalCaches: two instances share a ledger (as on a Redis
// queue) but each keeps billing in its own memory. Usage recorded and sent by one reaches
// Flowglad; the other's cached billing predates it, and the ledger no longer counts it as
// pending. The other instance's next request reads billing again rather than reserve the
// unit the event used up.
func TestReserveAcrossInstancesWithLocalCaches(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	ledger := usage.NewMemoryLedger()
	cached := flowglad.Config{BillingCacheTTL: time.Hour}
	a := newEnvCfg(t, fake, cached, usage.WithLedger(ledger))
	b := newEnvCfg(t, fake, cached, usage.WithLedger(ledger))
	spend(t, a, 99) // a balance of 1

	// A records the last unit; B's request reads billing (and caches it) while it is pending.
	_, err := a.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 1})
	require.NoError(t, err)
	req := reqmemo.With(ctx(t))
	subs, err := b.svc.CurrentSubscriptions(req, bob)
	require.NoError(t, err)
	require.Zero(t, subs[0].UsageBalance(meter).AvailableBalance, "1 at Flowglad, 1 pending")

	// A sends it: Flowglad has it, the shared ledger no longer counts it.
	require.NoError(t, a.rec.Flush(ctx(t)))

	// B's next request (a gate, then its reservation).
	req = reqmemo.With(ctx(t))
	subs, err = b.svc.CurrentSubscriptions(req, bob)
	require.NoError(t, err)
	assert.Zero(t, subs[0].UsageBalance(meter).AvailableBalance, "B's cached billing predates the event")
	res, err := b.rec.Reserve(req, bob, meter, 1)
	if res != nil {
		res.Release(req)
	}
	assert.ErrorIs(t, err, usage.ErrInsufficientBalance, "the unit the event used was reserved again")
}
