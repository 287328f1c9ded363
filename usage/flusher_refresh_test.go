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

// customerReadHold stands before the fake and holds the billing reads of one customer
// until released.
type customerReadHold struct {
	fake    *flowgladapitest.Server
	path    string
	held    atomic.Int64
	release chan struct{}
}

func (p *customerReadHold) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, p.path) && p.held.Add(1) > 0 {
		select {
		case <-p.release:
		case <-r.Context().Done():
			return
		}
	}
	p.fake.ServeHTTP(w, r)
}

// TestSlowBillingRefreshDoesNotStallTheFlusher: the billing read after a batch landed is
// the gates' convenience, not metering's: while Flowglad is slow to answer one customer's
// billing, full batches of other customers' usage are still sent (the queue must not fill
// up behind a billing read, which would refuse Record). Only Flush and Close wait for it.
func TestSlowBillingRefreshDoesNotStallTheFlusher(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	proxy := &customerReadHold{fake: fake, path: "/customers/" + bob.ExternalID + "/billing", release: make(chan struct{})}
	proxy.held.Store(-1) // bob's first read (the gate's) answers at once
	upstream := httptest.NewServer(proxy)
	t.Cleanup(upstream.Close)
	svc, err := flowglad.NewService(flowglad.Config{
		APIKey: fake.APIKey(), BaseURL: upstream.URL, Logger: slog.New(slog.DiscardHandler),
		RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 0}, BillingCacheTTL: time.Hour,
	})
	require.NoError(t, err)
	rec, err := usage.NewRecorder(svc, usage.WithBatchSize(2), usage.WithFlushInterval(time.Millisecond),
		usage.WithBackoff(func(int) time.Duration { return 0 }))
	require.NoError(t, err)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rec.Close(c)
	})
	t.Cleanup(func() { close(proxy.release) }) // before Close, which waits for the read

	// Both customers' billing is in the cache, read by gates under the pending version.
	for _, c := range []flowglad.Customer{bob, alice} {
		_, err := svc.CurrentSubscriptions(reqmemo.With(ctx(t)), c)
		require.NoError(t, err)
	}
	// One event of bob's: the interval's flush sends it, then reads bob's billing again;
	// Flowglad holds that read.
	_, err = rec.Record(ctx(t), bob, flowglad.UsageEventParams{UsageMeterSlug: meter, Amount: 1})
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
