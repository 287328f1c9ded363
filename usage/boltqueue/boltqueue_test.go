package boltqueue_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/boltqueue"
)

func event(i int) usage.Event {
	return usage.Event{
		CustomerID: "user_" + fmt.Sprint(i%3), UsageMeterSlug: "api-calls", Amount: int64(i + 1),
		TransactionID: fmt.Sprintf("tx-%d", i), UsageDate: 1765000000000 + int64(i), RecordedAt: 1765000000000 + int64(i),
	}
}

func events(from, n int) []usage.Event {
	out := make([]usage.Event, n)
	for i := range out {
		out[i] = event(from + i)
	}
	return out
}

func open(t testing.TB, path string, opts ...boltqueue.Option) *boltqueue.Queue {
	t.Helper()
	q, err := boltqueue.Open(path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func claimAll(t *testing.T, q usage.Queue) []usage.Claimed {
	t.Helper()
	c, err := q.Claim(context.Background(), 1<<20)
	require.NoError(t, err)
	return c
}

func eventsOf(cs []usage.Claimed) []usage.Event {
	out := make([]usage.Event, len(cs))
	for i, c := range cs {
		out[i] = c.Event
	}
	return out
}

func TestReopenKeepsEvents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := boltqueue.Open(path)
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, events(0, 3)))
	require.NoError(t, q.Put(ctx, events(3, 2)))
	first := claimAll(t, q)
	require.Len(t, first, 5)
	require.NoError(t, q.Ack(ctx, []string{first[1].ID}))
	require.NoError(t, q.Close())

	q = open(t, path)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, st.Queued, "counters are rebuilt from the file")
	assert.Equal(t, 0, st.Claimed)
	assert.Equal(t, time.UnixMilli(event(0).RecordedAt), st.OldestRecordedAt)

	want := append(events(0, 1), events(2, 3)...)
	assert.Equal(t, want, eventsOf(claimAll(t, q)), "every unacknowledged event, in the order put; the acknowledged one is gone")

	// Sequence numbers keep growing across a reopen: a new event comes after the old ones.
	require.NoError(t, q.Put(ctx, events(10, 1)))
	c := claimAll(t, q)
	require.Len(t, c, 1)
	assert.Equal(t, event(10), c[0].Event)
	for _, old := range first {
		assert.NotEqual(t, old.ID, c[0].ID, "an id is never reused")
	}
}

func TestClaimsDoNotSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := boltqueue.Open(path)
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, events(0, 4)))
	c, err := q.Claim(ctx, 3)
	require.NoError(t, err)
	require.Len(t, c, 3)
	more, err := q.Claim(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, []usage.Event{event(3)}, eventsOf(more), "claimed events are hidden while this process holds them")
	// The process "dies" holding its claims: neither acknowledged nor released.
	require.NoError(t, q.Close())

	q = open(t, path)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, usage.QueueStats{Queued: 4, OldestRecordedAt: time.UnixMilli(event(0).RecordedAt)}, st)
	assert.Equal(t, events(0, 4), eventsOf(claimAll(t, q)), "every claim of the dead process is void")
}

func TestOpenRefusesFilesThatAreNotQueues(t *testing.T) {
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 3)
		}
		return b
	}
	boltFile := func(t *testing.T, fill func(tx *bolt.Tx) error) []byte {
		p := filepath.Join(t.TempDir(), "other.db")
		db, err := bolt.Open(p, 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(fill))
		require.NoError(t, db.Close())
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name    string
		content func(t *testing.T) []byte
	}{
		{"a few bytes of text", func(*testing.T) []byte { return []byte("hello, world\n") }},
		{"one page of garbage", func(*testing.T) []byte { return garbage(4096) }},
		{"garbage the size of a database", func(*testing.T) []byte { return garbage(64 << 10) }},
		{"another program's bbolt database", func(t *testing.T) []byte {
			return boltFile(t, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("sessions"))
				if err != nil {
					return err
				}
				return b.Put([]byte("k"), []byte("v"))
			})
		}},
		{"a queue of another format", func(t *testing.T) []byte {
			return boltFile(t, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("meta"))
				if err != nil {
					return err
				}
				return b.Put([]byte("format"), []byte("flowglad-usage-queue/99"))
			})
		}},
		{"a damaged queue (truncated)", func(t *testing.T) []byte {
			p := filepath.Join(t.TempDir(), "q.db")
			q, err := boltqueue.Open(p)
			require.NoError(t, err)
			require.NoError(t, q.Put(context.Background(), events(0, 3)))
			require.NoError(t, q.Close())
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			return b[:4096+100]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "usage.db")
			content := tt.content(t)
			require.NoError(t, os.WriteFile(path, content, 0o600))

			q, err := boltqueue.Open(path, boltqueue.WithLockTimeout(time.Second))
			if q != nil {
				_ = q.Close()
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, boltqueue.ErrNotQueue)
			assert.Contains(t, err.Error(), path, "the error names the file")
			after, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			assert.Equal(t, content, after, "the file is left as it was")
		})
	}
}

func TestSecondOpenFailsAfterLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	first, err := boltqueue.Open(path)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		q, err := boltqueue.Open(path, boltqueue.WithLockTimeout(100*time.Millisecond))
		if q != nil {
			_ = q.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, boltqueue.ErrLocked)
		assert.Contains(t, err.Error(), path)
	case <-time.After(30 * time.Second):
		t.Fatal("a second Open of a held file waited past its lock timeout")
	}

	require.NoError(t, first.Close())
	q := open(t, path, boltqueue.WithLockTimeout(100*time.Millisecond))
	require.NoError(t, q.Put(context.Background(), events(0, 1)), "the file is free once the first queue is closed")
}

func TestCapacityIsAllOrNone(t *testing.T) {
	ctx := context.Background()
	q := open(t, filepath.Join(t.TempDir(), "usage.db"), boltqueue.WithCapacity(3))
	require.NoError(t, q.Put(ctx, events(0, 2)))
	assert.ErrorIs(t, q.Put(ctx, events(2, 2)), usage.ErrQueueFull)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Queued, "a refused Put adds nothing")
	require.NoError(t, q.Put(ctx, events(2, 1)))
	assert.ErrorIs(t, q.Put(ctx, events(3, 1)), usage.ErrQueueFull)

	// Claimed events still take room; acknowledged ones free it.
	c, err := q.Claim(ctx, 1)
	require.NoError(t, err)
	assert.ErrorIs(t, q.Put(ctx, events(3, 1)), usage.ErrQueueFull)
	require.NoError(t, q.Ack(ctx, []string{c[0].ID}))
	require.NoError(t, q.Put(ctx, events(3, 1)))
}

func TestCapacityHoldsUnderConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	q := open(t, filepath.Join(t.TempDir(), "usage.db"), boltqueue.WithCapacity(10))
	var wg sync.WaitGroup
	errs := make([]error, 25)
	for i := range errs {
		wg.Go(func() { errs[i] = q.Put(ctx, events(i, 1)) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, usage.ErrQueueFull)
		}
	}
	assert.Equal(t, 10, ok)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 10, st.Queued)
}

func TestConcurrentPutsAreAllStoredOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := boltqueue.Open(path)
	require.NoError(t, err)
	const writers, each = 20, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				assert.NoError(t, q.Put(ctx, events(w*each+i, 1)))
			}
		})
	}
	wg.Wait()
	require.NoError(t, q.Close())

	q = open(t, path)
	got := claimAll(t, q)
	seen := map[string]bool{}
	ids := map[string]bool{}
	for _, c := range got {
		seen[c.Event.TransactionID] = true
		ids[c.ID] = true
	}
	assert.Len(t, got, writers*each)
	assert.Len(t, seen, writers*each, "every event once")
	assert.Len(t, ids, writers*each, "every event its own id")
}

func TestUndecodableEventsAreMovedAside(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := boltqueue.Open(path)
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, events(0, 1)))
	require.NoError(t, q.Close())
	// A newer version (or a damaged disk) left an event this version cannot read.
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("events"))
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		k := make([]byte, 8)
		for i := range 8 {
			k[7-i] = byte(seq >> (8 * i))
		}
		return b.Put(k, []byte(`2{"from":"the future"}`))
	}))
	require.NoError(t, db.Close())

	q, err = boltqueue.Open(path)
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, events(1, 1)))
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, st.Queued)

	assert.Equal(t, events(0, 2), eventsOf(claimAll(t, q)), "the readable events flow past it")
	assert.Equal(t, 1, q.Quarantined())
	st, err = q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Queued)
	require.NoError(t, q.Close())

	q = open(t, path)
	assert.Equal(t, 1, q.Quarantined(), "kept in the file, counted again on open")
	assert.Len(t, claimAll(t, q), 2)
}

func TestMethodsAfterClose(t *testing.T) {
	ctx := context.Background()
	q, err := boltqueue.Open(filepath.Join(t.TempDir(), "usage.db"))
	require.NoError(t, err)
	require.NoError(t, q.Close())
	assert.ErrorIs(t, q.Put(ctx, events(0, 1)), usage.ErrClosed)
	_, err = q.Claim(ctx, 1)
	assert.ErrorIs(t, err, usage.ErrClosed)
	assert.ErrorIs(t, q.Ack(ctx, []string{"1"}), usage.ErrClosed)
	assert.ErrorIs(t, q.Release(ctx, []string{"1"}), usage.ErrClosed)
	_, err = q.Stats(ctx)
	assert.ErrorIs(t, err, usage.ErrClosed)
	assert.NoError(t, q.Close(), "a second Close is harmless")
}

func TestNewFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	open(t, path)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "events name customers: other users of the machine cannot read them")
}
