package redisqueue_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/internal/redistest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/queuetest"
	"github.com/flowglad-go/flowglad/usage/redisqueue"
)

// twoInstances returns the ledgers of two instances' queues sharing one Redis.
func twoInstances(t *testing.T) (a, b *redisqueue.Ledger) {
	t.Helper()
	srv := redistest.Start(t)
	return newQueue(t, srv.Client(), "shared").Ledger(), newQueue(t, srv.Client(), "shared").Ledger()
}

var apiCalls = usage.MeterRefs{Slug: "api-calls", ID: "um_1", PriceSlugs: []string{"api-calls-overage"}, PriceIDs: []string{"price_1"}}

// TestRedisLedgerReservationsAcrossInstances: 24 requests, spread over two instances, try to
// reserve 1 of a balance of 5 at once: exactly 5 pass, and pending usage of either instance,
// named by the meter's slug, id or price, counts against the balance.
func TestRedisLedgerReservationsAcrossInstances(t *testing.T) {
	a, b := twoInstances(t)
	ctx := t.Context()

	require.NoError(t, a.AddPending(ctx, "alice", []usage.PendingEvent{
		{TransactionID: "t1", UsageMeterSlug: "api-calls", Amount: 2},
		{TransactionID: "t2", PriceSlug: "api-calls-overage", Amount: 1},
		{TransactionID: "t3", UsageMeterSlug: "other", Amount: 50},
	}))
	require.NoError(t, b.AddPending(ctx, "alice", []usage.PendingEvent{
		{TransactionID: "t1", UsageMeterSlug: "api-calls", Amount: 2}, // the same event: once
		{TransactionID: "t4", PriceID: "price_1", Amount: 1},
		{TransactionID: "t5", UsageMeterID: "um_1", Amount: 1},
	}))
	v, err := b.View(ctx, "alice")
	require.NoError(t, err)
	assert.Len(t, v.Pending, 5)

	const balance = 10 // less 5 pending on api-calls: 5 left
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := range 24 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := l.Reserve(ctx, usage.ReserveRequest{
				CustomerID: "alice", Refs: apiCalls, Available: balance, Generation: v.Generation,
				Hold: usage.Hold{ID: "h" + strconv.Itoa(i), Meter: "api-calls", Amount: 1, ExpiresAt: time.Now().Add(time.Minute)},
			})
			assert.NoError(t, err)
			if ok {
				granted.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(5), granted.Load())
	v, err = a.View(ctx, "alice")
	require.NoError(t, err)
	assert.Len(t, v.Holds, 5, "every instance sees every hold")

	// Usage reaching Flowglad moves the generation: a reservation on an older read is stale.
	require.NoError(t, a.RemovePending(ctx, "alice", []string{"t1", "t2"}))
	_, err = b.Reserve(ctx, usage.ReserveRequest{CustomerID: "alice", Refs: apiCalls, Available: 100, Generation: v.Generation,
		Hold: usage.Hold{ID: "late", Meter: "api-calls", Amount: 1, ExpiresAt: time.Now().Add(time.Minute)}})
	assert.ErrorIs(t, err, usage.ErrStale)
	v2, err := b.View(ctx, "alice")
	require.NoError(t, err)
	assert.Greater(t, v2.Generation, v.Generation)
	assert.Len(t, v2.Pending, 3)

	// Releasing holds frees the balance.
	for i := range 24 {
		require.NoError(t, a.Unreserve(ctx, "alice", "h"+strconv.Itoa(i)))
	}
	v3, err := b.View(ctx, "alice")
	require.NoError(t, err)
	assert.Empty(t, v3.Holds)
}

// TestRedisLedgerHoldsExpire: the holds of an instance that crashed lapse at their expiry.
func TestRedisLedgerHoldsExpire(t *testing.T) {
	srv := redistest.Start(t)
	l := newQueue(t, srv.Client(), "q").Ledger()
	ctx := t.Context()
	reserve := func(id string, ttl time.Duration) bool {
		t.Helper()
		ok, err := l.Reserve(ctx, usage.ReserveRequest{CustomerID: "bob", Refs: apiCalls, Available: 1,
			Hold: usage.Hold{ID: id, Meter: "api-calls", Amount: 1, ExpiresAt: time.Now().Add(ttl)}})
		require.NoError(t, err)
		return ok
	}
	require.True(t, reserve("crashed", 150*time.Millisecond))
	assert.False(t, reserve("second", time.Minute), "the balance of 1 is held")
	deadline := time.Now().Add(10 * time.Second)
	for !reserve("after", time.Minute) {
		require.True(t, time.Now().Before(deadline), "the crashed instance's hold never lapsed")
		time.Sleep(20 * time.Millisecond) // polling Redis until the hold's expiry
	}
	v, err := l.View(ctx, "bob")
	require.NoError(t, err)
	require.Len(t, v.Holds, 1)
	assert.Equal(t, "after", v.Holds[0].ID)
	_, err = l.View(ctx, "")
	assert.Error(t, err)
}

// TestRedisLedgerConformance runs the ledger conformance suite on a real redis-server.
func TestRedisLedgerConformance(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	var n atomic.Int64
	queuetest.RunLedger(t, func(t *testing.T) usage.Ledger {
		return newQueue(t, rdb, "ledger"+strconv.FormatInt(n.Add(1), 10)).Ledger()
	})
}

// TestRedisLedgerRemovePendingAt: instances sharing a ledger see each other's removals:
// the generation one's RemovePendingAt returns is what the other's View says, and a
// removal by one makes the other's RemovePendingAt at the older generation report it
// (queuetest.RunLedger holds the rest).
func TestRedisLedgerRemovePendingAt(t *testing.T) {
	a, b := twoInstances(t)
	ctx := t.Context()
	require.NoError(t, a.AddPending(ctx, "alice", []usage.PendingEvent{
		{TransactionID: "t1", UsageMeterSlug: "api-calls", Amount: 2},
		{TransactionID: "t2", UsageMeterSlug: "api-calls", Amount: 3},
	}))
	v, err := a.View(ctx, "alice")
	require.NoError(t, err)

	next, wasAt, err := a.RemovePendingAt(ctx, "alice", []string{"t1"}, v.Generation)
	require.NoError(t, err)
	assert.True(t, wasAt)
	v2, err := b.View(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, next, v2.Generation, "b sees a's removal")

	_, wasAt, err = b.RemovePendingAt(ctx, "alice", []string{"t2"}, v.Generation)
	require.NoError(t, err)
	assert.False(t, wasAt, "a's removal came in between")
}
