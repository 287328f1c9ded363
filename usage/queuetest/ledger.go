package queuetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/usage"
)

// RunLedger runs the ledger conformance suite, one subtest per behaviour: the in-process
// usage.MemoryLedger and usage/redisqueue's shared Ledger run the same table, so the
// Recorder's reservations and balances mean the same whichever it is given. open returns a
// new, empty ledger each time it is called.
func RunLedger(t *testing.T, open func(t *testing.T) usage.Ledger) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, l usage.Ledger)
	}{
		{"Empty", testLedgerEmpty},
		{"Sums", testLedgerSums},
		{"ReserveCountsPendingAndHolds", testLedgerReserve},
		{"ReserveConcurrent", testLedgerReserveConcurrent},
		{"Stale", testLedgerStale},
		{"AddPendingCount", testLedgerAddPendingCount},
		{"RemovePendingAt", testLedgerRemovePendingAt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
	}
}

var ledgerRefs = usage.MeterRefs{Slug: "m", ID: "m_1", PriceSlugs: []string{"p"}, PriceIDs: []string{"p_1"}}

func view(t *testing.T, l usage.Ledger, customer string) usage.LedgerView {
	t.Helper()
	v, err := l.View(context.Background(), customer)
	if err != nil {
		t.Fatalf("View(%q): %v", customer, err)
	}
	return v
}

func reserve(t *testing.T, l usage.Ledger, customer, id string, amount int64, available float64, gen uint64) (bool, error) {
	t.Helper()
	return l.Reserve(context.Background(), usage.ReserveRequest{
		CustomerID: customer, Refs: ledgerRefs, Available: available, Generation: gen,
		Hold: usage.Hold{ID: id, Meter: "m", Amount: amount, ExpiresAt: time.Now().Add(time.Hour)},
	})
}

func testLedgerEmpty(t *testing.T, l usage.Ledger) {
	v := view(t, l, "nobody")
	if len(v.Pending) != 0 || len(v.Holds) != 0 {
		t.Errorf("View of a customer with nothing = %+v, want empty", v)
	}
}

// testLedgerSums: many events on one meter are one entry holding their sum; an event noted
// twice counts once; removing subtracts; unknown ids are ignored.
func testLedgerSums(t *testing.T, l usage.Ledger) {
	ctx := context.Background()
	var evs []usage.PendingEvent
	for i := range 300 {
		evs = append(evs, usage.PendingEvent{TransactionID: "t" + strconv.Itoa(i), UsageMeterSlug: "m", Amount: 2})
	}
	evs = append(evs, usage.PendingEvent{TransactionID: "x", PriceID: "p_1", SubscriptionID: "sub_1", Amount: 5})
	if err := l.AddPending(ctx, "c", evs); err != nil {
		t.Fatal(err)
	}
	if err := l.AddPending(ctx, "c", evs[:10]); err != nil { // the same events again
		t.Fatal(err)
	}
	want := map[usage.PendingEvent]bool{
		{UsageMeterSlug: "m", Amount: 600}:                   true,
		{PriceID: "p_1", SubscriptionID: "sub_1", Amount: 5}: true,
	}
	checkPending(t, "after adding", view(t, l, "c").Pending, want)

	if err := l.RemovePending(ctx, "c", []string{"t0", "t1", "nope", "x"}); err != nil {
		t.Fatal(err)
	}
	checkPending(t, "after removing", view(t, l, "c").Pending, map[usage.PendingEvent]bool{
		{UsageMeterSlug: "m", Amount: 596}: true,
	})
	if v := view(t, l, "other"); len(v.Pending) != 0 {
		t.Errorf("another customer sees %v", v.Pending)
	}
}

// testLedgerAddPendingCount: a ledger with the optional AddPendingCount (see usage.Ledger)
// counts the events it noted, not those pending already under their id, and notes each
// once, as AddPending does.
func testLedgerAddPendingCount(t *testing.T, l usage.Ledger) {
	c, ok := l.(interface {
		AddPendingCount(ctx context.Context, customerID string, events []usage.PendingEvent) (int, error)
	})
	if !ok {
		t.Skip("the ledger has no AddPendingCount (optional)")
	}
	ctx := context.Background()
	a := usage.PendingEvent{TransactionID: "a", UsageMeterSlug: "m", Amount: 3}
	b := usage.PendingEvent{TransactionID: "b", UsageMeterSlug: "m", Amount: 4}
	for _, step := range []struct {
		events []usage.PendingEvent
		added  int
	}{
		{[]usage.PendingEvent{a}, 1},
		{[]usage.PendingEvent{a}, 0},    // a retry with the same id
		{[]usage.PendingEvent{a, b}, 1}, // one of them new
		{nil, 0},
	} {
		n, err := c.AddPendingCount(ctx, "c", step.events)
		if err != nil {
			t.Fatal(err)
		}
		if n != step.added {
			t.Errorf("AddPendingCount(%v) = %d, want %d", step.events, n, step.added)
		}
	}
	checkPending(t, "after adding", view(t, l, "c").Pending, map[usage.PendingEvent]bool{
		{UsageMeterSlug: "m", Amount: 7}: true,
	})
}

// testLedgerRemovePendingAt: a ledger with the optional RemovePendingAt (see usage.Ledger)
// removes as RemovePending does, returns the generation after it (what View then says),
// and reports whether the generation was the caller's just before: a removal in between
// makes it false, and removes all the same.
func testLedgerRemovePendingAt(t *testing.T, l usage.Ledger) {
	r, ok := l.(interface {
		RemovePendingAt(ctx context.Context, customerID string, txIDs []string, gen uint64) (uint64, bool, error)
	})
	if !ok {
		t.Skip("the ledger has no RemovePendingAt (optional)")
	}
	ctx := context.Background()
	if err := l.AddPending(ctx, "c", []usage.PendingEvent{
		{TransactionID: "t1", UsageMeterSlug: "m", Amount: 2},
		{TransactionID: "t2", UsageMeterSlug: "m", Amount: 3},
	}); err != nil {
		t.Fatal(err)
	}
	gen := view(t, l, "c").Generation
	for _, step := range []struct {
		id        string
		wasAt     bool
		remaining map[usage.PendingEvent]bool
	}{
		{"t1", true, map[usage.PendingEvent]bool{{UsageMeterSlug: "m", Amount: 3}: true}},
		{"t2", false, map[usage.PendingEvent]bool{}}, // behind: t1's removal came in between
	} {
		next, wasAt, err := r.RemovePendingAt(ctx, "c", []string{step.id}, gen)
		if err != nil {
			t.Fatal(err)
		}
		if wasAt != step.wasAt {
			t.Errorf("RemovePendingAt(%s) at generation %d: wasAt = %v, want %v", step.id, gen, wasAt, step.wasAt)
		}
		v := view(t, l, "c")
		if next != v.Generation {
			t.Errorf("RemovePendingAt(%s) returned generation %d, View says %d", step.id, next, v.Generation)
		}
		if next == gen {
			t.Errorf("RemovePendingAt(%s) left the generation at %d", step.id, gen)
		}
		checkPending(t, "after removing "+step.id, v.Pending, step.remaining)
	}
}

func checkPending(t *testing.T, when string, got []usage.PendingEvent, want map[usage.PendingEvent]bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: View.Pending = %+v, want %d entries %+v", when, got, len(want), want)
		return
	}
	for _, e := range got {
		if !want[e] {
			t.Errorf("%s: View.Pending has %+v, want one of %+v", when, e, want)
		}
	}
}

// testLedgerReserve: a hold is granted only when Flowglad's balance, less the pending usage
// that counts against the meter (by slug, id, price slug or price id) and the live holds,
// covers it.
func testLedgerReserve(t *testing.T, l usage.Ledger) {
	ctx := context.Background()
	if err := l.AddPending(ctx, "c", []usage.PendingEvent{
		{TransactionID: "a", UsageMeterSlug: "m", Amount: 1},
		{TransactionID: "b", UsageMeterID: "m_1", Amount: 1},
		{TransactionID: "c", PriceSlug: "p", Amount: 1},
		{TransactionID: "d", PriceID: "p_1", Amount: 1},
		{TransactionID: "e", UsageMeterSlug: "other", Amount: 100},
	}); err != nil {
		t.Fatal(err)
	}
	gen := view(t, l, "c").Generation
	for _, step := range []struct {
		id     string
		amount int64
		want   bool
	}{
		{"h1", 3, false}, // 6 - 4 pending < 3
		{"h1", 2, true},
		{"h2", 1, false}, // 6 - 4 pending - 2 held < 1
	} {
		ok, err := reserve(t, l, "c", step.id, step.amount, 6, gen)
		if err != nil || ok != step.want {
			t.Errorf("Reserve(%s, %d) = %v, %v; want %v", step.id, step.amount, ok, err, step.want)
		}
	}
	if v := view(t, l, "c"); len(v.Holds) != 1 || v.Holds[0].ID != "h1" {
		t.Errorf("View.Holds = %+v, want h1", v.Holds)
	}
	if err := l.Unreserve(ctx, "c", "h1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := reserve(t, l, "c", "h2", 2, 6, gen); err != nil || !ok {
		t.Errorf("after Unreserve, Reserve = %v, %v; want granted", ok, err)
	}
}

// testLedgerReserveConcurrent: 24 concurrent reservations of 1 on a balance of 5 with 1
// pending: exactly 4 are granted.
func testLedgerReserveConcurrent(t *testing.T, l usage.Ledger) {
	if err := l.AddPending(context.Background(), "c", []usage.PendingEvent{{TransactionID: "a", UsageMeterSlug: "m", Amount: 1}}); err != nil {
		t.Fatal(err)
	}
	gen := view(t, l, "c").Generation
	var granted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := reserve(t, l, "c", "h"+strconv.Itoa(i), 1, 5, gen)
			if err != nil {
				errs <- err
			}
			if ok {
				granted.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if g := granted.Load(); g != 4 {
		t.Errorf("granted %d reservations of 1 on 5 - 1 pending, want 4", g)
	}
}

// testLedgerStale: usage reaching Flowglad (RemovePending) makes a reservation on a balance
// read before it stale.
func testLedgerStale(t *testing.T, l usage.Ledger) {
	ctx := context.Background()
	if err := l.AddPending(ctx, "c", []usage.PendingEvent{{TransactionID: "a", UsageMeterSlug: "m", Amount: 1}}); err != nil {
		t.Fatal(err)
	}
	before := view(t, l, "c").Generation
	if err := l.RemovePending(ctx, "c", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reserve(t, l, "c", "h", 1, 10, before); !errors.Is(err, usage.ErrStale) {
		t.Errorf("Reserve on a generation from before a landing: %v, want ErrStale", err)
	}
	if ok, err := reserve(t, l, "c", "h", 1, 10, view(t, l, "c").Generation); err != nil || !ok {
		t.Errorf("Reserve on the current generation = %v, %v; want granted", ok, err)
	}
}
