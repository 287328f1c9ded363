package flowglad_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/testclock"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOutage is issue 16's outage test: every Flowglad call fails for a simulated five
// minutes. Metered requests behind RequireFeature + RequireUsageBalance + MeterUsage with
// a recorder keep answering 2xx on last-known billing (Config.StaleIfError), a customer
// without the feature is still refused, the events wait in the queue dated when the work
// was done; after recovery (an answer lost on the way back included) every event is at
// Flowglad exactly once and the balance moved by exactly their sum.
//
// Only the recorder's clock is simulated: StaleIfError is longer than the outage, so the
// real time the test takes does not matter, and nothing sleeps.
func TestOutage(t *testing.T) {
	const (
		meter      = flowgladapitest.DemoUsageMeterAPICalls
		alice      = flowgladapitest.DemoCustomerAlice
		aliceSub   = flowgladapitest.DemoAliceSubscriptionID
		outage     = 5 * time.Minute
		step       = 30 * time.Second // between requests, in simulated time
		bulkPath   = "/api/v1/usage-events/bulk"
		staleLimit = 10 * time.Minute // > outage
	)
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey: fake.APIKey(), BaseURL: fake.URL, Logger: slog.New(slog.DiscardHandler),
		Auth: flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
			if u := r.Header.Get("X-User"); u != "" {
				return flowglad.Customer{ExternalID: u}, nil
			}
			return flowglad.Customer{}, flowglad.ErrUnauthenticated
		}),
		RetryPolicy:  &flowgladapi.RetryPolicy{MaxRetries: 0},
		StaleIfError: staleLimit,
	})
	require.NoError(t, err)
	clock := testclock.New(time.Now().Add(-time.Hour).Truncate(time.Millisecond))
	rec, err := usage.NewRecorder(h.Service(),
		usage.WithClock(clock.Now),
		usage.WithFlushInterval(time.Hour), // flushes are the test's
		usage.WithBackoff(func(int) time.Duration { return time.Millisecond }),
	)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = rec.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	var stale atomic.Int64 // requests whose gates decided on last-known billing
	work := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int64
		_, _ = fmt.Sscan(r.URL.Query().Get("n"), &n)
		middleware.SetUsage(r.Context(), n%3+1)
		middleware.SetTransactionID(r.Context(), "req-"+r.URL.Query().Get("n"))
		if b, ok := middleware.BillingFrom(r.Context()); ok && b.Stale {
			stale.Add(1)
		}
		_, _ = io.WriteString(w, "generated")
	})
	withRec := middleware.WithRecorder(rec)
	endpoint := middleware.RequireFeature(h, flowgladapitest.DemoFeaturePremium)(
		middleware.RequireUsageBalance(h, meter, 1, withRec)(
			middleware.MeterUsage(h, meter, withRec)(work)))
	serve := func(user string, n int) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/generate?n=%d", n), strings.NewReader(`{}`))
		r.Header.Set("X-User", user)
		w := httptest.NewRecorder()
		endpoint.ServeHTTP(w, r)
		return w
	}
	balance := func() float64 {
		b, ok := fake.UsageBalance(aliceSub, meter)
		require.True(t, ok)
		return b
	}
	start := balance()

	// Before the outage: one request, which reads billing (and keeps it as last known).
	type sent struct {
		amount int64
		date   time.Time
	}
	want := map[string]sent{} // stored transaction id -> what was recorded
	record := func(n int) {
		w := serve(alice, n)
		require.Equal(t, http.StatusOK, w.Code, "request %d: %s", n, w.Body)
		want[flowglad.ServerTransactionID(alice, fmt.Sprintf("req-%d", n))] = sent{int64(n%3 + 1), clock.Now()}
	}
	record(0)
	require.Zero(t, stale.Load())
	require.Equal(t, http.StatusForbidden, serve(flowgladapitest.DemoCustomerBob, 997).Code, "Bob has no premium")

	// Flowglad is down: every call fails, whatever its path.
	fake.FailNext(0, flowgladapitest.Fault{Status: http.StatusServiceUnavailable})
	n := 1
	for elapsed := time.Duration(0); elapsed < outage; elapsed += step {
		clock.Advance(step)
		record(n)
		n++
		if elapsed == outage/2 {
			// A flush in the middle of it gives up with the events still queued.
			fctx, fcancel := context.WithTimeout(ctx, 50*time.Millisecond)
			assert.Error(t, rec.Flush(fctx))
			fcancel()
		}
	}
	assert.Equal(t, int64(n-1), stale.Load(), "every request of the outage was decided on last-known billing")
	assert.Equal(t, http.StatusForbidden, serve(flowgladapitest.DemoCustomerBob, 999).Code,
		"last-known billing still refuses a customer without the feature")
	assert.Equal(t, http.StatusServiceUnavailable, serve(flowgladapitest.DemoCustomerCarol, 998).Code,
		"a customer never read has no last-known billing: the gate's policy applies")
	st := rec.Stats()
	assert.Equal(t, n, st.Queued, "every event of the outage waits in the queue")
	assert.GreaterOrEqual(t, st.Oldest, outage, "the oldest waited the whole outage (simulated time)")
	assert.Equal(t, start, balance(), "nothing reached Flowglad")

	// Recovery; the first batch lands but its answer is lost on the way back, so the
	// recorder sends it again with the same transaction ids.
	fake.ClearFaults()
	fake.FailNext(1, flowgladapitest.Fault{Method: http.MethodPost, Path: bulkPath, Status: http.StatusBadGateway, AfterApply: true})
	require.NoError(t, rec.Flush(ctx))
	assert.Zero(t, rec.Stats().Queued)

	got := map[string]int{}
	var sum int64
	for _, ev := range fake.UsageEvents() {
		got[ev.TransactionID]++
		s, ok := want[ev.TransactionID]
		if assert.True(t, ok, "an event nobody recorded: %s", ev.TransactionID) {
			assert.Equal(t, s.amount, ev.Amount, ev.TransactionID)
			assert.True(t, s.date.Equal(ev.UsageDate), "%s dated %v, the work was done at %v", ev.TransactionID, ev.UsageDate, s.date)
			assert.Equal(t, aliceSub, ev.SubscriptionID)
		}
		sum += ev.Amount
	}
	assert.Len(t, got, len(want))
	for tx, c := range got {
		assert.Equal(t, 1, c, "recorded once: %s", tx)
	}
	var wantSum int64
	for _, s := range want {
		wantSum += s.amount
	}
	assert.Equal(t, wantSum, sum)
	assert.Equal(t, start-float64(wantSum), balance(), "the balance moved by exactly the sum")
}
