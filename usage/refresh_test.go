package usage_test

import (
	"context"
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
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdingProxy stands before the fake and can hold its billing reads.
type holdingProxy struct {
	fake    *flowgladapitest.Server
	reads   atomic.Int64
	held    atomic.Int64
	holding atomic.Pointer[heldReads]
}

// heldReads are the billing reads a holdingProxy holds: those whose path ends in path,
// until release is closed.
type heldReads struct {
	path    string
	release chan struct{}
}

func (p *holdingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/billing") {
		p.reads.Add(1)
		if h := p.holding.Load(); h != nil && strings.HasSuffix(r.URL.Path, h.path) {
			p.held.Add(1)
			select {
			case <-h.release:
			case <-r.Context().Done():
				return
			}
		}
	}
	p.fake.ServeHTTP(w, r)
}

// hold makes the billing reads from now on whose path ends in path ("/billing": all of
// them) wait for the returned function, which the test's cleanup calls too (before the
// recorder's Close, which waits for them).
func (p *holdingProxy) hold(t *testing.T, path string) (release func()) {
	h := &heldReads{path: path, release: make(chan struct{})}
	p.holding.Store(h)
	done := false
	release = func() {
		if !done {
			done = true
			p.holding.Store(nil)
			close(h.release)
		}
	}
	t.Cleanup(release)
	return release
}

// newProxiedEnv is a recorder (flushing when asked, unless opts say otherwise) on a Service
// with an in-process billing cache, whose Flowglad is the demo fake behind a holdingProxy.
func newProxiedEnv(t *testing.T, opts ...usage.Option) (*flowgladapitest.Server, *holdingProxy, *flowglad.Service, *usage.Recorder) {
	t.Helper()
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	proxy := &holdingProxy{fake: fake}
	upstream := httptest.NewServer(proxy)
	t.Cleanup(upstream.Close)
	svc, err := flowglad.NewService(flowglad.Config{
		APIKey: fake.APIKey(), BaseURL: upstream.URL, Logger: slog.New(slog.DiscardHandler),
		RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 0}, BillingCacheTTL: time.Hour,
	})
	require.NoError(t, err)
	rec, err := usage.NewRecorder(svc, append([]usage.Option{usage.WithFlushInterval(noFlushes)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	return fake, proxy, svc, rec
}

// gateBalance reads bob's balance on the meter as a gate does: within a request.
func gateBalance(t *testing.T, svc *flowglad.Service) float64 {
	t.Helper()
	subs, err := svc.CurrentSubscriptions(reqmemo.With(ctx(t)), bob)
	require.NoError(t, err)
	return subs[0].UsageBalance(meter).AvailableBalance
}

// TestBillingRefreshedAfterABatch: once a batch lands, the customers whose billing a
// request read into the in-process cache have it read again in the background, while the
// cached billing less the pending usage (the landed usage still in it) answers the gates:
// the next gated request finds billing in the cache instead of waiting for Flowglad, and
// the landed usage counts once throughout, never zero times.
func TestBillingRefreshedAfterABatch(t *testing.T) {
	fake, proxy, svc, rec := newProxiedEnv(t)
	gate := func() float64 { return gateBalance(t, svc) }
	require.Equal(t, 100.0, gate())
	_, err := rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 30})
	require.NoError(t, err)
	require.Equal(t, 70.0, gate(), "pending")
	require.EqualValues(t, 1, proxy.reads.Load())

	release := proxy.hold(t, "/billing")
	flushed := make(chan error, 1)
	go func() { flushed <- rec.Flush(ctx(t)) }()
	require.Eventually(t, func() bool { return proxy.held.Load() == 1 }, 10*time.Second, time.Millisecond,
		"the batch lands, then the billing is read again")
	landed, ok := fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, meter)
	require.True(t, ok)
	require.Equal(t, 70.0, landed, "Flowglad has the usage")
	assert.Equal(t, 70.0, gate(), "while Flowglad is read: the cached billing less the usage, still pending")
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned (%v) before the balances were Flowglad's", err)
	default:
	}
	release()
	require.NoError(t, <-flushed)

	reads := proxy.reads.Load()
	assert.Equal(t, 70.0, gate(), "the refreshed billing, nothing pending")
	assert.Equal(t, reads, proxy.reads.Load(), "the gate after the batch reads no billing")
	assert.EqualValues(t, 2, reads, "one read after the batch, in the background")
	b, err := svc.Billing(ctx(t), bob)
	require.NoError(t, err)
	assert.Equal(t, 70.0, b.CheckUsageBalance(meter).AvailableBalance, "outside a request too")
}

// TestRefreshFailureForgetsBilling: when the billing cannot be read again after a batch
// (Flowglad down for reads), it is forgotten and the usage leaves the pending usage, as
// without a refresh: the next read asks Flowglad.
func TestRefreshFailureForgetsBilling(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	e := newEnvCfg(t, fake, flowglad.Config{BillingCacheTTL: time.Hour})
	gate := func() float64 { return gateBalance(t, e.svc) }
	require.Equal(t, 100.0, gate())
	_, err := e.rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 30})
	require.NoError(t, err)
	fake.FailNext(1, flowgladapitest.Fault{Path: "/api/v1/customers/" + bob.ExternalID + "/billing", Status: 503})
	require.NoError(t, e.rec.Flush(ctx(t)))
	fake.ResetRequests()
	assert.Equal(t, 70.0, gate())
	assert.Equal(t, 1, calls(fake)["GET /api/v1/customers/"+bob.ExternalID+"/billing"], "forgotten: read again")
}

// TestMemoryLedgerRemoveNothingKeepsGeneration: once a customer has nothing pending, the
// in-process ledger's RemovePendingAt moves no generation (queuetest.RunLedger holds the
// rest of RemovePendingAt): nothing can have landed.
func TestMemoryLedgerRemoveNothingKeepsGeneration(t *testing.T) {
	l := usage.NewMemoryLedger()
	ctx := t.Context()
	require.NoError(t, l.AddPending(ctx, "alice", []usage.PendingEvent{{TransactionID: "t1", UsageMeterSlug: meter, Amount: 2}}))
	require.NoError(t, l.RemovePending(ctx, "alice", []string{"t1"}))
	v, err := l.View(ctx, "alice")
	require.NoError(t, err)
	next, wasAt, err := l.RemovePendingAt(ctx, "alice", []string{"t9"}, v.Generation)
	require.NoError(t, err)
	assert.True(t, wasAt)
	assert.Equal(t, v.Generation, next)
}

// TestSecondBatchWhileRefreshing: a second batch of the customer lands while the billing
// read after the first is still out: its refresh follows that read (reading the ledger's
// generation only then), and neither forgets the billing, so no gate waits for Flowglad.
func TestSecondBatchWhileRefreshing(t *testing.T) {
	fake, proxy, svc, rec := newProxiedEnv(t)
	gate := func() float64 { return gateBalance(t, svc) }
	require.Equal(t, 100.0, gate())

	_, err := rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 30})
	require.NoError(t, err)
	release := proxy.hold(t, "/billing")
	first := make(chan error, 1)
	go func() { first <- rec.Flush(ctx(t)) }()
	require.Eventually(t, func() bool { return proxy.held.Load() == 1 }, 10*time.Second, time.Millisecond)

	_, err = rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 20})
	require.NoError(t, err)
	second := make(chan error, 1)
	go func() { second <- rec.Flush(ctx(t)) }()
	require.Eventually(t, func() bool {
		b, _ := fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, meter)
		return b == 50
	}, 10*time.Second, time.Millisecond, "the second batch lands")
	assert.Equal(t, 50.0, gate(), "the first read still out: the cached billing less both, pending")
	release()
	require.NoError(t, <-first)
	require.NoError(t, <-second)

	reads := proxy.reads.Load()
	assert.Equal(t, 50.0, gate())
	assert.Equal(t, reads, proxy.reads.Load(), "the gate reads no billing")
	assert.EqualValues(t, 3, reads, "the first read, and one after each batch")
}

// TestSlowBillingRefreshDoesNotStallTheFlusher: the billing read after a batch landed is
// the gates' convenience, not metering's: while Flowglad is slow to answer one customer's
// billing, full batches of other customers' usage are still sent (the queue must not fill
// up behind a billing read, which would refuse Record). Only Flush and Close wait for it.
func TestSlowBillingRefreshDoesNotStallTheFlusher(t *testing.T) {
	fake, proxy, svc, rec := newProxiedEnv(t, usage.WithBatchSize(2), usage.WithFlushInterval(time.Millisecond),
		usage.WithBackoff(func(int) time.Duration { return 0 }))

	// Both customers' billing is in the cache, read by gates under the pending version.
	for _, c := range []flowglad.Customer{bob, alice} {
		_, err := svc.CurrentSubscriptions(reqmemo.With(ctx(t)), c)
		require.NoError(t, err)
	}
	// One event of bob's: the interval's flush sends it, then reads bob's billing again;
	// Flowglad holds that read.
	proxy.hold(t, "/customers/"+bob.ExternalID+"/billing")
	_, err := rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 1})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return proxy.held.Load() == 1 }, 10*time.Second, time.Millisecond,
		"bob's usage lands and his billing is read again")

	// A full batch of alice's usage goes out meanwhile.
	for range 2 {
		_, err := rec.Record(ctx(t), alice, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 1})
		require.NoError(t, err)
	}
	assert.Eventually(t, func() bool {
		n := 0
		for _, e := range fake.UsageEvents() {
			if e.Amount == 1 {
				n++
			}
		}
		return n == 3
	}, 5*time.Second, time.Millisecond, "alice's batch waits for bob's billing read")
}
