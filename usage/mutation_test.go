package usage_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/logbuf"
	"github.com/flowglad-go/flowglad/internal/testclock"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests that kill mutants gremlins left alive in the usage package (issue 15, item 19):
// each asserts behaviour a user relies on.

// TestFailedSendWaitsTheBackoff: after a send fails (Flowglad down), the recorder waits the
// backoff before the next attempt, so an outage is not hammered with retries: with a backoff
// of an hour, a Flush bounded by a short context makes one call and gives up with its
// context, the event still queued.
func TestFailedSendWaitsTheBackoff(t *testing.T) {
	e := newEnv(t, usage.WithBackoff(func(int) time.Duration { return time.Hour }))
	_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoAliceSubscriptionID})
	require.NoError(t, err)
	e.fake.FailNext(1, flowgladapitest.Fault{Path: bulkPath, Status: 503})

	short, cancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
	defer cancel()
	err = e.rec.Flush(short)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, calls(e.fake)["POST "+bulkPath], "no retry before the backoff")
	assert.Empty(t, e.fake.UsageEvents())
	assert.Equal(t, 1, e.rec.Stats().Queued, "kept for later")
}

// TestFullBatchSentWithoutFlush: as soon as a batch's worth of events is queued it is sent,
// without waiting for the flush interval (an hour here), whatever the batch size, a batch
// of one included.
func TestFullBatchSentWithoutFlush(t *testing.T) {
	for _, size := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("batch of ", size), func(t *testing.T) {
			e := newEnv(t, usage.WithBatchSize(size))
			for i := range size {
				_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: fmt.Sprint("job-", i),
					SubscriptionID: flowgladapitest.DemoAliceSubscriptionID})
				require.NoError(t, err)
			}
			waitFor(t, func() bool { return len(e.fake.UsageEvents()) == size })
			assert.Equal(t, 1, calls(e.fake)["POST "+bulkPath], "one call for the batch")
		})
	}
}

// failingRelease is a queue whose Release fails.
type failingRelease struct{ usage.Queue }

var errRelease = errors.New("queue store unreachable")

func (q failingRelease) Release(context.Context, []string) error { return errRelease }

// TestFlushReportsTheQueuesFailure: a Flush that fails because the queue does (here giving
// back events it claimed that are newer than the Flush) says so, and does not claim the
// recorder is closed: it is not, and a later Flush may succeed.
func TestFlushReportsTheQueuesFailure(t *testing.T) {
	clock := testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	q := usage.NewMemoryQueue(10)
	e := newEnv(t, usage.WithQueue(failingRelease{q}), usage.WithClock(clock.Now))
	later := clock.Now().Add(time.Hour)
	require.NoError(t, q.Put(ctx(t), []usage.Event{{CustomerID: alice.ExternalID, UsageMeterSlug: meter,
		SubscriptionID: flowgladapitest.DemoAliceSubscriptionID, Amount: 1, TransactionID: "later",
		UsageDate: later.UnixMilli(), RecordedAt: later.UnixMilli()}}))

	err := e.rec.Flush(ctx(t))
	assert.ErrorIs(t, err, errRelease)
	assert.NotErrorIs(t, err, usage.ErrClosed)
	assert.Empty(t, e.fake.UsageEvents(), "newer than the Flush: not sent")
}

// failingUnreserve is a ledger whose Unreserve fails.
type failingUnreserve struct{ *usage.MemoryLedger }

func (failingUnreserve) Unreserve(context.Context, string, string) error { return errRelease }

// TestReleaseFailureIsLogged: a reservation the ledger could not release is logged as a
// warning (it lapses by itself after the TTL, holding balance meanwhile); a release that
// worked logs nothing.
func TestReleaseFailureIsLogged(t *testing.T) {
	tests := []struct {
		name   string
		ledger usage.Ledger
		logged bool
	}{
		{"released", usage.NewMemoryLedger(), false},
		{"the ledger fails", failingUnreserve{usage.NewMemoryLedger()}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
			logs := &logbuf.Buffer{}
			svc, err := flowglad.NewService(flowglad.Config{APIKey: fake.APIKey(), BaseURL: fake.URL,
				Logger: slog.New(slog.NewTextHandler(logs, nil))})
			require.NoError(t, err)
			rec, err := usage.NewRecorder(svc, usage.WithLedger(tc.ledger), usage.WithFlushInterval(noFlushes))
			require.NoError(t, err)
			t.Cleanup(func() { _ = rec.Close(ctx(t)) })

			res, err := rec.Reserve(ctx(t), alice, meter, 5)
			require.NoError(t, err)
			res.Release(ctx(t))
			assert.Equal(t, tc.logged, strings.Contains(logs.String(), "releasing a reservation failed"), logs.String())
		})
	}
}

// TestIsolationKeepsWhatItCouldNotSend: while a batch that got a 5xx is split to find the
// event Flowglad cannot take, a failure that is not the events' fault (a 429 on the probe)
// leaves the events not yet sent in the queue, to be sent on the next attempt: none is lost.
func TestIsolationKeepsWhatItCouldNotSend(t *testing.T) {
	var mu sync.Mutex
	n := 0
	script := map[int]int{1: 500, 3: 500, 4: 429} // bulk call number -> status; others pass
	faults := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == bulkPath {
				mu.Lock()
				n++
				status := script[n]
				mu.Unlock()
				if status != 0 {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					_, _ = w.Write([]byte(`{"error":{"code":"x","message":"failing"}}`))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()), flowgladapitest.WithMiddleware(faults))
	e := newEnvOn(t, fake)
	for _, tx := range []string{"a", "b"} {
		_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: tx,
			SubscriptionID: flowgladapitest.DemoAliceSubscriptionID})
		require.NoError(t, err)
	}
	require.NoError(t, e.rec.Flush(ctx(t)))
	assert.Equal(t, map[string]int{
		usage.StoredTransactionID(alice.ExternalID, "a"): 1,
		usage.StoredTransactionID(alice.ExternalID, "b"): 1,
	}, countByTx(e.fake))
	assert.Empty(t, e.dead.get())
	assert.Zero(t, e.rec.Stats().Queued)
}

// TestRefusalStatuses: Flowglad answering an event with a 4xx refuses it (dead-lettered,
// not retried for ever), except 408 and 429, which say "later": the event is sent again.
func TestRefusalStatuses(t *testing.T) {
	tests := []struct {
		status int
		dead   bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusNotFound, true},
		{499, true},
		{http.StatusRequestTimeout, false},
		{http.StatusTooManyRequests, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			e := newEnv(t)
			_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "job",
				SubscriptionID: flowgladapitest.DemoAliceSubscriptionID})
			require.NoError(t, err)
			e.fake.FailNext(1, flowgladapitest.Fault{Path: bulkPath, Status: tc.status})
			require.NoError(t, e.rec.Flush(ctx(t)))
			if tc.dead {
				assert.Len(t, e.dead.get(), 1)
				assert.Empty(t, e.fake.UsageEvents())
			} else {
				assert.Empty(t, e.dead.get())
				assert.Len(t, e.fake.UsageEvents(), 1)
			}
		})
	}
}

// failingRemove is a ledger whose RemovePending fails.
type failingRemove struct{ *usage.MemoryLedger }

func (failingRemove) RemovePending(context.Context, string, []string) error { return errRelease }

// failingAck is a queue whose Ack fails.
type failingAck struct{ usage.Queue }

func (failingAck) Ack(context.Context, []string) error { return errRelease }

// TestSendFailuresAfterLandingAreLogged: once Flowglad has an event, a queue that cannot
// remove it (it will be sent again, and skipped) or a ledger that cannot forget its pending
// usage (balances stay lower) is logged as a warning for the operator; when both work,
// nothing is logged.
func TestSendFailuresAfterLandingAreLogged(t *testing.T) {
	tests := []struct {
		name string
		opts []usage.Option
		want string // "": no warning
	}{
		{"both work", nil, ""},
		{"the queue cannot remove it", []usage.Option{usage.WithQueue(failingAck{usage.NewMemoryQueue(10)})}, "acknowledging sent events failed"},
		{"the ledger cannot forget it", []usage.Option{usage.WithLedger(failingRemove{usage.NewMemoryLedger()})}, "forgetting pending usage failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
			logs := &logbuf.Buffer{}
			svc, err := flowglad.NewService(flowglad.Config{APIKey: fake.APIKey(), BaseURL: fake.URL,
				Logger: slog.New(slog.NewTextHandler(logs, nil))})
			require.NoError(t, err)
			rec, err := usage.NewRecorder(svc, append([]usage.Option{usage.WithFlushInterval(noFlushes)}, tc.opts...)...)
			require.NoError(t, err)
			t.Cleanup(func() { _ = rec.Close(ctx(t)) })

			_, err = rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoAliceSubscriptionID})
			require.NoError(t, err)
			require.NoError(t, rec.Flush(ctx(t)))
			require.Len(t, fake.UsageEvents(), 1)
			if tc.want == "" {
				assert.NotContains(t, logs.String(), "level=WARN")
			} else {
				assert.Contains(t, logs.String(), tc.want)
			}
		})
	}
}

// TestFlushEndedByClose: a Flush waiting on a batch Flowglad holds returns ErrClosed when a
// Close whose context has ended stops the recorder, never its own context's error: the
// caller learns the recorder is gone, not that its own deadline passed. The event stays
// queued (unsent), not lost.
func TestFlushEndedByClose(t *testing.T) {
	q := usage.NewMemoryQueue(10)
	e := newEnv(t, usage.WithQueue(q))
	_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoAliceSubscriptionID})
	require.NoError(t, err)
	e.fake.FailNext(0, flowgladapitest.Fault{Path: bulkPath, Hang: true})
	t.Cleanup(e.fake.ClearFaults)

	flushed := make(chan error, 1)
	go func() { flushed <- e.rec.Flush(ctx(t)) }()
	waitFor(t, func() bool { return calls(e.fake)["POST "+bulkPath] == 1 })

	ended, cancel := context.WithCancel(ctx(t))
	cancel()
	assert.ErrorIs(t, e.rec.Close(ended), context.Canceled, "Close's own context ended")
	select {
	case err := <-flushed:
		assert.ErrorIs(t, err, usage.ErrClosed)
		assert.NotErrorIs(t, err, context.Canceled)
	case <-ctx(t).Done():
		t.Fatal("Flush did not return after Close")
	}
	assert.Empty(t, e.fake.UsageEvents())
	st, err := q.Stats(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, 1, st.Queued, "the event stays in the queue")
}

// sharedQueue is a memory queue that names the ledger every recorder on it must use.
type sharedQueue struct {
	*usage.MemoryQueue
	ledger usage.Ledger
}

func (q sharedQueue) SharedLedger() usage.Ledger { return q.ledger }

// TestSharedQueueLedger: a recorder on a SharedQueue keeps pending usage in the queue's
// ledger, unless WithLedger names another: the ledger that instances share is where every
// instance's gates read pending usage.
func TestSharedQueueLedger(t *testing.T) {
	tests := []struct {
		name      string
		own       bool // WithLedger given
		wantInOwn bool
	}{
		{"the queue's ledger by default", false, false},
		{"WithLedger wins", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shared, own := usage.NewMemoryLedger(), usage.NewMemoryLedger()
			opts := []usage.Option{usage.WithQueue(sharedQueue{usage.NewMemoryQueue(10), shared})}
			if tc.own {
				opts = append(opts, usage.WithLedger(own))
			}
			e := newEnv(t, opts...)
			_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 3})
			require.NoError(t, err)
			inShared, err := shared.View(ctx(t), alice.ExternalID)
			require.NoError(t, err)
			inOwn, err := own.View(ctx(t), alice.ExternalID)
			require.NoError(t, err)
			if tc.wantInOwn {
				assert.Len(t, inOwn.Pending, 1)
				assert.Empty(t, inShared.Pending)
			} else {
				assert.Len(t, inShared.Pending, 1)
				assert.Empty(t, inOwn.Pending)
			}
		})
	}
}

// TestRefusedHalfProvesFlowgladUp: a batch answered with a 500 (an archived customer's
// event) whose halves get a 404 (an unknown meter) and a 500 is settled in the same send:
// the event Flowglad records from the refused half, whichever its place in that half, proves
// Flowglad up, so the other half's 500 is isolated at once, not taken for an outage and
// retried after the backoff (an hour here).
func TestRefusedHalfProvesFlowgladUp(t *testing.T) {
	good0 := flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "good-0"}
	badMeter := flowglad.UsageEventParams{UsageMeterSlug: "no-such-meter", TransactionID: "bad-meter"}
	for name, first := range map[string][2]flowglad.UsageEventParams{
		"recorded first": {good0, badMeter},
		"refused first":  {badMeter, good0},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, usage.WithBackoff(func(int) time.Duration { return time.Hour }))
			for _, p := range first {
				_, err := e.rec.Record(ctx(t), alice, p)
				require.NoError(t, err)
			}
			_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter,
				SubscriptionID: flowgladapitest.DemoBobSubscriptionID, TransactionID: "archived"})
			require.NoError(t, err)
			_, err = e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "good-3"})
			require.NoError(t, err)
			_, err = e.svc.Client().ArchiveCustomer(ctx(t), bob.ExternalID)
			require.NoError(t, err)

			short, cancel := context.WithTimeout(ctx(t), 3*time.Second)
			defer cancel()
			require.NoError(t, e.rec.Flush(short), "settled in one send, no backoff")
			assert.Equal(t, map[string]int{
				usage.StoredTransactionID(alice.ExternalID, "good-0"): 1,
				usage.StoredTransactionID(alice.ExternalID, "good-3"): 1,
			}, countByTx(e.fake))
			assert.Len(t, e.dead.get(), 2)
		})
	}
}

// TestIsolationKeepsTheRefusedHalfsUnsent: while the refused half of a batch is settled, an
// outage (a 503) on one of its events leaves that event queued for the next attempt: it is
// neither lost nor dead-lettered, and counts once.
func TestIsolationKeepsTheRefusedHalfsUnsent(t *testing.T) {
	var mu sync.Mutex
	n := 0
	faults := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == bulkPath {
				mu.Lock()
				n++
				fail := n == 6 // [bad-meter good-0 | archived good-3], the halves, the refused half, [bad-meter], [good-0]
				mu.Unlock()
				if fail {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte(`{"error":{"code":"x","message":"unavailable"}}`))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()), flowgladapitest.WithMiddleware(faults))
	e := newEnvOn(t, fake)
	for _, x := range []struct {
		c flowglad.Customer
		p flowglad.UsageEventParams
	}{
		{alice, flowglad.UsageEventParams{UsageMeterSlug: "no-such-meter", TransactionID: "bad-meter"}},
		{alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "good-0"}},
		{bob, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoBobSubscriptionID, TransactionID: "archived"}},
		{alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "good-3"}},
	} {
		_, err := e.rec.Record(ctx(t), x.c, x.p)
		require.NoError(t, err)
	}
	_, err := e.svc.Client().ArchiveCustomer(ctx(t), bob.ExternalID)
	require.NoError(t, err)

	require.NoError(t, e.rec.Flush(ctx(t)))
	mu.Lock()
	require.GreaterOrEqual(t, n, 6, "the 503 was answered")
	mu.Unlock()
	assert.Equal(t, map[string]int{
		usage.StoredTransactionID(alice.ExternalID, "good-0"): 1,
		usage.StoredTransactionID(alice.ExternalID, "good-3"): 1,
	}, countByTx(e.fake))
	dead := map[string]bool{}
	for _, d := range e.dead.get() {
		dead[d.Event.TransactionID] = true
	}
	assert.Equal(t, map[string]bool{"bad-meter": true, "archived": true}, dead)
	assert.Zero(t, e.rec.Stats().Queued)
}

// TestBillingOutageCostsTwoReads: when the customers' billing cannot be read (Flowglad
// down), a batch whose events need it gives up after two failed reads in a row, not one
// read per customer, and waits the backoff: an outage is not hammered.
func TestBillingOutageCostsTwoReads(t *testing.T) {
	e := newEnv(t, usage.WithBackoff(func(int) time.Duration { return time.Hour }))
	for _, c := range []string{alice.ExternalID, bob.ExternalID, flowgladapitest.DemoCustomerCarol} {
		_, err := e.rec.Record(ctx(t), flowglad.Customer{ExternalID: c}, flowglad.UsageEventParams{UsageMeterSlug: meter})
		require.NoError(t, err)
	}
	e.fake.ResetRequests()
	e.fake.FailNext(0, flowgladapitest.Fault{Method: http.MethodGet, Status: http.StatusInternalServerError})
	t.Cleanup(e.fake.ClearFaults)
	short, cancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
	defer cancel()
	require.Error(t, e.rec.Flush(short))
	reads := 0
	for call, n := range calls(e.fake) {
		if strings.HasPrefix(call, "GET ") {
			reads += n
		}
	}
	assert.Equal(t, 2, reads)
	assert.Empty(t, e.fake.UsageEvents())
	assert.Equal(t, 3, e.rec.Stats().Queued)
}

// TestCustomerCreationFailures: an event of a customer Flowglad does not know yet, whose
// billing read must create them, waits in the queue while the application's
// Config.LookupCustomer fails (its database is down: that passes), and is dead-lettered when
// there is no email to create the customer with (that does not pass by itself).
func TestCustomerCreationFailures(t *testing.T) {
	tests := []struct {
		name   string
		lookup func(context.Context, string) (flowglad.Customer, error)
		dead   bool
	}{
		{"the lookup fails", func(context.Context, string) (flowglad.Customer, error) {
			return flowglad.Customer{}, errors.New("database is down")
		}, false},
		{"no email", func(_ context.Context, id string) (flowglad.Customer, error) {
			return flowglad.Customer{ExternalID: id}, nil
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
			svc, err := flowglad.NewService(flowglad.Config{APIKey: fake.APIKey(), BaseURL: fake.URL,
				Logger: slog.New(slog.DiscardHandler), LookupCustomer: tc.lookup})
			require.NoError(t, err)
			dead := &deadLetters{}
			rec, err := usage.NewRecorder(svc, usage.WithFlushInterval(noFlushes), usage.OnDeadLetter(dead.add),
				usage.WithBackoff(func(int) time.Duration { return time.Hour }))
			require.NoError(t, err)
			t.Cleanup(func() {
				c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				_ = rec.Close(c)
			})
			newcomer := flowglad.Customer{ExternalID: "user_newcomer"}
			_, err = rec.Record(ctx(t), newcomer, flowglad.UsageEventParams{UsageMeterSlug: meter})
			require.NoError(t, err)
			short, cancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
			defer cancel()
			err = rec.Flush(short)
			if tc.dead {
				require.NoError(t, err)
				require.Len(t, dead.get(), 1)
				assert.Zero(t, rec.Stats().Queued)
				return
			}
			require.Error(t, err, "waits for the lookup to work")
			assert.Empty(t, dead.get(), "not dead-lettered for a failure that passes")
			assert.Equal(t, 1, rec.Stats().Queued)
		})
	}
}
