package usage_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/stretchr/testify/require"
)

var (
	alice = flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice}
	bob   = flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerBob}
)

const (
	meter     = flowgladapitest.DemoUsageMeterAPICalls
	bulkPath  = "/api/v1/usage-events/bulk"
	noFlushes = time.Hour // a flush interval no test reaches: flushes are the test's
)

// env is a recorder on a Service over the demo fake.
type env struct {
	fake *flowgladapitest.Server
	svc  *flowglad.Service
	rec  *usage.Recorder
	dead *deadLetters
}

type deadLetters struct {
	mu   sync.Mutex
	list []usage.DeadLetter
}

func (d *deadLetters) add(_ context.Context, l usage.DeadLetter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.list = append(d.list, l)
}

func (d *deadLetters) get() []usage.DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]usage.DeadLetter(nil), d.list...)
}

// newEnv starts a recorder that flushes only when asked (or when a batch is full), retries
// at once, and closes at the end of the test.
func newEnv(t *testing.T, opts ...usage.Option) *env {
	t.Helper()
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	return newEnvOn(t, fake, opts...)
}

func newEnvOn(t *testing.T, fake *flowgladapitest.Server, opts ...usage.Option) *env {
	t.Helper()
	return newEnvCfg(t, fake, flowglad.Config{}, opts...)
}

// newEnvCfg is newEnvOn with cfg's BillingCacheTTL and Timeout.
func newEnvCfg(t *testing.T, fake *flowgladapitest.Server, cfg flowglad.Config, opts ...usage.Option) *env {
	t.Helper()
	svc, err := flowglad.NewService(flowglad.Config{
		APIKey: fake.APIKey(), BaseURL: fake.URL, Logger: slog.New(slog.DiscardHandler),
		RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 0}, BillingCacheTTL: cfg.BillingCacheTTL,
		Timeout: cfg.Timeout,
	})
	require.NoError(t, err)
	e := &env{fake: fake, svc: svc, dead: &deadLetters{}}
	all := append([]usage.Option{
		usage.WithFlushInterval(noFlushes),
		usage.WithBackoff(func(int) time.Duration { return 0 }),
		usage.OnDeadLetter(e.dead.add),
	}, opts...)
	e.rec, err = usage.NewRecorder(svc, all...)
	require.NoError(t, err)
	t.Cleanup(func() {
		// Bounded: a test that leaves Flowglad failing leaves events the drain cannot send.
		c, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_ = e.rec.Close(c)
	})
	return e
}

// ctx bounds a test's waits.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// countByTx counts the fake's stored events by transaction id.
func countByTx(fake *flowgladapitest.Server) map[string]int {
	out := map[string]int{}
	for _, e := range fake.UsageEvents() {
		out[e.TransactionID]++
	}
	return out
}

// calls counts the fake's requests by "METHOD /path".
func calls(fake *flowgladapitest.Server) map[string]int {
	out := map[string]int{}
	for _, r := range fake.Requests() {
		out[r.Method+" "+r.Path]++
	}
	return out
}

// balance reads a subscription's balance on the meter through the Service.
func balance(t *testing.T, svc *flowglad.Service, c flowglad.Customer) float64 {
	t.Helper()
	subs, err := svc.CurrentSubscriptions(t.Context(), c)
	require.NoError(t, err)
	require.NotEmpty(t, subs)
	b := subs[0].UsageBalance(meter)
	require.NotNil(t, b)
	return b.AvailableBalance
}
