// Package crashtest is what the crash tests of the durable usage queues share. A crash test
// runs the test binary again as a child process (Start) that records usage events through a
// usage.Recorder (RecordAll) against a fake Flowglad in the parent (NewFake); the parent
// kills the child with SIGKILL while the fake holds one of its bulk calls unanswered, lets
// another recorder drain the queue, and checks that every event reached Flowglad exactly
// once (AssertExactlyOnce).
//
// The child talks to the parent through its environment (Config) and its standard output:
// lines written by Mark, which the parent reads as they come (Child.Await, Child.Marks).
package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/usage"
)

// Sizes of a crash test: enough events for several batches, so that the kill lands between
// a batch Flowglad has and one it is holding, with events left never sent.
const (
	Events = 200
	Batch  = 20
)

// Marks the helpers print and read; a test adds its own.
const (
	// MarkTx is printed for each event Record accepted: the customer and the transaction
	// id Record returned.
	MarkTx = "TX"
	// MarkRecorded is printed once every Record of RecordAll has returned.
	MarkRecorded = "RECORDED"
)

// markPrefix starts every line a child prints for the parent, so that the test
// framework's own output (-test.v) is told apart.
const markPrefix = "CRASHTEST "

// envConfig carries the child's Config, as JSON.
const envConfig = "FLOWGLAD_CRASHTEST_CHILD"

// Customers are the fake's demo customers the events are recorded for, in turn.
var Customers = []string{flowgladapitest.DemoCustomerAlice, flowgladapitest.DemoCustomerBob}

// Config is what the parent tells a child.
type Config struct {
	// Mode says what the child does ("record", "drain", ...): the test's own words.
	Mode string
	// URL and APIKey are the fake Flowglad's.
	URL, APIKey string
	// N is how many events the child records.
	N int
	// Queue says where the queue is: a bolt file, a Redis socket.
	Queue string
}

// ChildConfig returns the Config the parent started this process with; ok is false when
// the test runs on its own, not as a child (it should skip).
func ChildConfig(t *testing.T) (cfg Config, ok bool) {
	t.Helper()
	raw := os.Getenv(envConfig)
	if raw == "" {
		return cfg, false
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &cfg), "the child's configuration")
	return cfg, true
}

// Service returns a Service talking to the parent's fake.
func (c Config) Service(t *testing.T) *flowglad.Service {
	t.Helper()
	svc, err := flowglad.NewService(flowglad.Config{APIKey: c.APIKey, BaseURL: c.URL})
	require.NoError(t, err)
	return svc
}

// Mark prints a line for the parent: the mark's name, then its fields (without spaces).
func Mark(name string, fields ...string) {
	fmt.Println(markPrefix + strings.Join(append([]string{name}, fields...), " "))
}

// RecordAll records n events through rec: amounts 1 to n, for Customers in turn, each
// noted by MarkTx once Record returned, then MarkRecorded.
func RecordAll(ctx context.Context, t *testing.T, rec *usage.Recorder, n int) {
	t.Helper()
	for i := range n {
		customer := Customers[i%len(Customers)]
		tx, err := rec.Record(ctx, flowglad.Customer{ExternalID: customer},
			flowglad.UsageEventParams{UsageMeterSlug: flowgladapitest.DemoUsageMeterAPICalls, Amount: int64(i + 1)})
		require.NoError(t, err)
		Mark(MarkTx, customer, tx)
	}
	Mark(MarkRecorded)
}

// FlushUntilKilled flushes rec, which the parent kills during the flush: the child
// failing if it ever returns.
func FlushUntilKilled(ctx context.Context, t *testing.T, rec *usage.Recorder) {
	t.Helper()
	_ = rec.Flush(ctx)
	t.Fatal("the child should have been killed during Flush")
}

// Begin starts a crash test: it skips the test under -short (it runs child processes), and
// returns a context that bounds the whole test (the children die with it) and a Fake.
func Begin(t *testing.T) (context.Context, *Fake) {
	t.Helper()
	if testing.Short() {
		t.Skip("a crash test: runs child processes")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx, NewFake(t)
}

// Fake is a fake Flowglad that answers the first bulk call (POST /usage-events/bulk) and
// holds every later one (its body read, unanswered) until Release: a child killed then dies
// with a batch Flowglad received and never answered. Released, the held calls go through,
// as Flowglad finishes a request whose client has gone.
type Fake struct {
	*flowgladapitest.Server

	bulkCalls, eventsSent atomic.Int64
	holding               atomic.Bool
	heldOnce              sync.Once
	held, release         chan struct{}
	releaseOnce           sync.Once
	inFlight              sync.WaitGroup
}

// NewFake starts a Fake seeded with the demo data (flowgladapitest.DemoSeed). It releases
// what it holds before it closes, when the test ends.
func NewFake(t *testing.T) *Fake {
	t.Helper()
	f := &Fake{held: make(chan struct{}), release: make(chan struct{})}
	f.holding.Store(true)
	f.Server = flowgladapitest.NewServer(t,
		flowgladapitest.WithSeed(flowgladapitest.DemoSeed()), flowgladapitest.WithMiddleware(f.hold))
	t.Cleanup(f.Release) // before the fake closes: cleanups run last first
	return f
}

func (f *Fake) hold(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/usage-events/bulk") {
			next.ServeHTTP(w, r)
			return
		}
		f.inFlight.Add(1)
		defer f.inFlight.Done()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client died while sending: Flowglad never saw this call
		}
		var in struct {
			UsageEvents []json.RawMessage `json:"usageEvents"`
		}
		if json.Unmarshal(body, &in) == nil {
			f.eventsSent.Add(int64(len(in.UsageEvents)))
		}
		if f.bulkCalls.Add(1) > 1 && f.holding.Load() {
			f.heldOnce.Do(func() { close(f.held) })
			<-f.release
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// Held is closed once the fake holds a bulk call.
func (f *Fake) Held() <-chan struct{} { return f.held }

// Release stops holding bulk calls, lets the held ones through and returns once they are
// answered. Calling it again is harmless.
func (f *Fake) Release() {
	f.releaseOnce.Do(func() {
		f.holding.Store(false)
		close(f.release)
	})
	f.inFlight.Wait()
}

// BulkCalls counts the bulk calls the fake received.
func (f *Fake) BulkCalls() int64 { return f.bulkCalls.Load() }

// EventsSent counts the events of every bulk call received, those Flowglad skipped as
// duplicates included.
func (f *Fake) EventsSent() int64 { return f.eventsSent.Load() }

// Service returns a Service talking to the fake, as a recorder in the parent uses.
func (f *Fake) Service(t *testing.T) *flowglad.Service {
	t.Helper()
	return Config{URL: f.URL, APIKey: f.APIKey()}.Service(t)
}

// Config returns a child's Config for the fake: mode, n events, the queue at queue.
func (f *Fake) Config(mode string, n int, queue string) Config {
	return Config{Mode: mode, URL: f.URL, APIKey: f.APIKey(), N: n, Queue: queue}
}

// Child is the test binary run again as a child process.
type Child struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the child has exited; err is then set
	err    error

	mu    sync.Mutex
	marks map[string][][]string
	seen  map[string]chan struct{} // closed at a mark's first line
	buf   []byte                   // a line not yet ended
	out   bytes.Buffer             // every line, for the failure messages
}

// Start runs the test binary again, running only the test named run, with cfg; the child
// is killed when ctx is done. Its standard error is the parent's.
func Start(ctx context.Context, t *testing.T, run string, cfg Config) *Child {
	t.Helper()
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	c := &Child{exited: make(chan struct{}), marks: map[string][][]string{}, seen: map[string]chan struct{}{}}
	c.cmd = Command(ctx, run, envConfig+"="+string(raw))
	c.cmd.Stdout = (*markWriter)(c)
	require.NoError(t, c.cmd.Start())
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill() // harmless once it exited
		<-c.exited
	})
	return c
}

// markWriter is the child's standard output, read line by line.
type markWriter Child

func (w *markWriter) Write(p []byte) (int, error) {
	c := (*Child)(w)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	for {
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(c.buf[:i])
		c.buf = c.buf[i+1:]
		c.out.WriteString(line + "\n")
		rest, ok := strings.CutPrefix(line, markPrefix)
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		c.marks[fields[0]] = append(c.marks[fields[0]], fields[1:])
		c.signal(fields[0])
	}
}

// signal returns the channel closed at the mark's first line (c.mu held).
func (c *Child) signal(name string) chan struct{} {
	ch, ok := c.seen[name]
	if !ok {
		ch = make(chan struct{})
		c.seen[name] = ch
	}
	if len(c.marks[name]) > 0 {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	return ch
}

// Await waits for the child to print the mark; it fails the test if the child exits or ctx
// is done first.
func (c *Child) Await(ctx context.Context, t *testing.T, mark string) {
	t.Helper()
	c.mu.Lock()
	ch := c.signal(mark)
	c.mu.Unlock()
	select {
	case <-ch:
	case <-c.exited:
		select {
		case <-ch: // printed just before it exited
		default:
			t.Fatalf("the child exited (%v) before printing %s:\n%s", c.err, mark, c.output())
		}
	case <-ctx.Done():
		t.Fatalf("waiting for the child to print %s: %v", mark, ctx.Err())
	}
}

// Marks returns the fields of every line of the mark printed so far.
func (c *Child) Marks(mark string) [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]string(nil), c.marks[mark]...)
}

// Recorded returns what RecordAll noted: each event's customer and the transaction id
// Record returned.
func (c *Child) Recorded() []Tx {
	var out []Tx
	for _, f := range c.Marks(MarkTx) {
		if len(f) == 2 {
			out = append(out, Tx{Customer: f[0], ID: f[1]})
		}
	}
	return out
}

// Tx is an event as Record returned it: the customer and the transaction id.
type Tx struct{ Customer, ID string }

// Stored is the transaction id Flowglad stores for the event.
func (tx Tx) Stored() string { return flowglad.ServerTransactionID(tx.Customer, tx.ID) }

// Kill kills the child with SIGKILL and checks that it died of it (not on its own before).
func (c *Child) Kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); !errors.Is(err, os.ErrProcessDone) {
		require.NoError(t, err)
	}
	<-c.exited
	RequireKilled(t, c.err, c.output())
}

// Wait waits for the child to exit, and requires that it succeeded.
func (c *Child) Wait(ctx context.Context, t *testing.T) {
	t.Helper()
	select {
	case <-c.exited:
	case <-ctx.Done(): // CommandContext kills it
		<-c.exited
	}
	require.NoError(t, c.err, "the child failed:\n%s", c.output())
}

// output is what the child printed so far.
func (c *Child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String() + string(c.buf)
}

// Await waits for ch to be closed, failing the test if ctx is done first.
func Await(ctx context.Context, t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v", what, ctx.Err())
	}
}

// AssertExactlyOnce checks that the n events RecordAll recorded are at Flowglad once each:
// n events of distinct transaction ids, amounts 1 to n each once, and each transaction id
// Record returned stored as flowglad.ServerTransactionID of its customer and id.
func AssertExactlyOnce(t *testing.T, at []flowgladapitest.UsageEvent, n int, recorded []Tx) {
	t.Helper()
	byTx := map[string]int{}
	amounts := map[int64]int{}
	var sum int64
	for _, e := range at {
		byTx[e.TransactionID]++
		amounts[e.Amount]++
		sum += e.Amount
	}
	assert.Len(t, at, n, "events at Flowglad")
	assert.Len(t, byTx, n, "distinct transaction ids at Flowglad")
	assert.Equal(t, int64(n*(n+1)/2), sum, "the amounts of the %d events, each once", n)
	for i := int64(1); i <= int64(n); i++ {
		assert.Equal(t, 1, amounts[i], "the event of amount %d", i)
	}
	assert.Len(t, recorded, n, "transaction ids Record returned")
	for _, tx := range recorded {
		assert.Equal(t, 1, byTx[tx.Stored()],
			"the event Record returned transaction id %s for %s, at Flowglad", tx.ID, tx.Customer)
	}
}
