package redisqueue_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/crashtest"
	"github.com/flowglad-go/flowglad/internal/redistest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/redisqueue"
)

const (
	crashQueue = "crash"
	// crashVisibility is short, so that the survivor takes over within the test, and long
	// enough that the child's claims are not taken over before the survivor has sent the
	// events nobody claimed.
	crashVisibility = 1500 * time.Millisecond
	// markClaimed is printed for each event the dying child claimed and never sent: the
	// customer and the transaction id.
	markClaimed = "CLAIMED"
	// markHolding is printed once the dying child holds those claims.
	markHolding = "HOLDING"
	// dyingConsumer names the child in the consumer group.
	dyingConsumer = "dying"
)

// TestKill9HoldingClaims: two instances share a Redis queue and its ledger. One records
// events for two customers, claims a batch it never sends, starts flushing, and is killed
// with SIGKILL while Flowglad holds one of its bulk calls unanswered. The other, a live
// recorder on the same queue, sends at once what nobody claimed, and the dead instance's
// claims once they are older than the visibility timeout (not before): every event is at
// Flowglad exactly once, and the pending usage the dead instance left in the shared ledger
// is gone once the survivor has sent it.
func TestKill9HoldingClaims(t *testing.T) {
	ctx, fake := crashtest.Begin(t)
	srv := redistest.Start(t)
	rdb := srv.Client()

	child := crashtest.Start(ctx, t, "TestRedisCrashChild", fake.Config("record", crashtest.Events, srv.Sock))
	child.Await(ctx, t, markHolding)
	crashtest.Await(ctx, t, "a second bulk call", fake.Held())
	child.Kill(t)
	recorded := child.Recorded()
	require.Len(t, recorded, crashtest.Events)

	// What the dead instance holds, and since when, by Redis's clock.
	claimedAt := deliveries(ctx, t, rdb)
	require.Len(t, claimedAt, 2*crashtest.Batch, "the dead instance holds the batch in flight and the batch it never sent")
	neverSent := child.Marks(markClaimed)
	require.Len(t, neverSent, crashtest.Batch)

	fake.Release()
	atFlowglad := map[string]bool{}
	for _, e := range fake.UsageEvents() {
		atFlowglad[e.TransactionID] = true
	}
	t.Logf("after the kill: %d bulk calls, %d events at Flowglad", fake.BulkCalls(), len(atFlowglad))
	require.Equal(t, 2*crashtest.Batch, len(atFlowglad), "the batch answered and the batch held reached Flowglad")
	for _, f := range neverSent {
		require.False(t, atFlowglad[storedTx(f)], "event %v was claimed and never sent", f)
	}

	q, err := redisqueue.New(rdb, crashQueue, redisqueue.WithVisibilityTimeout(crashVisibility),
		redisqueue.WithConsumer("survivor"))
	require.NoError(t, err)
	ledger := q.Ledger()
	// The first batch Flowglad stored is the one it answered (the dead recorder removed it from
	// the ledger); every other event is still pending there, the held batch included.
	var answered int64
	for _, e := range fake.UsageEvents()[:crashtest.Batch] {
		answered += e.Amount
	}
	require.Equal(t, int64(crashtest.Events*(crashtest.Events+1)/2)-answered, pendingSum(ctx, t, ledger),
		"the dead instance's events are pending in the shared ledger, but for the batch Flowglad answered it")

	taken := &claimLog{Queue: q, rdb: rdb, at: map[string]time.Time{}}
	rec, err := usage.NewRecorder(fake.Service(t), usage.WithQueue(taken), usage.WithLedger(ledger),
		usage.WithBatchSize(crashtest.Batch), usage.WithFlushInterval(time.Hour))
	require.NoError(t, err)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	flushes := 0
	for {
		require.NoError(t, rec.Flush(ctx))
		flushes++
		if flushes == 1 {
			// Flush waits for no other instance's claims: what nobody held is sent at once.
			assertAtFlowglad(t, fake.UsageEvents(), recorded, neverSent)
		}
		st, err := q.Stats(ctx)
		require.NoError(t, err)
		if st.Queued == 0 {
			break
		}
		select {
		case <-tick.C: // polling Redis, not waiting for an outcome
		case <-ctx.Done():
			t.Fatalf("the survivor did not drain the queue: %d events left: %v", st.Queued, ctx.Err())
		}
	}
	require.NoError(t, rec.Close(ctx))
	t.Logf("drained in %d flushes", flushes)

	crashtest.AssertExactlyOnce(t, fake.UsageEvents(), crashtest.Events, recorded)
	assert.Greater(t, fake.EventsSent(), int64(crashtest.Events),
		"events of the unanswered batch were sent again (and skipped by Flowglad)")
	var missed []string
	early := map[string]time.Duration{}
	for id, claimed := range claimedAt {
		at, ok := taken.takenAt(id)
		switch {
		case !ok:
			missed = append(missed, id)
		// Redis reports idle times in whole milliseconds: a little slack.
		case at.Sub(claimed) < crashVisibility-5*time.Millisecond:
			early[id] = at.Sub(claimed)
		}
	}
	assert.Empty(t, missed, "the dead instance's claims the survivor did not take over")
	assert.Empty(t, early, "claims taken over before the visibility timeout (%v), and how old they were", crashVisibility)
	assert.Zero(t, pendingSum(ctx, t, ledger), "the survivor removed the pending usage it sent")
}

// TestRedisCrashChild is the child process of TestKill9HoldingClaims; run alone, it skips.
func TestRedisCrashChild(t *testing.T) {
	cfg, ok := crashtest.ChildConfig(t)
	if !ok {
		t.Skip("the child process of TestKill9HoldingClaims")
	}
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: cfg.Queue, ContextTimeoutEnabled: true})
	q, err := redisqueue.New(rdb, crashQueue, redisqueue.WithVisibilityTimeout(crashVisibility),
		redisqueue.WithConsumer(dyingConsumer))
	require.NoError(t, err)
	rec, err := usage.NewRecorder(cfg.Service(t), usage.WithQueue(q), usage.WithLedger(q.Ledger()),
		usage.WithBatchSize(crashtest.Batch), usage.WithFlushInterval(time.Hour))
	require.NoError(t, err)
	require.Equal(t, "record", cfg.Mode)

	crashtest.RecordAll(ctx, t, rec, cfg.N)
	// A batch claimed and never sent, as by an instance that dies between its Claim and
	// its bulk call.
	claimed, err := q.Claim(ctx, crashtest.Batch)
	require.NoError(t, err)
	for _, c := range claimed {
		crashtest.Mark(markClaimed, c.Event.CustomerID, c.Event.TransactionID)
	}
	crashtest.Mark(markHolding)
	crashtest.FlushUntilKilled(ctx, t, rec)
}

// deliveries returns the entries the group's consumers hold, with when each was last
// delivered by Redis's clock (its time less the entry's idle time, read in one
// transaction). They must all be the dying child's.
func deliveries(ctx context.Context, t *testing.T, rdb *redis.Client) map[string]time.Time {
	t.Helper()
	pipe := rdb.TxPipeline()
	now := pipe.Time(ctx)
	pend := pipe.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: redisqueue.DefaultPrefix + "{" + crashQueue + "}", Group: redisqueue.DefaultGroup,
		Start: "-", End: "+", Count: 10 * crashtest.Events,
	})
	_, err := pipe.Exec(ctx)
	require.NoError(t, err)
	out := map[string]time.Time{}
	for _, p := range pend.Val() {
		require.Equal(t, dyingConsumer, p.Consumer, "entry %s", p.ID)
		out[p.ID] = now.Val().Add(-p.Idle)
	}
	return out
}

// pendingSum returns the crash test customers' pending usage in the ledger.
func pendingSum(ctx context.Context, t *testing.T, l usage.Ledger) int64 {
	t.Helper()
	var sum int64
	for _, c := range crashtest.Customers {
		v, err := l.View(ctx, c)
		require.NoError(t, err)
		for _, e := range v.Pending {
			sum += e.Amount
		}
	}
	return sum
}

// assertAtFlowglad checks that every recorded event is at Flowglad but those in except
// (marks of customer and transaction id), which may or may not be.
func assertAtFlowglad(t *testing.T, at []flowgladapitest.UsageEvent, recorded []crashtest.Tx, except [][]string) {
	t.Helper()
	maybe := map[string]bool{}
	for _, f := range except {
		maybe[storedTx(f)] = true
	}
	got := map[string]bool{}
	for _, e := range at {
		got[e.TransactionID] = true
	}
	var missing []crashtest.Tx
	for _, tx := range recorded {
		if !got[tx.Stored()] && !maybe[tx.Stored()] {
			missing = append(missing, tx)
		}
	}
	assert.Empty(t, missing, "events nobody held, not at Flowglad after the survivor's first Flush")
}

// storedTx is the transaction id Flowglad stores for a mark's customer and id.
func storedTx(fields []string) string {
	return crashtest.Tx{Customer: fields[0], ID: fields[1]}.Stored()
}

// claimLog is a queue that notes when, by Redis's clock, each entry was handed out to it.
type claimLog struct {
	usage.Queue
	rdb *redis.Client

	mu sync.Mutex
	at map[string]time.Time
}

func (l *claimLog) Claim(ctx context.Context, max int) ([]usage.Claimed, error) {
	cs, err := l.Queue.Claim(ctx, max)
	if err != nil || len(cs) == 0 {
		return cs, err
	}
	now, err := l.rdb.Time(ctx).Result()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		if _, ok := l.at[c.ID]; !ok {
			l.at[c.ID] = now
		}
	}
	return cs, nil
}

func (l *claimLog) takenAt(id string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.at[id]
	return at, ok
}
