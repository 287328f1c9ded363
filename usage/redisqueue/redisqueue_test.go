package redisqueue_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/internal/redistest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/queuetest"
	"github.com/flowglad-go/flowglad/usage/redisqueue"
)

func newQueue(t *testing.T, rdb redis.UniversalClient, name string, opts ...redisqueue.Option) *redisqueue.Queue {
	t.Helper()
	q, err := redisqueue.New(rdb, name, opts...)
	require.NoError(t, err)
	return q
}

// TestRedisQueueConformance runs the queue conformance suite on a real redis-server. A
// reopened queue is another consumer of the same stream: what the stopped one held comes
// back after the visibility timeout.
func TestRedisQueueConformance(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	var n atomic.Int64
	const visibility = 500 * time.Millisecond
	queuetest.Run(t, func(t *testing.T) usage.Queue {
		return newQueue(t, rdb, "q"+strconv.FormatInt(n.Add(1), 10),
			redisqueue.WithCapacity(1000), redisqueue.WithVisibilityTimeout(visibility))
	}, queuetest.WithReopen(func(t *testing.T, q usage.Queue) usage.Queue {
		name := q.(*redisqueue.Queue).Name()
		require.NoError(t, q.Close())
		return newQueue(t, rdb, name, redisqueue.WithCapacity(1000), redisqueue.WithVisibilityTimeout(visibility))
	}))
}

// TestRedisQueueTakeover: two instances share a queue; one dies holding claimed events, and
// the other sends them once their claims are older than the visibility timeout, not before.
// Events one releases are the other's at once.
func TestRedisQueueTakeover(t *testing.T) {
	srv := redistest.Start(t)
	const visibility = 300 * time.Millisecond
	a := newQueue(t, srv.Client(), "shared", redisqueue.WithVisibilityTimeout(visibility), redisqueue.WithConsumer("a"))
	b := newQueue(t, srv.Client(), "shared", redisqueue.WithVisibilityTimeout(visibility), redisqueue.WithConsumer("b"))
	ctx := t.Context()
	evs := make([]usage.Event, 6)
	for i := range evs {
		evs[i] = usage.Event{CustomerID: "user_1", UsageMeterSlug: "api-calls", Amount: 1,
			TransactionID: "tx-" + strconv.Itoa(i), RecordedAt: int64(i + 1)}
	}
	require.NoError(t, a.Put(ctx, evs))

	held, err := a.Claim(ctx, 4)
	require.NoError(t, err)
	require.Len(t, held, 4)
	claimedAt := time.Now()
	rest, err := b.Claim(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"tx-4", "tx-5"}, txIDs(rest), "B gets only what A does not hold")

	require.NoError(t, a.Release(ctx, []string{held[0].ID}))
	got, err := b.Claim(ctx, 10)
	require.NoError(t, err)
	assert.Contains(t, txIDs(got), "tx-0", "a released event is B's at once")
	if time.Since(claimedAt) < visibility {
		assert.Equal(t, []string{"tx-0"}, txIDs(got), "held ones are not, before the visibility timeout")
	}

	// A dies holding tx-1..tx-3 (it never acknowledges them): B takes them over.
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 4 && time.Now().Before(deadline) {
		more, err := b.Claim(ctx, 10)
		require.NoError(t, err)
		got = append(got, more...)
		time.Sleep(20 * time.Millisecond) // polling Redis, not waiting for an outcome
	}
	assert.ElementsMatch(t, []string{"tx-0", "tx-1", "tx-2", "tx-3"}, txIDs(got))
	assert.GreaterOrEqual(t, time.Since(claimedAt), visibility, "taken over only after the visibility timeout")

	ids := make([]string, 0, len(got)+len(rest))
	for _, c := range append(got, rest...) {
		ids = append(ids, c.ID)
	}
	require.NoError(t, b.Ack(ctx, ids))
	st, err := a.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, usage.QueueStats{}, st, "every event acknowledged: the stream is empty")
}

// TestRedisQueueSkipsForeignEntries: an entry that is not an event (written by hand) is
// removed, not handed out forever.
func TestRedisQueueSkipsForeignEntries(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	q := newQueue(t, rdb, "junk")
	require.NoError(t, rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: redisqueue.DefaultPrefix + "{junk}", Values: []any{"e", "not an event"}}).Err())
	require.NoError(t, q.Put(t.Context(), []usage.Event{{CustomerID: "u", UsageMeterSlug: "m", Amount: 1, TransactionID: "ok"}}))
	c, err := q.Claim(t.Context(), 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"ok"}, txIDs(c))
	st, err := q.Stats(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, st.Queued, "the foreign entry is gone")
}

func TestRedisQueueNew(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	for _, tc := range []struct {
		name string
		opts []redisqueue.Option
	}{
		{"", nil},
		{"a{b}", nil},
		{"ok", []redisqueue.Option{redisqueue.WithPrefix("x{")}},
		{"ok", []redisqueue.Option{redisqueue.WithVisibilityTimeout(0)}},
		{"ok", []redisqueue.Option{redisqueue.WithCapacity(0)}},
	} {
		_, err := redisqueue.New(rdb, tc.name, tc.opts...)
		assert.Error(t, err, "%q %d options", tc.name, len(tc.opts))
	}
	_, err := redisqueue.New(nil, "ok")
	assert.Error(t, err)
	// A second New of the same queue is fine (the group exists).
	newQueue(t, rdb, "twice")
	newQueue(t, rdb, "twice")
}

func txIDs(cs []usage.Claimed) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Event.TransactionID
	}
	return out
}
