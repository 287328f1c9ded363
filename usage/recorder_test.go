package usage_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/flowglad-go/flowglad/internal/testclock"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Record queues the event and returns without calling Flowglad; Flush sends it, with the
// transaction id and date fixed when it was recorded.
func TestRecordThenFlush(t *testing.T) {
	clock := testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	e := newEnv(t, usage.WithClock(clock.Now))
	worked := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	generated, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 3})
	require.NoError(t, err)
	given, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "job-42", UsageDate: worked})
	require.NoError(t, err)
	assert.NotEmpty(t, generated)
	assert.Equal(t, "job-42", given)
	assert.Empty(t, e.fake.Requests(), "Record made a Flowglad call")
	assert.Equal(t, 2, e.rec.Stats().Queued)

	clock.Advance(time.Minute) // the dates were fixed by Record, not by the flush
	require.NoError(t, e.rec.Flush(ctx(t)))

	got := map[string]flowgladapitest.UsageEvent{}
	for _, ev := range e.fake.UsageEvents() {
		got[ev.TransactionID] = ev
	}
	require.Len(t, got, 2)
	g := got[usage.StoredTransactionID(alice.ExternalID, generated)]
	assert.Equal(t, int64(3), g.Amount)
	assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, g.SubscriptionID)
	assert.True(t, g.UsageDate.Equal(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)), "usageDate %v", g.UsageDate)
	j := got[usage.StoredTransactionID(alice.ExternalID, "job-42")]
	assert.Equal(t, int64(1), j.Amount, "amount defaults to 1")
	assert.True(t, j.UsageDate.Equal(worked), "usageDate %v", j.UsageDate)

	st := e.rec.Stats()
	assert.Equal(t, usage.Stats{Recorded: 2}, st)
}

// A malformed event is an error from Record, never a dead letter later, and costs no call.
func TestRecordRefusesMalformed(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		c    flowglad.Customer
		p    flowglad.UsageEventParams
		code string
		path string
	}{
		{"no meter", alice, flowglad.UsageEventParams{Amount: 1}, flowglad.CodeInvalidBody, ""},
		{"two meters", alice, flowglad.UsageEventParams{UsageMeterSlug: meter, PriceSlug: "p"}, flowglad.CodeInvalidBody, ""},
		{"negative amount", alice, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: -1}, flowglad.CodeInvalidBody, "amount"},
		{"long transaction id", alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: strings.Repeat("x", 300)}, flowglad.CodeInvalidBody, "transactionId"},
		{"date before 1970", alice, flowglad.UsageEventParams{UsageMeterSlug: meter, UsageDate: time.Unix(-10, 0)}, flowglad.CodeInvalidBody, "usageDate"},
		{"no customer", flowglad.Customer{}, flowglad.UsageEventParams{UsageMeterSlug: meter}, flowglad.CodeInvalidCustomer, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := e.rec.Record(ctx(t), tc.c, tc.p)
			var fe *flowglad.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.code, fe.Code)
			assert.Empty(t, tx)
			if tc.path != "" {
				issues, _ := fe.Details["issues"].([]flowglad.Issue)
				require.NotEmpty(t, issues)
				assert.Equal(t, tc.path, issues[0].Path)
			}
		})
	}
	assert.Equal(t, usage.Stats{}, e.rec.Stats())
	assert.Empty(t, e.fake.Requests())
}

// One bulk call carries the events of many customers; each customer's billing is read once
// per batch to choose the subscription.
func TestFlushOneCallForManyCustomers(t *testing.T) {
	e := newEnv(t)
	for i := range 10 {
		c := alice
		if i%2 == 1 {
			c = bob
		}
		_, err := e.rec.Record(ctx(t), c, flowglad.UsageEventParams{UsageMeterSlug: meter})
		require.NoError(t, err)
	}
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoBobSubscriptionID})
	require.NoError(t, err)
	require.NoError(t, e.rec.Flush(ctx(t)))
	assert.Equal(t, map[string]int{
		"POST " + bulkPath: 1,
		"GET /api/v1/customers/" + alice.ExternalID + "/billing": 1,
		"GET /api/v1/customers/" + bob.ExternalID + "/billing":   1,
	}, calls(e.fake))
	subs := map[string]int{}
	for _, ev := range e.fake.UsageEvents() {
		subs[ev.SubscriptionID]++
	}
	assert.Equal(t, map[string]int{flowgladapitest.DemoAliceSubscriptionID: 5, flowgladapitest.DemoBobSubscriptionID: 6}, subs)
}

// Every event counts exactly once at Flowglad whatever fails on the way: the batch is
// retried with the same transaction ids until Flowglad has it.
func TestExactlyOnceThroughFaults(t *testing.T) {
	bulk := flowgladapitest.Fault{Method: http.MethodPost, Path: bulkPath}
	with := func(f flowgladapitest.Fault, edit func(*flowgladapitest.Fault)) flowgladapitest.Fault {
		edit(&f)
		return f
	}
	cases := []struct {
		name   string
		faults []flowgladapitest.Fault
		calls  int // bulk calls for three batches of 20
	}{
		// A 503 says Flowglad cannot answer now: the batch is retried whole.
		{"503 before apply", []flowgladapitest.Fault{with(bulk, func(f *flowgladapitest.Fault) { f.Status = 503 })}, 4},
		// A 500 is answered by sending each half once (it may be one event Flowglad cannot
		// take): both are taken.
		{"500 before apply", []flowgladapitest.Fault{with(bulk, func(f *flowgladapitest.Fault) { f.Status = 500 })}, 5},
		{"500 after apply", []flowgladapitest.Fault{with(bulk, func(f *flowgladapitest.Fault) { f.Status = 500; f.AfterApply = true })}, 5},
		{"connection dropped after apply", []flowgladapitest.Fault{with(bulk, func(f *flowgladapitest.Fault) { f.CloseConnection = true; f.AfterApply = true })}, 4},
		{"answer garbled after apply", []flowgladapitest.Fault{with(bulk, func(f *flowgladapitest.Fault) { f.Status = 200; f.Body = `{"usageEv`; f.AfterApply = true })}, 4},
		{"429", []flowgladapitest.Fault{with(bulk, func(f *flowgladapitest.Fault) { f.Status = 429 })}, 4},
		{"401 (rate limiting)", []flowgladapitest.Fault{with(bulk, func(f *flowgladapitest.Fault) { f.Status = 401 })}, 4},
		{"408", []flowgladapitest.Fault{with(bulk, func(f *flowgladapitest.Fault) { f.Status = 408 })}, 4},
		// A 502, then both halves fail (an outage): the batch is retried whole.
		{"several in a row", []flowgladapitest.Fault{
			with(bulk, func(f *flowgladapitest.Fault) { f.Status = 502 }),
			with(bulk, func(f *flowgladapitest.Fault) { f.Status = 500; f.AfterApply = true }),
			with(bulk, func(f *flowgladapitest.Fault) { f.CloseConnection = true }),
		}, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, usage.WithBatchSize(20))
			for _, f := range tc.faults {
				e.fake.FailNext(1, f)
			}
			var txs []string
			for i := range 50 {
				c := []flowglad.Customer{alice, bob}[i%2]
				tx, err := e.rec.Record(ctx(t), c, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: fmt.Sprintf("job-%d", i)})
				require.NoError(t, err)
				txs = append(txs, usage.StoredTransactionID(c.ExternalID, tx))
			}
			require.NoError(t, e.rec.Flush(ctx(t)))
			counts := countByTx(e.fake)
			assert.Len(t, counts, len(txs))
			for _, tx := range txs {
				assert.Equal(t, 1, counts[tx], "event %s", tx)
			}
			assert.Equal(t, tc.calls, calls(e.fake)["POST "+bulkPath])
			st := e.rec.Stats()
			assert.Equal(t, usage.Stats{Recorded: 50}, st)
			assert.Empty(t, e.dead.get())
		})
	}
}

// One event Flowglad refuses in a batch of 500 is isolated by splitting the batch: it is
// dead-lettered with Flowglad's reason, the 499 others recorded once.
func TestRefusedEventIsDeadLettered(t *testing.T) {
	e := newEnv(t)
	var txs []string
	for i := range 500 {
		p := flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: fmt.Sprintf("ok-%d", i)}
		if i == 321 {
			p = flowglad.UsageEventParams{UsageMeterSlug: "no-such-meter", TransactionID: "bad"}
		}
		_, err := e.rec.Record(ctx(t), alice, p)
		require.NoError(t, err)
		if i != 321 {
			txs = append(txs, usage.StoredTransactionID(alice.ExternalID, p.TransactionID))
		}
	}
	require.NoError(t, e.rec.Flush(ctx(t)))
	counts := countByTx(e.fake)
	assert.Len(t, counts, 499)
	for _, tx := range txs {
		assert.Equal(t, 1, counts[tx], "event %s", tx)
	}
	dead := e.dead.get()
	require.Len(t, dead, 1)
	assert.Equal(t, "bad", dead[0].Event.TransactionID)
	assert.ErrorIs(t, dead[0].Err, flowgladapi.ErrNotFound)
	assert.LessOrEqual(t, calls(e.fake)["POST "+bulkPath], 2*9+1, "splitting costs about 2·log2(500) calls")
	assert.Equal(t, usage.Stats{Recorded: 499, DeadLettered: 1}, e.rec.Stats())

	// The meter read is not dead-lettered again: the queue is empty.
	e.fake.ResetRequests()
	require.NoError(t, e.rec.Flush(ctx(t)))
	assert.Empty(t, calls(e.fake))
}

// Live Flowglad answers a batch holding an archived customer's event with a 500: the
// event is isolated (the others recorded) and dead-lettered once it fails alone while
// Flowglad takes others, instead of blocking the queue for ever.
func TestArchivedCustomerIsIsolated(t *testing.T) {
	e := newEnv(t) // a batch of 500: nothing is sent before Flush
	var txs []string
	for i := range 40 {
		c, sub := alice, flowgladapitest.DemoAliceSubscriptionID
		if i == 17 {
			c, sub = bob, flowgladapitest.DemoBobSubscriptionID
		}
		tx, err := e.rec.Record(ctx(t), c, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: sub, TransactionID: fmt.Sprint(i)})
		require.NoError(t, err)
		if i != 17 {
			txs = append(txs, usage.StoredTransactionID(c.ExternalID, tx))
		}
	}
	_, err := e.svc.Client().ArchiveCustomer(ctx(t), bob.ExternalID)
	require.NoError(t, err)
	e.fake.ResetRequests()
	require.NoError(t, e.rec.Flush(ctx(t)))
	counts := countByTx(e.fake)
	assert.Len(t, counts, 39)
	for _, tx := range txs {
		assert.Equal(t, 1, counts[tx], "event %s", tx)
	}
	dead := e.dead.get()
	require.Len(t, dead, 1)
	assert.Equal(t, "17", dead[0].Event.TransactionID)
	assert.ErrorIs(t, dead[0].Err, flowgladapi.ErrServer)
	assert.LessOrEqual(t, calls(e.fake)["POST "+bulkPath], 1+2*6+4, "halving to the event, then its strikes")
}

// During an outage (every call a 5xx, here after applying) nothing is dead-lettered: the
// events wait in the queue; after it every event counts once.
func TestOutageKeepsEverything(t *testing.T) {
	e := newEnv(t, usage.WithBackoff(func(int) time.Duration { return time.Millisecond }))
	var txs []string
	for i := range 30 {
		tx, err := e.rec.Record(ctx(t), []flowglad.Customer{alice, bob}[i%2], flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: fmt.Sprint(i)})
		require.NoError(t, err)
		txs = append(txs, usage.StoredTransactionID([]flowglad.Customer{alice, bob}[i%2].ExternalID, tx))
	}
	e.fake.FailNext(0, flowgladapitest.Fault{Path: bulkPath, Status: 500, AfterApply: true})
	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	require.Error(t, e.rec.Flush(short))
	assert.Empty(t, e.dead.get())
	assert.Equal(t, 30, e.rec.Stats().Queued)
	e.fake.ClearFaults()
	require.NoError(t, e.rec.Flush(ctx(t)))
	counts := countByTx(e.fake)
	assert.Len(t, counts, 30)
	for _, tx := range txs {
		assert.Equal(t, 1, counts[tx], "event %s", tx)
	}
	assert.Equal(t, usage.Stats{Recorded: 30}, e.rec.Stats())
}

// A customer with no current subscription cannot be charged: its events are dead-lettered
// (the others sent), not retried for ever.
func TestNoSubscriptionIsDeadLettered(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	require.NoError(t, fake.SetSubscriptionStatus(flowgladapitest.DemoBobSubscriptionID, "canceled"))
	e := newEnvOn(t, fake)
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "b"})
	require.NoError(t, err)
	_, err = e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "a"})
	require.NoError(t, err)
	require.NoError(t, e.rec.Flush(ctx(t)))
	assert.Equal(t, map[string]int{usage.StoredTransactionID(alice.ExternalID, "a"): 1}, countByTx(e.fake))
	dead := e.dead.get()
	require.Len(t, dead, 1)
	var fe *flowglad.Error
	require.ErrorAs(t, dead[0].Err, &fe)
	assert.Equal(t, flowglad.CodeNoActiveSubscription, fe.Code)
}

// While Flowglad fails, Flush keeps the events and returns when its context ends; they
// are sent once Flowglad is back.
func TestFlushGivesUpWithItsContext(t *testing.T) {
	e := newEnv(t, usage.WithBackoff(func(int) time.Duration { return time.Millisecond }))
	_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "t"})
	require.NoError(t, err)
	// A refused key that never worked is a configuration problem: retried, never dead-lettered.
	e.fake.FailNext(1_000_000, flowgladapitest.Fault{Method: http.MethodPost, Path: bulkPath, Status: 401})
	short, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err = e.rec.Flush(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, e.rec.Stats().Queued)
	assert.Empty(t, e.dead.get())
	assert.Empty(t, e.fake.UsageEvents())
}

// A full batch is sent without waiting for Flush or the interval.
func TestFullBatchIsSentAtOnce(t *testing.T) {
	e := newEnv(t, usage.WithBatchSize(5))
	for i := range 5 {
		_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: fmt.Sprint(i)})
		require.NoError(t, err)
	}
	waitFor(t, func() bool { return len(e.fake.UsageEvents()) == 5 })
	assert.Equal(t, 1, calls(e.fake)["POST "+bulkPath])
}

// The interval sends what is queued, even less than a batch.
func TestIntervalSends(t *testing.T) {
	e := newEnv(t, usage.WithFlushInterval(5*time.Millisecond))
	_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter})
	require.NoError(t, err)
	waitFor(t, func() bool { return len(e.fake.UsageEvents()) == 1 })
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met by the deadline")
		}
		<-tick.C
	}
}

// Close drains the queue, stops the flusher, and refuses what comes after.
func TestCloseDrains(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: fmt.Sprint(i)})
		require.NoError(t, err)
	}
	require.NoError(t, e.rec.Close(ctx(t)))
	assert.Len(t, countByTx(e.fake), 7)
	select {
	case <-e.rec.Done():
	default:
		t.Error("the flusher still runs after Close")
	}
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter})
	assert.ErrorIs(t, err, usage.ErrClosed)
	assert.ErrorIs(t, e.rec.Flush(ctx(t)), usage.ErrClosed)
	assert.ErrorIs(t, e.rec.Close(ctx(t)), usage.ErrClosed)
	_, err = e.rec.Reserve(ctx(t), bob, meter, 1)
	assert.ErrorIs(t, err, usage.ErrClosed)
}

// Close during an outage returns when its context ends; a durable queue keeps the events.
func TestCloseDuringOutage(t *testing.T) {
	q := usage.NewMemoryQueue(10)
	e := newEnv(t, usage.WithQueue(q), usage.WithBackoff(func(int) time.Duration { return time.Millisecond }))
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter})
	require.NoError(t, err)
	e.fake.FailNext(1_000_000, flowgladapitest.Fault{Method: http.MethodPost, Path: bulkPath, Status: 503})
	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = e.rec.Close(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	st, err := q.Stats(t.Context())
	require.NoError(t, err, "a queue the recorder was given stays open")
	assert.Equal(t, 1, st.Queued)
	assert.Equal(t, 0, st.Claimed, "the events were released")
}

// A full queue is an error from Record; nothing is added, nothing is pending.
func TestQueueFull(t *testing.T) {
	e := newEnv(t, usage.WithQueue(usage.NewMemoryQueue(2)))
	before := balance(t, e.svc, bob)
	for range 2 {
		_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter})
		require.NoError(t, err)
	}
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 50})
	require.ErrorIs(t, err, usage.ErrQueueFull)
	assert.Equal(t, before-2, balance(t, e.svc, bob))
}

// Stats reports queued events and the age of the oldest.
func TestStats(t *testing.T) {
	clock := testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	e := newEnv(t, usage.WithClock(clock.Now))
	_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter})
	require.NoError(t, err)
	clock.Advance(3 * time.Second)
	_, err = e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter})
	require.NoError(t, err)
	clock.Advance(2 * time.Second)
	assert.Equal(t, usage.Stats{Queued: 2, Oldest: 5 * time.Second}, e.rec.Stats())
	require.NoError(t, e.rec.Flush(ctx(t)))
	assert.Equal(t, usage.Stats{Recorded: 2}, e.rec.Stats())
}

func TestNewRecorderRefusesBadOptions(t *testing.T) {
	svc, err := flowglad.NewService(flowglad.Config{APIKey: "sk_test_x", BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	for name, opt := range map[string]usage.Option{
		"batch 0":     usage.WithBatchSize(0),
		"batch 1001":  usage.WithBatchSize(1001),
		"interval 0":  usage.WithFlushInterval(0),
		"ttl -1":      usage.WithReservationTTL(-1),
		"subs ttl -1": usage.WithSubscriptionTTL(-1),
		"nil clock":   usage.WithClock(nil),
		"nil backoff": usage.WithBackoff(nil),
	} {
		_, err := usage.NewRecorder(svc, opt)
		assert.Error(t, err, name)
	}
	_, err = usage.NewRecorder(nil)
	assert.Error(t, err)
	rec, err := usage.NewRecorder(svc, usage.WithBatchSize(1000))
	require.NoError(t, err)
	require.NoError(t, rec.Close(t.Context()))
}

// Within a request that has read the customer's billing (a gate), Record chooses the
// subscription from it, so sending the event reads no billing.
func TestRecordUsesTheRequestsBilling(t *testing.T) {
	e := newEnv(t)
	req := reqmemo.With(ctx(t))
	_, err := e.svc.CurrentSubscriptions(req, alice)
	require.NoError(t, err)
	e.fake.ResetRequests()
	_, err = e.rec.Record(req, alice, flowglad.UsageEventParams{UsageMeterSlug: meter})
	require.NoError(t, err)
	require.NoError(t, e.rec.Flush(ctx(t)))
	assert.Equal(t, map[string]int{"POST " + bulkPath: 1}, calls(e.fake))
	assert.Len(t, e.fake.UsageEvents(), 1)
}

// Close lets the batch being sent finish rather than cancel it (which would send it again).
func TestCloseLetsTheBatchFinish(t *testing.T) {
	e := newEnv(t, usage.WithBatchSize(5))
	e.fake.SetLatency(100 * time.Millisecond)
	for i := range 5 {
		_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoAliceSubscriptionID, TransactionID: fmt.Sprint(i)})
		require.NoError(t, err)
	}
	waitFor(t, func() bool { return calls(e.fake)["POST "+bulkPath] == 1 })
	require.NoError(t, e.rec.Close(ctx(t)))
	assert.Equal(t, 1, calls(e.fake)["POST "+bulkPath])
	assert.Len(t, e.fake.UsageEvents(), 5)
}

// The subscriptions read for a customer serve its later batches for WithSubscriptionTTL;
// with 0 every batch reads them.
func TestSubscriptionsKeptAcrossBatches(t *testing.T) {
	billing := "GET /api/v1/customers/" + alice.ExternalID + "/billing"
	cases := []struct {
		name  string
		ttl   time.Duration
		reads int
	}{
		{"default", usage.DefaultSubscriptionTTL, 2}, // the clock passes the TTL once
		{"off", 0, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
			e := newEnv(t, usage.WithClock(clock.Now), usage.WithSubscriptionTTL(tc.ttl))
			for batch := range 4 {
				if batch == 3 {
					clock.Advance(usage.DefaultSubscriptionTTL)
				}
				_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter})
				require.NoError(t, err)
				require.NoError(t, e.rec.Flush(ctx(t)))
			}
			assert.Equal(t, map[string]int{"POST " + bulkPath: 4, billing: tc.reads}, calls(e.fake))
		})
	}
}

// A batch whose answer never comes (Flowglad applied it; the call timed out) is sent again
// and counts once.
func TestTimeoutAfterApply(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	e := newEnvCfg(t, fake, flowglad.Config{Timeout: 300 * time.Millisecond})
	fake.FailNext(1, flowgladapitest.Fault{Path: bulkPath, Hang: true, AfterApply: true})
	var txs []string
	for i := range 10 {
		tx, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoAliceSubscriptionID, TransactionID: fmt.Sprint(i)})
		require.NoError(t, err)
		txs = append(txs, usage.StoredTransactionID(alice.ExternalID, tx))
	}
	require.NoError(t, e.rec.Flush(ctx(t)))
	counts := countByTx(fake)
	assert.Len(t, counts, 10)
	for _, tx := range txs {
		assert.Equal(t, 1, counts[tx], "event %s", tx)
	}
	assert.GreaterOrEqual(t, calls(fake)["POST "+bulkPath], 2, "the batch was sent again")
}

// Flush sends what was recorded before it, not what comes after: it returns under a
// steady stream of new events.
func TestFlushStopsAtWhatWasRecordedBefore(t *testing.T) {
	clock := testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	q := usage.NewMemoryQueue(10)
	e := newEnv(t, usage.WithQueue(q), usage.WithClock(clock.Now), usage.WithBatchSize(1))
	// Queued directly (Record would wake the flusher for a full batch of one): an event
	// recorded before the Flush, and one recorded (by another instance, say) after it began.
	event := func(tx string, at time.Time) usage.Event {
		return usage.Event{CustomerID: alice.ExternalID, UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoAliceSubscriptionID,
			Amount: 1, TransactionID: tx, UsageDate: at.UnixMilli(), RecordedAt: at.UnixMilli()}
	}
	later := clock.Now().Add(time.Hour)
	require.NoError(t, q.Put(ctx(t), []usage.Event{event("before", clock.Now()), event("after", later)}))
	require.NoError(t, e.rec.Flush(ctx(t)))
	assert.Equal(t, map[string]int{usage.StoredTransactionID(alice.ExternalID, "before"): 1}, countByTx(e.fake))
	st, err := q.Stats(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, usage.QueueStats{Queued: 1, OldestRecordedAt: time.UnixMilli(later.UnixMilli())}, st, "released, not held")
}

// The backoff is asked for each failure in a row, attempt 0, 1, 2, ...
func TestBackoffAttempts(t *testing.T) {
	var mu sync.Mutex
	var attempts []int
	e := newEnv(t, usage.WithBackoff(func(a int) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, a)
		return 0
	}))
	_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoAliceSubscriptionID})
	require.NoError(t, err)
	e.fake.FailNext(3, flowgladapitest.Fault{Path: bulkPath, Status: 429})
	require.NoError(t, e.rec.Flush(ctx(t)))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{0, 1, 2}, attempts)
}

// A batch Flowglad answers with a 500 (an archived customer's event) whose halves get a
// 404 (an unknown meter) and a 500 is not an outage: the 404 proves Flowglad up. Taking it
// for one released the same batch to be sent the same way for ever, and the queue behind
// it never moved.
func TestRefusalAndArchivedCustomerInOneBatch(t *testing.T) {
	e := newEnv(t)
	params := []struct {
		c flowglad.Customer
		p flowglad.UsageEventParams
	}{
		{alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "good-0"}},
		{alice, flowglad.UsageEventParams{UsageMeterSlug: "no-such-meter", TransactionID: "bad-meter"}},
		{bob, flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: flowgladapitest.DemoBobSubscriptionID, TransactionID: "archived"}},
		{alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "good-3"}},
	}
	for _, x := range params {
		_, err := e.rec.Record(ctx(t), x.c, x.p)
		require.NoError(t, err)
	}
	_, err := e.svc.Client().ArchiveCustomer(ctx(t), bob.ExternalID)
	require.NoError(t, err)

	short, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	require.NoError(t, e.rec.Flush(short), "the batch is settled, not retried as an outage")
	counts := countByTx(e.fake)
	assert.Equal(t, map[string]int{
		usage.StoredTransactionID(alice.ExternalID, "good-0"): 1,
		usage.StoredTransactionID(alice.ExternalID, "good-3"): 1,
	}, counts)
	dead := map[string]error{}
	for _, d := range e.dead.get() {
		dead[d.Event.TransactionID] = d.Err
	}
	require.Len(t, dead, 2)
	assert.ErrorIs(t, dead["bad-meter"], flowgladapi.ErrNotFound)
	assert.ErrorIs(t, dead["archived"], flowgladapi.ErrServer)
	assert.Equal(t, 0, e.rec.Stats().Queued)
}

// flapping answers every other bulk call with a 503 of its own, as a gateway in front of
// Flowglad does when one of its backends is down; other calls pass.
type flapping struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls int
}

func (f *flapping) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == bulkPath {
		f.mu.Lock()
		f.calls++
		fail := f.calls%2 == 1
		f.mu.Unlock()
		if fail {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
				Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("no healthy upstream")),
				Request: req, ProtoMajor: 1, ProtoMinor: 1}, nil
		}
	}
	return f.next.RoundTrip(req)
}

// A 502, 503 or 504 says Flowglad (or the gateway before it) cannot answer now: never that
// an event is poison. Only Flowglad's own 500 (usage for an archived customer) is. A
// flapping gateway let the probe through and failed the event alone again and again, and
// the event was dead-lettered: usage lost.
func TestFlappingGatewayDeadLettersNothing(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	svc, err := flowglad.NewService(flowglad.Config{
		APIKey: fake.APIKey(), BaseURL: fake.URL, Logger: slog.New(slog.DiscardHandler),
		RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 0},
		HTTPClient:  &http.Client{Transport: &flapping{next: http.DefaultTransport}},
	})
	require.NoError(t, err)
	dead := &deadLetters{}
	rec, err := usage.NewRecorder(svc, usage.WithFlushInterval(noFlushes),
		usage.WithBackoff(func(int) time.Duration { return 0 }), usage.OnDeadLetter(dead.add))
	require.NoError(t, err)
	defer func() { assert.NoError(t, rec.Close(ctx(t))) }()

	for i := range 2 {
		_, err := rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter,
			SubscriptionID: flowgladapitest.DemoAliceSubscriptionID, TransactionID: fmt.Sprint("flap-", i)})
		require.NoError(t, err)
	}
	require.NoError(t, rec.Flush(ctx(t)))
	assert.Empty(t, dead.get(), "nothing is dead-lettered for a gateway's 503")
	counts := countByTx(fake)
	assert.Equal(t, map[string]int{
		usage.StoredTransactionID(alice.ExternalID, "flap-0"): 1,
		usage.StoredTransactionID(alice.ExternalID, "flap-1"): 1,
	}, counts)
}

// An archived customer's event alone in the queue (the last of a quiet worker) is isolated
// too: an event Flowglad took in an earlier batch proves Flowglad up. Without one, it was
// sent alone again and again: Flush and Close never finished while no other event came.
func TestArchivedCustomerAloneIsIsolated(t *testing.T) {
	e := newEnv(t)
	_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "earlier"})
	require.NoError(t, err)
	require.NoError(t, e.rec.Flush(ctx(t)))

	_, err = e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter,
		SubscriptionID: flowgladapitest.DemoBobSubscriptionID, TransactionID: "alone"})
	require.NoError(t, err)
	_, err = e.svc.Client().ArchiveCustomer(ctx(t), bob.ExternalID)
	require.NoError(t, err)

	short, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	require.NoError(t, e.rec.Flush(short))
	dead := e.dead.get()
	require.Len(t, dead, 1)
	assert.Equal(t, "alone", dead[0].Event.TransactionID)
	assert.ErrorIs(t, dead[0].Err, flowgladapi.ErrServer)
	assert.Equal(t, map[string]int{usage.StoredTransactionID(alice.ExternalID, "earlier"): 1}, countByTx(e.fake),
		"the earlier event, sent again as the probe, counts once")
	assert.Equal(t, 0, e.rec.Stats().Queued)
}

// One customer whose billing cannot be read (its reads fail, again and again) holds back
// only its own events, whose subscription is chosen from that billing: the other
// customers' events are sent. Before, the whole batch was released and retried, and
// nobody's usage reached Flowglad while that customer's reads failed.
func TestUnreadableCustomerHoldsBackOnlyItsEvents(t *testing.T) {
	e := newEnv(t)
	e.fake.FailNext(0, flowgladapitest.Fault{Path: "/api/v1/customers/" + bob.ExternalID + "/billing", Status: 500})
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: "bob-0"})
	require.NoError(t, err)
	for i := range 3 {
		_, err := e.rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: fmt.Sprint("alice-", i)})
		require.NoError(t, err)
	}
	short, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	require.Error(t, e.rec.Flush(short), "bob's event cannot be sent")
	assert.Equal(t, map[string]int{
		usage.StoredTransactionID(alice.ExternalID, "alice-0"): 1,
		usage.StoredTransactionID(alice.ExternalID, "alice-1"): 1,
		usage.StoredTransactionID(alice.ExternalID, "alice-2"): 1,
	}, countByTx(e.fake))
	assert.Empty(t, e.dead.get(), "bob's event waits; it is not dead-lettered")
	assert.Equal(t, 1, e.rec.Stats().Queued)

	e.fake.ClearFaults()
	require.NoError(t, e.rec.Flush(ctx(t)))
	assert.Equal(t, 1, countByTx(e.fake)[usage.StoredTransactionID(bob.ExternalID, "bob-0")])
}
