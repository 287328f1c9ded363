package boltqueue_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/boltqueue"
)

// The crash test runs the test binary again as a child process (TestCrashChild), which
// finds what to do in these variables.
const (
	envChild = "BOLTQUEUE_CRASH_CHILD" // "record" or "drain"
	envFile  = "BOLTQUEUE_CRASH_FILE"
	envURL   = "BOLTQUEUE_CRASH_URL"
	envKey   = "BOLTQUEUE_CRASH_KEY"
	envN     = "BOLTQUEUE_CRASH_N"
)

const (
	crashEvents = 200
	crashBatch  = 20
	// markRecorded is the line the recording child prints once every Record has returned.
	markRecorded = "BOLTQUEUE-CRASH-RECORDED"
	markTx       = "BOLTQUEUE-CRASH-TX " // + the customer and the transaction id Record returned
	markDrained  = "BOLTQUEUE-CRASH-DRAINED"
)

// crashCustomers are the fake's demo customers the events are recorded for, in turn.
var crashCustomers = []string{flowgladapitest.DemoCustomerAlice, flowgladapitest.DemoCustomerBob}

// TestKill9MidFlush: a process records events through a usage.Recorder into a bolt file
// and is killed with SIGKILL while it is sending them to Flowglad, with one batch at Flowglad
// and the next received but not answered; a second process opens the same file and drains
// it. Every event reaches Flowglad exactly once: the events the first process had claimed
// are claimable again, and the batch Flowglad received without answering is sent again with
// the same transaction ids, which Flowglad skips.
func TestKill9MidFlush(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two child processes")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	// The fake answers the first bulk call, then holds every later one (its body read,
	// unanswered) until the first child is dead; it then lets them through, as Flowglad
	// does with a request whose client has gone.
	var (
		bulkCalls  atomic.Int64
		eventsSent atomic.Int64
		holding    atomic.Bool
		heldOnce   sync.Once
		held       = make(chan struct{})
		release    = make(chan struct{})
		inFlight   sync.WaitGroup
	)
	holding.Store(true)
	hold := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/usage-events/bulk") {
				next.ServeHTTP(w, r)
				return
			}
			inFlight.Add(1)
			defer inFlight.Done()
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return // the client died while sending: Flowglad never saw this call
			}
			var in struct {
				UsageEvents []json.RawMessage `json:"usageEvents"`
			}
			if json.Unmarshal(body, &in) == nil {
				eventsSent.Add(int64(len(in.UsageEvents)))
			}
			if bulkCalls.Add(1) > 1 && holding.Load() {
				heldOnce.Do(func() { close(held) })
				<-release
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		})
	}
	fake := flowgladapitest.NewServer(t,
		flowgladapitest.WithSeed(flowgladapitest.DemoSeed()), flowgladapitest.WithMiddleware(hold))
	releaseHeld := sync.OnceFunc(func() { holding.Store(false); close(release) })
	t.Cleanup(releaseHeld) // before the fake closes (cleanups run last first)

	path := filepath.Join(t.TempDir(), "usage.db")
	child := func(mode string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(),
			envChild+"="+mode, envFile+"="+path, envURL+"="+fake.URL, envKey+"="+fake.APIKey(),
			envN+"="+strconv.Itoa(crashEvents))
		cmd.Stderr = os.Stderr
		return cmd
	}

	// First child: records, starts flushing, dies.
	first := child("record")
	out, err := first.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, first.Start())
	recorded := make(chan struct{})
	var txIDs []string
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, markTx):
				txIDs = append(txIDs, strings.TrimPrefix(line, markTx))
			case line == markRecorded:
				close(recorded)
			}
		}
	}()
	for _, c := range []struct {
		what string
		ch   <-chan struct{}
	}{{"every Record to return", recorded}, {"a second bulk call", held}} {
		select {
		case <-c.ch:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", c.what, ctx.Err())
		}
	}
	require.NoError(t, first.Process.Kill())
	err = first.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.Equal(t, syscall.SIGKILL, ws.Signal(), "the first child died of SIGKILL")
	require.Len(t, txIDs, crashEvents) // read before the markRecorded line closed recorded

	releaseHeld()
	inFlight.Wait()
	atFlowglad := len(fake.UsageEvents())
	t.Logf("after the kill: %d bulk calls, %d events at Flowglad", bulkCalls.Load(), atFlowglad)
	require.Positive(t, atFlowglad, "some events reached Flowglad before the kill")
	require.Less(t, atFlowglad, crashEvents, "the kill came before every event was sent")

	// Second child: opens the same file and drains it.
	second := child("drain")
	var secondOut bytes.Buffer
	second.Stdout = &secondOut
	require.NoError(t, second.Run(), "the draining child: %s", secondOut.String())
	require.Contains(t, secondOut.String(), markDrained)

	evs := fake.UsageEvents()
	byTx := map[string]int{}
	var sum int64
	amounts := map[int64]int{}
	for _, e := range evs {
		byTx[e.TransactionID]++
		sum += e.Amount
		amounts[e.Amount]++
	}
	assert.Equal(t, crashEvents, len(evs), "events at Flowglad")
	assert.Equal(t, crashEvents, len(byTx), "distinct transaction ids at Flowglad")
	assert.Equal(t, int64(crashEvents*(crashEvents+1)/2), sum, "the amounts of the %d events, each once", crashEvents)
	for i := int64(1); i <= crashEvents; i++ {
		assert.Equal(t, 1, amounts[i], "the event of amount %d", i)
	}
	for _, line := range txIDs {
		customer, tx, _ := strings.Cut(line, " ")
		assert.Equal(t, 1, byTx[flowglad.ServerTransactionID(customer, tx)],
			"the event Record returned transaction id %s for, at Flowglad", tx)
	}
	assert.Greater(t, eventsSent.Load(), int64(crashEvents),
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
	mode := os.Getenv(envChild)
	if mode == "" {
		t.Skip("the child process of TestKill9MidFlush")
	}
	ctx := context.Background()
	n, err := strconv.Atoi(os.Getenv(envN))
	require.NoError(t, err)
	svc, err := flowglad.NewService(flowglad.Config{APIKey: os.Getenv(envKey), BaseURL: os.Getenv(envURL)})
	require.NoError(t, err)
	q, err := boltqueue.Open(os.Getenv(envFile))
	require.NoError(t, err)
	rec, err := usage.NewRecorder(svc, usage.WithQueue(q), usage.WithBatchSize(crashBatch),
		usage.WithFlushInterval(time.Hour))
	require.NoError(t, err)

	switch mode {
	case "record":
		for i := range n {
			tx, err := rec.Record(ctx, flowglad.Customer{ExternalID: crashCustomers[i%len(crashCustomers)]},
				flowglad.UsageEventParams{UsageMeterSlug: flowgladapitest.DemoUsageMeterAPICalls, Amount: int64(i + 1)})
			require.NoError(t, err)
			fmt.Println(markTx + crashCustomers[i%len(crashCustomers)] + " " + tx)
		}
		fmt.Println(markRecorded)
		// Killed while it flushes: nothing after this line runs.
		_ = rec.Flush(ctx)
		t.Fatal("the recording child should have been killed during Flush")
	case "drain":
		require.NoError(t, rec.Close(ctx))
		require.NoError(t, q.Close())
		fmt.Println(markDrained)
	default:
		t.Fatalf("unknown mode %q", mode)
	}
}
