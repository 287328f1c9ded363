package boltqueue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/usage"
)

// logEvents writes events to the log files of path as a SyncInBackground queue's Puts would
// (one record per Put of one event), with sequence numbers from first, into file i, and
// returns the bytes written.
func logEvents(t *testing.T, path string, i int, first uint64, ids ...string) []byte {
	t.Helper()
	f, err := os.OpenFile(walPaths(path)[i], os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer f.Close()
	w := &wal{kick: make(chan struct{}, len(ids)), seq: first - 1}
	w.files[0] = f
	for _, id := range ids {
		v, err := usage.EncodeEvent(usage.Event{CustomerID: "c1", UsageMeterSlug: "m", Amount: 1, TransactionID: id})
		require.NoError(t, err)
		require.NoError(t, w.append([][]byte{v}))
	}
	b, err := os.ReadFile(walPaths(path)[i])
	require.NoError(t, err)
	return b
}

func txIDs(t *testing.T, q *Queue) []string {
	t.Helper()
	var out []string
	require.NoError(t, q.Each(context.Background(), func(e usage.Event) error {
		out = append(out, e.TransactionID)
		return nil
	}))
	return out
}

// TestLogReadBackOnOpen: what a SyncInBackground process wrote to the log and died before
// moving is in the queue after the next Open (whatever its durability), in order across the
// two files; a record cut short by the crash, and whatever follows it in its file, is
// dropped whole; the log is emptied.
func TestLogReadBackOnOpen(t *testing.T) {
	for _, d := range []Durability{SyncEveryPut, SyncInBackground} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "usage.db")
			q, err := Open(path) // creates the file
			require.NoError(t, err)
			require.NoError(t, q.Close())

			logEvents(t, path, 1, 1, "a", "b")
			whole := logEvents(t, path, 0, 3, "c", "d")
			// d cut short: a crash in the middle of its write.
			require.NoError(t, os.Truncate(walPaths(path)[0], int64(len(whole)-3)))

			q, err = Open(path, WithDurability(d))
			require.NoError(t, err)
			assert.Equal(t, []string{"a", "b", "c"}, txIDs(t, q))
			require.NoError(t, q.Close())
			for _, p := range walPaths(path) {
				if st, err := os.Stat(p); err == nil {
					assert.Zero(t, st.Size(), "emptied: %s", p)
				}
			}
		})
	}
}

// TestLogMovedOnce: a crash after the log's records were committed to the queue's file but
// before the log was emptied leaves them in both: the next Open does not add them again.
func TestLogMovedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, q.Close())
	log := logEvents(t, path, 0, 1, "a", "b")

	q, err = Open(path, WithDurability(SyncInBackground))
	require.NoError(t, err)
	require.NoError(t, q.Close())
	// The log as the crash left it: moved, not emptied; then one more record.
	require.NoError(t, os.WriteFile(walPaths(path)[0], log, 0o600))
	logEvents(t, path, 0, 3, "c")

	q, err = Open(path, WithDurability(SyncInBackground))
	require.NoError(t, err)
	defer q.Close()
	assert.Equal(t, []string{"a", "b", "c"}, txIDs(t, q))
	st, err := q.Stats(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, st.Queued)
}

// TestBackgroundPutIsInTheLog: a SyncInBackground Put returns with its event in the log
// (the operating system's cache), before the mover has it in the queue's file, and the
// mover then empties the log.
func TestBackgroundPutIsInTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := Open(path, WithDurability(SyncInBackground))
	require.NoError(t, err)
	defer q.Close()
	// Hold the mover: a move waits for moveMu.
	q.wal.moveMu.Lock()
	v := usage.Event{CustomerID: "c1", UsageMeterSlug: "m", Amount: 1, TransactionID: "a"}
	require.NoError(t, q.Put(context.Background(), []usage.Event{v}))
	f, err := os.Open(walPaths(path)[q.wal.active])
	require.NoError(t, err)
	recs, err := readWAL(f)
	f.Close()
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.EqualValues(t, 1, recs[0].seq)
	q.wal.moveMu.Unlock()

	// Claim moves it first.
	claimed, err := q.Claim(context.Background(), 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	assert.Equal(t, "a", claimed[0].Event.TransactionID)
	for _, p := range walPaths(path) {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Zero(t, st.Size(), "emptied once moved: %s", p)
	}
}

// TestUnknownDurability: a Durability that is not one of the constants is refused, not
// taken for the default.
func TestUnknownDurability(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "usage.db"), WithDurability(Durability(7)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Durability(7)")
}
