package boltqueue_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/internal/crashtest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/boltqueue"
)

const (
	envPutChild = "BOLTQUEUE_PUT_CHILD" // the file the child puts into
	envPutSync  = "BOLTQUEUE_PUT_SYNC"  // "background": the child opens with SyncInBackground
	markPut     = "BOLTQUEUE-PUT "      // + the batch's name, once its Put returned
	putWriters  = 8
	putBatch    = 3
)

// TestKill9MidPut: a process putting batches of events from several goroutines is killed
// with SIGKILL. Reopened, the file holds every batch whose Put had returned, and every batch
// it holds whole: a Put is all or none, even when the kill lands inside its commit.
//
// With SyncInBackground the Puts return once written to the log, and the kill lands between
// or inside log writes and moves into the file: the same holds, the log read back on open.
func TestKill9MidPut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	for _, sync := range []string{"every-put", "background"} {
		t.Run(sync, func(t *testing.T) { kill9MidPut(t, sync) })
	}
}

func kill9MidPut(t *testing.T, sync string) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "usage.db")

	child := crashtest.Command(ctx, "TestPutChild", envPutChild+"="+path, envPutSync+"="+sync)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	const enough = 60
	returned := map[string]bool{}
	sc := bufio.NewScanner(out)
	for len(returned) < enough && sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), markPut); ok {
			returned[name] = true
		}
	}
	require.Len(t, returned, enough, "the child stopped putting: %v", sc.Err())
	require.NoError(t, child.Process.Kill())
	crashtest.RequireKilled(t, child.Wait(), "")

	q, err := boltqueue.Open(path)
	require.NoError(t, err)
	defer q.Close()
	claimed, err := q.Claim(ctx, 1<<20)
	require.NoError(t, err)
	batches := map[string]int{}
	for _, c := range claimed {
		name, _, ok := strings.Cut(c.Event.TransactionID, "/")
		require.True(t, ok, c.Event.TransactionID)
		batches[name]++
	}
	for name := range returned {
		assert.Equal(t, putBatch, batches[name], "batch %s, whose Put returned before the kill", name)
	}
	for name, n := range batches {
		assert.Equal(t, putBatch, n, "batch %s is in the file whole or not at all", name)
	}
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(claimed), st.Queued, "the counters rebuilt on open match the file")
}

// TestPutChild is the child process of TestKill9MidPut: it puts batches until it is
// killed. Run alone, it skips.
func TestPutChild(t *testing.T) {
	path := os.Getenv(envPutChild)
	if path == "" {
		t.Skip("the child process of TestKill9MidPut")
	}
	var opts []boltqueue.Option
	if os.Getenv(envPutSync) == "background" {
		opts = append(opts, boltqueue.WithDurability(boltqueue.SyncInBackground))
	}
	q, err := boltqueue.Open(path, opts...)
	require.NoError(t, err)
	var mu sync.Mutex // one line at a time on stdout
	var wg sync.WaitGroup
	for w := range putWriters {
		wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("w%d-b%d", w, i)
				batch := make([]usage.Event, putBatch)
				for j := range batch {
					batch[j] = usage.Event{CustomerID: "user_1", UsageMeterSlug: "api-calls", Amount: 1,
						TransactionID: fmt.Sprintf("%s/%d", name, j), RecordedAt: time.Now().UnixMilli()}
				}
				if err := q.Put(context.Background(), batch); err != nil {
					fmt.Fprintln(os.Stderr, "put:", err)
					return
				}
				mu.Lock()
				fmt.Println(markPut + name)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Fatal("the writers stopped before the parent killed the child")
}
