package boltqueue

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/flowglad-go/flowglad/usage"
)

// Puts that arrive while a commit is syncing are committed together, in one transaction:
// that is what keeps Record fast under concurrency.
func TestConcurrentPutsShareOneCommit(t *testing.T) {
	ctx := context.Background()
	q, err := Open(filepath.Join(t.TempDir(), "usage.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })

	// Hold the committer inside a transaction, as a slow fsync would.
	inside, unblock := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- q.update(func(*bolt.Tx) error { close(inside); <-unblock; return nil })
	}()
	<-inside
	before := q.commits.Load()

	const puts = 50
	var wg sync.WaitGroup
	for i := range puts {
		wg.Go(func() {
			assert.NoError(t, q.Put(ctx, []usage.Event{{CustomerID: "user_1", Amount: int64(i + 1), TransactionID: "tx"}}))
		})
	}
	require.Eventually(t, func() bool { return len(q.writes) == puts }, 10*time.Second, time.Millisecond,
		"the Puts never reached the committer")
	close(unblock)
	wg.Wait()
	require.NoError(t, <-held)

	assert.Equal(t, int64(1), q.commits.Load()-before, "all %d waiting Puts in one transaction", puts)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, puts, st.Queued)
}

// A write whose function fails is retried alone and gets its own error; the others of its
// group are committed.
func TestFailingWriteDoesNotSinkItsGroup(t *testing.T) {
	ctx := context.Background()
	q, err := Open(filepath.Join(t.TempDir(), "usage.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })

	inside, unblock := make(chan struct{}), make(chan struct{})
	go func() { _ = q.update(func(*bolt.Tx) error { close(inside); <-unblock; return nil }) }()
	<-inside
	boom := assert.AnError
	failed := make(chan error, 1)
	go func() { failed <- q.update(func(*bolt.Tx) error { return boom }) }()
	put := make(chan error, 1)
	go func() { put <- q.Put(ctx, []usage.Event{{CustomerID: "user_1", Amount: 1, TransactionID: "tx"}}) }()
	require.Eventually(t, func() bool { return len(q.writes) == 2 }, 10*time.Second, time.Millisecond,
		"the writes never reached the committer")
	close(unblock)
	assert.ErrorIs(t, <-failed, boom)
	assert.NoError(t, <-put)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Queued)
}
