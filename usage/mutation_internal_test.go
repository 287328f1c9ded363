package usage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests that kill mutants gremlins left alive in the usage package (issue 15, item 19), on
// what only the package itself can see: how much the in-process ledger keeps.

// TestMemoryLedgerForgetsIdleCustomers: a customer whose pending usage has all landed and
// whose holds are all gone is dropped from the ledger (keeping only its generation, for
// two minutes), so a long-running process does not keep every customer it ever metered.
func TestMemoryLedgerForgetsIdleCustomers(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	hold := func(id string) Hold { return Hold{ID: id, Meter: "m", Amount: 1, ExpiresAt: t0.Add(time.Minute)} }
	tests := []struct {
		name     string
		run      func(l *MemoryLedger)
		tomb     bool // the customer's generation is kept
		pending  int  // what View still shows
		holdLeft int
	}{
		{"its usage landed", func(l *MemoryLedger) {
			require.NoError(t, l.AddPending(ctx, "c", []PendingEvent{{TransactionID: "t1", UsageMeterSlug: "m", Amount: 2}}))
			require.NoError(t, l.RemovePending(ctx, "c", []string{"t1"}))
		}, true, 0, 0},
		{"its hold was released", func(l *MemoryLedger) {
			ok, err := l.Reserve(ctx, ReserveRequest{CustomerID: "c", Hold: hold("h1"), Refs: MeterRefs{Slug: "m"}, Available: 5})
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, l.Unreserve(ctx, "c", "h1"))
		}, false, 0, 0},
		{"a hold is still live", func(l *MemoryLedger) {
			ok, err := l.Reserve(ctx, ReserveRequest{CustomerID: "c", Hold: hold("h1"), Refs: MeterRefs{Slug: "m"}, Available: 5})
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, l.AddPending(ctx, "c", []PendingEvent{{TransactionID: "t1", UsageMeterSlug: "m", Amount: 2}}))
			require.NoError(t, l.RemovePending(ctx, "c", []string{"t1"}))
		}, false, 0, 1},
		{"usage is still pending", func(l *MemoryLedger) {
			ok, err := l.Reserve(ctx, ReserveRequest{CustomerID: "c", Hold: hold("h1"), Refs: MeterRefs{Slug: "m"}, Available: 5})
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, l.AddPending(ctx, "c", []PendingEvent{{TransactionID: "t1", UsageMeterSlug: "m", Amount: 2}}))
			require.NoError(t, l.Unreserve(ctx, "c", "h1"))
		}, false, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newMemoryLedger(func() time.Time { return t0 })
			tc.run(l)
			v, err := l.View(ctx, "c")
			require.NoError(t, err)
			assert.Len(t, v.Pending, tc.pending)
			assert.Len(t, v.Holds, tc.holdLeft)
			idle := tc.pending == 0 && tc.holdLeft == 0
			assert.Equal(t, !idle, len(l.m) == 1, "an idle customer is dropped, a busy one kept")
			_, kept := l.tombs["c"]
			assert.Equal(t, tc.tomb, kept, "only a generation that moved is kept")
		})
	}
}

// TestMemoryLedgerTombsLastTwoMinutes: a dropped customer's generation is kept exactly
// tombTTL: a reservation whose balance read began before the landing is refused as stale
// until then, and the ledger forgets it from then on (swept when another customer goes
// idle), so generations of customers seen once do not pile up.
func TestMemoryLedgerTombsLastTwoMinutes(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name  string
		after time.Duration // since A's landing, when B's lands
		kept  bool
	}{
		{"just before two minutes", tombTTL - time.Nanosecond, true},
		{"at two minutes", tombTTL, false},
		{"after two minutes", tombTTL + time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			l := newMemoryLedger(func() time.Time { return now })
			land := func(customer string) {
				require.NoError(t, l.AddPending(ctx, customer, []PendingEvent{{TransactionID: "t", UsageMeterSlug: "m", Amount: 1}}))
				require.NoError(t, l.RemovePending(ctx, customer, []string{"t"}))
			}
			before, err := l.View(ctx, "a") // a balance read starts
			require.NoError(t, err)
			land("a")
			now = t0.Add(tc.after)
			land("b")

			_, tomb := l.tombs["a"]
			assert.Equal(t, tc.kept, tomb, "a's generation is kept tombTTL")
			assert.Contains(t, l.tombs, "b")
			_, err = l.Reserve(ctx, ReserveRequest{CustomerID: "a", Hold: Hold{ID: "h", Meter: "m", Amount: 1, ExpiresAt: now.Add(time.Minute)},
				Refs: MeterRefs{Slug: "m"}, Available: 10, Generation: before.Generation})
			if tc.kept {
				assert.ErrorIs(t, err, ErrStale, "the read predates the landing")
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

// TestDefaultBackoff: without WithBackoff, the wait after the attempt-th failure in a row
// doubles from 100 ms and stays at 30 s, as WithBackoff says.
func TestDefaultBackoff(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{2, 400 * time.Millisecond},
		{8, 25600 * time.Millisecond},
		{9, 30 * time.Second},
		{10, 30 * time.Second},
		{1 << 20, 30 * time.Second},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, defaultBackoff(tc.attempt), "attempt %d", tc.attempt)
	}
}

// TestKeptSubscriptionsBounded: the subscriptions the flusher keeps per customer (to choose
// events' subscriptions) never exceed maxKeptSubs customers: when full, those kept
// WithSubscriptionTTL or longer are dropped, and if none is, all are; the customer just
// read is always kept.
func TestKeptSubscriptionsBounded(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name string
		age  time.Duration // of the maxKeptSubs customers kept, when one more is read
		left int
	}{
		{"none has expired", DefaultSubscriptionTTL - time.Nanosecond, 1},
		{"all have expired", DefaultSubscriptionTTL, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			r := &Recorder{subs: map[string]keptSubs{}, subsTTL: DefaultSubscriptionTTL, now: func() time.Time { return now }}
			for i := range maxKeptSubs {
				r.keepSubs(fmt.Sprint("c", i), nil)
			}
			require.Len(t, r.subs, maxKeptSubs)
			now = t0.Add(tc.age)
			r.keepSubs("new", nil)
			assert.Len(t, r.subs, tc.left)
			_, ok := r.knownSubs("new")
			assert.True(t, ok, "the customer just read is kept")
		})
	}
	t.Run("some have expired", func(t *testing.T) {
		now := t0
		r := &Recorder{subs: map[string]keptSubs{}, subsTTL: DefaultSubscriptionTTL, now: func() time.Time { return now }}
		for i := range maxKeptSubs {
			if i == 10 {
				now = t0.Add(time.Second)
			}
			r.keepSubs(fmt.Sprint("c", i), nil)
		}
		now = t0.Add(DefaultSubscriptionTTL)
		r.keepSubs("new", nil)
		assert.Len(t, r.subs, maxKeptSubs-10+1, "the 10 kept 30 s ago are dropped, the others stay")
		_, ok := r.knownSubs("c10")
		assert.True(t, ok)
		_, ok = r.knownSubs("c0")
		assert.False(t, ok)
	})
}

// TestSubscriptionTTLZeroKeepsNothing: WithSubscriptionTTL(0) reads every batch's billing,
// and so keeps no customer's subscriptions at all (not even ones it would never serve).
func TestSubscriptionTTLZeroKeepsNothing(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	r := &Recorder{subs: map[string]keptSubs{}, subsTTL: 0, now: func() time.Time { return t0 }}
	r.keepSubs("c", nil)
	assert.Empty(t, r.subs)
	_, ok := r.knownSubs("c")
	assert.False(t, ok)
}

// TestSubscriptionFor: an event naming no subscription is charged to the first current
// subscription that has its meter (by slug or by id), else to the first current one.
func TestSubscriptionFor(t *testing.T) {
	subs := []flowgladapi.Subscription{
		{ID: "sub_first", UsageMeterBalances: []flowgladapi.UsageMeterBalance{{ID: "um_other", Slug: "other"}}},
		{ID: "sub_meter", UsageMeterBalances: []flowgladapi.UsageMeterBalance{{ID: "um_m", Slug: "m"}}},
	}
	tests := []struct {
		name string
		subs []flowgladapi.Subscription
		e    Event
		want string
	}{
		{"by slug", subs, Event{UsageMeterSlug: "m"}, "sub_meter"},
		{"by id", subs, Event{UsageMeterID: "um_m"}, "sub_meter"},
		{"no subscription has the slug", subs, Event{UsageMeterSlug: "x"}, "sub_first"},
		{"no subscription has the id", subs, Event{UsageMeterID: "um_x"}, "sub_first"},
		{"a price", subs, Event{PriceSlug: "p"}, "sub_first"},
		{"no current subscription", nil, Event{UsageMeterSlug: "m"}, ""},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, subscriptionFor(tc.subs, tc.e), tc.name)
	}
}
