package boltqueue_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/internal/crashtest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/boltqueue"
)

// markDrained is the line the draining child prints once its recorder is closed.
const markDrained = "DRAINED"

// TestKill9MidFlush: a process records events through a usage.Recorder into a bolt file
// and is killed with SIGKILL while it is sending them to Flowglad, with one batch at Flowglad
// and the next received but not answered; a second process opens the same file and drains
// it. Every event reaches Flowglad exactly once: the events the first process had claimed
// are claimable again, and the batch Flowglad received without answering is sent again with
// the same transaction ids, which Flowglad skips. The same with SyncInBackground, whose
// Records return before the events are synced.
func TestKill9MidFlush(t *testing.T) {
	for _, sync := range []string{"", backgroundMode} {
		name := "every-put"
		if sync != "" {
			name = "background"
		}
		t.Run(name, func(t *testing.T) { kill9MidFlush(t, sync) })
	}
}

// backgroundMode, added to a child's mode, opens the queue with SyncInBackground.
const backgroundMode = "+background"

func kill9MidFlush(t *testing.T, sync string) {
	ctx, fake := crashtest.Begin(t)
	path := filepath.Join(t.TempDir(), "usage.db")

	// First child: records, starts flushing, dies.
	first := crashtest.Start(ctx, t, "TestCrashChild", fake.Config("record"+sync, crashtest.Events, path))
	first.Await(ctx, t, crashtest.MarkRecorded)
	crashtest.Await(ctx, t, "a second bulk call", fake.Held())
	first.Kill(t)
	recorded := first.Recorded()
	require.Len(t, recorded, crashtest.Events)

	fake.Release()
	atFlowglad := len(fake.UsageEvents())
	t.Logf("after the kill: %d bulk calls, %d events at Flowglad", fake.BulkCalls(), atFlowglad)
	require.Positive(t, atFlowglad, "some events reached Flowglad before the kill")
	require.Less(t, atFlowglad, crashtest.Events, "the kill came before every event was sent")

	// Second child: opens the same file and drains it.
	second := crashtest.Start(ctx, t, "TestCrashChild", fake.Config("drain"+sync, crashtest.Events, path))
	second.Wait(ctx, t)
	require.NotEmpty(t, second.Marks(markDrained), "the draining child closed its recorder")

	crashtest.AssertExactlyOnce(t, fake.UsageEvents(), crashtest.Events, recorded)
	assert.Greater(t, fake.EventsSent(), int64(crashtest.Events),
		"events of the unanswered batch were sent again (and skipped by Flowglad)")

	q, err := boltqueue.Open(path)
	require.NoError(t, err)
	defer q.Close()
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, st.Queued, "the file is empty once drained")
}

// TestCrashChild is the child process of TestKill9MidFlush; run alone, it skips.
func TestCrashChild(t *testing.T) {
	cfg, ok := crashtest.ChildConfig(t)
	if !ok {
		t.Skip("the child process of TestKill9MidFlush")
	}
	ctx := context.Background()
	mode, background := strings.CutSuffix(cfg.Mode, backgroundMode)
	var opts []boltqueue.Option
	if background {
		opts = append(opts, boltqueue.WithDurability(boltqueue.SyncInBackground))
	}
	q, err := boltqueue.Open(cfg.Queue, opts...)
	require.NoError(t, err)
	rec, err := usage.NewRecorder(cfg.Service(t), usage.WithQueue(q), usage.WithBatchSize(crashtest.Batch),
		usage.WithFlushInterval(time.Hour))
	require.NoError(t, err)

	switch mode {
	case "record":
		crashtest.RecordAll(ctx, t, rec, cfg.N)
		crashtest.FlushUntilKilled(ctx, t, rec)
	case "drain":
		require.NoError(t, rec.Close(ctx))
		require.NoError(t, q.Close())
		crashtest.Mark(markDrained)
	default:
		t.Fatalf("unknown mode %q", cfg.Mode)
	}
}
