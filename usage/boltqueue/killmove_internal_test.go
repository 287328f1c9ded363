package boltqueue

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/internal/crashtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

const (
	envFailedMoveChild = "BOLTQUEUE_FAILED_MOVE_CHILD" // the file the child puts into
	markFailedMove     = "BOLTQUEUE-FAILED-MOVE-READY"
)

// TestKill9AfterAFailedMove: a process whose move of the log failed (a commit error while
// Puts went on) has records of the log in both files, one of them written while the failed
// move had swapped files; it is killed with SIGKILL. Reopened, once commits succeed again,
// the file holds every event whose Put returned, each once, in the order they were put.
func TestKill9AfterAFailedMove(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "usage.db")
	child := crashtest.Command(ctx, "TestFailedMoveChild", envFailedMoveChild+"="+path)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	sc := bufio.NewScanner(out)
	ready := false
	for !ready && sc.Scan() {
		ready = sc.Text() == markFailedMove
	}
	require.True(t, ready, "the child did not get ready: %v", sc.Err())
	require.NoError(t, child.Process.Kill())
	crashtest.RequireKilled(t, child.Wait(), "")

	var sizes [2]int64
	for i, p := range walPaths(path) {
		st, err := os.Stat(p)
		require.NoError(t, err)
		sizes[i] = st.Size()
	}
	require.NotZero(t, sizes[0], "records left in .wal0")
	require.NotZero(t, sizes[1], "records left in .wal1")

	// The disk is fine again: the bucket that made commits fail is gone.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(eventsBucket)
		return b.DeleteBucket(key(b.Sequence() + 1))
	}))
	require.NoError(t, db.Close())

	for _, d := range []Durability{SyncInBackground, SyncEveryPut} { // the second reopen moves nothing
		q, err := Open(path, WithDurability(d))
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b", "c", "d"}, txIDs(t, q), d.String())
		st, err := q.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, 4, st.Queued, d.String())
		require.NoError(t, q.Close())
	}
}

// TestFailedMoveChild is the child of TestKill9AfterAFailedMove: it leaves the log as a
// failed move does and waits to be killed. Run alone, it skips.
func TestFailedMoveChild(t *testing.T) {
	path := os.Getenv(envFailedMoveChild)
	if path == "" {
		t.Skip("the child process of TestKill9AfterAFailedMove")
	}
	q, err := Open(path, WithDurability(SyncInBackground))
	require.NoError(t, err)
	putID(t, q, "a")
	require.NoError(t, q.moveWAL()) // a is in the file; the log writes to .wal1 now

	// A write that holds the committer, then makes every later move fail.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		_ = q.update(func(tx *bolt.Tx) error {
			once.Do(func() { close(entered) })
			<-release
			b := tx.Bucket(eventsBucket)
			_, err := b.CreateBucket(key(b.Sequence() + 1))
			return err
		})
	}()
	<-entered
	putID(t, q, "b") // .wal1; the mover takes it, swaps to .wal0 and waits for the committer
	waitFor(t, func() bool {
		q.wal.mu.Lock()
		defer q.wal.mu.Unlock()
		return q.wal.active == 0 && len(q.wal.pending) == 0
	})
	putID(t, q, "c") // .wal0, during the move
	close(release)
	// The move failed: b and c are pending again, b first.
	waitFor(t, func() bool {
		q.wal.mu.Lock()
		defer q.wal.mu.Unlock()
		return len(q.wal.pending) == 2 && q.wal.pending[0].seq == 2
	})
	putID(t, q, "d")
	fmt.Println(markFailedMove)
	select {} // killed here
}

// waitFor waits up to 10 s for cond, checked every millisecond.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			require.FailNow(t, "timed out")
		case <-tick.C:
		}
	}
}

// crashImage copies q's file and log as a kill -9 would leave them now (no write in
// progress: the caller holds moves off) to a new path, and returns it.
func crashImage(t *testing.T, q *Queue) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "usage.db")
	logs := walPaths(q.path)
	for i, from := range append([]string{q.path}, logs[:]...) {
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		dst := to
		if i > 0 {
			dst = walPaths(to)[i-1]
		}
		require.NoError(t, os.WriteFile(dst, b, 0o600))
	}
	return to
}

// TestSeqSurvivesModeSwitches: a run with SyncInBackground, one with the default (which
// moves the log and removes its files), and one with SyncInBackground again, which dies
// with an event in its log only: that event is in the file on reopen. The log's sequence
// numbers go on from the last one moved (kept in the file), so the record is not taken for
// one already moved.
func TestSeqSurvivesModeSwitches(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := Open(path, WithDurability(SyncInBackground))
	require.NoError(t, err)
	for _, id := range []string{"a", "b", "c"} {
		putID(t, q, id)
	}
	require.NoError(t, q.Close())

	q, err = Open(path) // the default: moves nothing, removes the empty log
	require.NoError(t, err)
	putID(t, q, "d")
	require.NoError(t, q.Close())
	for _, p := range walPaths(path) {
		require.NoFileExists(t, p)
	}

	q, err = Open(path, WithDurability(SyncInBackground))
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	q.wal.moveMu.Lock() // e stays in the log
	putID(t, q, "e")
	crashed := crashImage(t, q)
	q.wal.moveMu.Unlock()

	for _, d := range []Durability{SyncInBackground, SyncEveryPut} { // the second moves nothing again
		r, err := Open(crashed, WithDurability(d))
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b", "c", "d", "e"}, txIDs(t, r), d.String())
		st, err := r.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, 5, st.Queued, d.String())
		require.NoError(t, r.Close())
	}
}
