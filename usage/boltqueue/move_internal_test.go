package boltqueue

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/flowglad-go/flowglad/usage"
)

// failMoves makes every move of q's log fail until the returned function is called: a
// bucket sits at the key the next event in the file would take, where bbolt refuses a value
// (a commit error, as a full disk would give).
func failMoves(t *testing.T, q *Queue) func() {
	t.Helper()
	var at []byte
	require.NoError(t, q.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(eventsBucket)
		at = key(b.Sequence() + 1)
		_, err := b.CreateBucket(at)
		return err
	}))
	return func() {
		t.Helper()
		require.NoError(t, q.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(eventsBucket).DeleteBucket(at)
		}))
	}
}

// walApplied reads the seq of the last log record moved into q's file.
func walApplied(q *Queue) (uint64, error) {
	var applied uint64
	err := q.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(metaBucket).Get(walAppliedKey); len(v) == 8 {
			applied = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return applied, err
}

func putID(t *testing.T, q *Queue, id string) {
	t.Helper()
	require.NoError(t, q.Put(context.Background(), []usage.Event{{CustomerID: "c1", UsageMeterSlug: "m", Amount: 1, TransactionID: id}}))
}

// TestClaimWhileTheLogCannotMove: while the log cannot be moved into the file (a commit
// fails, as on a full disk), the events already in the file are still claimed, sent and
// acknowledged, which frees the pages a move needs; Claim reports the failed move only when
// nothing in the file is left to claim, so a recorder never takes the queue for drained.
// Once moves succeed again, the log's events are claimed, counted once.
func TestClaimWhileTheLogCannotMove(t *testing.T) {
	ctx := context.Background()
	q, err := Open(filepath.Join(t.TempDir(), "usage.db"), WithDurability(SyncInBackground))
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	putID(t, q, "in-file")
	require.NoError(t, q.moveWAL())

	unblock := failMoves(t, q)
	putID(t, q, "in-log")
	claimed, err := q.Claim(ctx, 10)
	require.NoError(t, err, "the file's event is claimable though the log cannot move")
	require.Len(t, claimed, 1)
	assert.Equal(t, "in-file", claimed[0].Event.TransactionID)
	require.NoError(t, q.Ack(ctx, []string{claimed[0].ID}))

	claimed, err = q.Claim(ctx, 10)
	assert.Error(t, err, "an event is in the log, not claimable: not an empty queue")
	assert.Empty(t, claimed)

	unblock()
	claimed, err = q.Claim(ctx, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	assert.Equal(t, "in-log", claimed[0].Event.TransactionID)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Queued)
	q.mu.Lock()
	assert.Zero(t, q.reserved, "nothing left reserved once moved")
	q.mu.Unlock()
}

// TestMoverRetriesAFailedMove: a move that fails (a commit error) is tried again by the
// mover on its own, not only when a later Put, Claim, Stats or Close comes: the log is in
// the operating system's cache only, and a power cut loses what stays there.
func TestMoverRetriesAFailedMove(t *testing.T) {
	q, err := Open(filepath.Join(t.TempDir(), "usage.db"), WithDurability(SyncInBackground))
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	unblock := failMoves(t, q)
	before := q.commits.Load()
	putID(t, q, "a")
	// The mover has tried, and its move has ended (failed: the event is still pending).
	require.Eventually(t, func() bool { return q.commits.Load() > before }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool {
		if !q.wal.moveMu.TryLock() {
			return false
		}
		q.wal.moveMu.Unlock()
		return true
	}, 5*time.Second, time.Millisecond)
	q.wal.mu.Lock()
	pending := len(q.wal.pending)
	q.wal.mu.Unlock()
	require.Equal(t, 1, pending, "the failed move kept the record")
	applied, err := walApplied(q)
	require.NoError(t, err)
	require.Zero(t, applied)

	unblock()
	assert.Eventually(t, func() bool { applied, err := walApplied(q); return err == nil && applied == 1 }, 5*time.Second, 5*time.Millisecond,
		"moved into the file with no further call")
}

// TestLargestRecordIsReadBack: a Put that the log takes is read back from it after a
// crash, the largest one included; a Put too large for one record is refused, not
// written and then dropped as damaged when the log is read back.
func TestLargestRecordIsReadBack(t *testing.T) {
	defer func(old int) { maxWALRecord = old }(maxWALRecord)
	e := usage.Event{CustomerID: "c1", UsageMeterSlug: "m", Amount: 1, TransactionID: "big"}
	v, err := usage.EncodeEvent(e)
	require.NoError(t, err)
	// seq, event count, the event's length, the event: the largest record that fits.
	maxWALRecord = 8 + 4 + 4 + len(v)

	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := Open(path, WithDurability(SyncInBackground))
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	q.wal.moveMu.Lock() // in the log only, as a crash would leave it
	defer q.wal.moveMu.Unlock()
	require.NoError(t, q.Put(context.Background(), []usage.Event{e}))
	returned := 1
	e.TransactionID += "!"
	if err := q.Put(context.Background(), []usage.Event{e}); err == nil {
		returned++
	}
	assert.Equal(t, 1, returned, "a Put one byte too large for a record is refused")

	f, err := os.Open(walPaths(path)[q.wal.active])
	require.NoError(t, err)
	defer f.Close()
	recs, err := readWAL(f)
	require.NoError(t, err)
	require.Len(t, recs, returned, "every Put that returned is read back")
	assert.Equal(t, [][]byte{v}, recs[0].values)
}

// TestStatsWhileTheLogCannotMove: while the log cannot be moved into the file, Stats still
// answers and counts the events waiting in the log, oldest included: a full disk shows as
// a growing queue (the recorder reports Stats' zero values when it fails), not as an empty one.
func TestStatsWhileTheLogCannotMove(t *testing.T) {
	ctx := context.Background()
	at := func(ms int64, id string) usage.Event {
		return usage.Event{CustomerID: "c1", UsageMeterSlug: "m", Amount: 1, TransactionID: id, RecordedAt: ms}
	}
	for _, tc := range []struct {
		name       string
		inFile     []usage.Event
		inLog      []usage.Event
		wantOldest int64
	}{
		{"events in the file and in the log", []usage.Event{at(1000, "f")}, []usage.Event{at(2000, "l1"), at(3000, "l2")}, 1000},
		{"events in the log only", nil, []usage.Event{at(2000, "l1"), at(3000, "l2")}, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Open(filepath.Join(t.TempDir(), "usage.db"), WithDurability(SyncInBackground), WithCapacity(10))
			require.NoError(t, err)
			t.Cleanup(func() { _ = q.Close() })
			if len(tc.inFile) > 0 {
				require.NoError(t, q.Put(ctx, tc.inFile))
				require.NoError(t, q.moveWAL())
			}
			unblock := failMoves(t, q)
			for _, e := range tc.inLog {
				require.NoError(t, q.Put(ctx, []usage.Event{e}))
			}
			st, err := q.Stats(ctx)
			require.NoError(t, err)
			assert.Equal(t, len(tc.inFile)+len(tc.inLog), st.Queued)
			assert.Equal(t, tc.wantOldest, st.OldestRecordedAt.UnixMilli())

			unblock()
			st, err = q.Stats(ctx)
			require.NoError(t, err)
			assert.Equal(t, len(tc.inFile)+len(tc.inLog), st.Queued, "counted once, moved")
		})
	}
}

// TestEachWhileTheLogCannotMove: while the log cannot be moved into the file, Each still
// walks every event, those in the file and those in the log, each once (a recorder
// starting on the queue counts them all as pending); once moves succeed, the same.
func TestEachWhileTheLogCannotMove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := Open(path, WithDurability(SyncInBackground))
	require.NoError(t, err)
	defer q.Close()
	putID(t, q, "a")
	_, err = q.Stats(context.Background()) // moves a into the file
	require.NoError(t, err)

	unblock := failMoves(t, q)
	putID(t, q, "b")
	putID(t, q, "c")
	assert.Equal(t, []string{"a", "b", "c"}, txIDs(t, q))
	unblock()
	assert.Equal(t, []string{"a", "b", "c"}, txIDs(t, q))
}
