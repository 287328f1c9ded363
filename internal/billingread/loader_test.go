package billingread

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/billingstub"
	"github.com/flowglad-go/flowglad/internal/logbuf"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/flowglad-go/flowglad/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Customer stands in for the root package's Customer: what a read needs besides the key.
type Customer struct{ ExternalID, Name, Email string }

// serviceOptions are what the root's Service configures its Loader with.
type serviceOptions struct {
	logger       *slog.Logger
	cacheTTL     time.Duration
	cache        Cache
	cacheTimeout time.Duration
	staleIfError time.Duration
	now          func() time.Time
}

// testService stands in for the root's Service: billing reads through a Loader, as the
// Service configures it.
type testService struct{ billing *Loader[Customer, *Entry] }

func newService(client *flowgladapi.Client, o serviceOptions) *testService {
	var store Store[*Entry]
	switch {
	case o.cacheTTL <= 0:
	case o.cache != nil:
		store = NewSharedStore(o.cache, o.cacheTimeout, NewEntry)
	default:
		store = NewLocalStore[*Entry](0, o.now)
	}
	var lastKnown LastKnownStore[*Entry]
	if o.staleIfError > 0 {
		if sc, ok := o.cache.(LastKnownCache); ok {
			lastKnown = NewSharedLastKnown(sc, o.cacheTimeout, NewEntry)
		} else {
			lastKnown = NewLocalLastKnown[*Entry](0, o.now)
		}
	}
	return &testService{NewLoader(Config[Customer, *Entry]{
		Fetch: func(ctx context.Context, c Customer) (*flowgladapi.BillingBody, error) {
			return client.GetBillingBody(ctx, c.ExternalID)
		},
		New: NewEntry, Store: store, TTL: o.cacheTTL, LastKnown: lastKnown, StaleFor: o.staleIfError,
		Logger: o.logger, Now: o.now,
	})}
}

func (s *testService) billingEntry(ctx context.Context, c Customer) (*Entry, error) {
	e, _, err := s.billing.Load(ctx, c.ExternalID, c)
	return e, err
}

func (s *testService) billingIndex(ctx context.Context, c Customer) (*Index, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	return e.Index()
}

func (s *testService) Billing(ctx context.Context, c Customer) (*flowgladapi.Billing, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	return e.Typed()
}

func (s *testService) InvalidateBilling(ctx context.Context, key string) error {
	return s.billing.Invalidate(ctx, key)
}

// load reads c's billing through l.
func load(ctx context.Context, l *Loader[Customer, *Entry], c Customer) (*Entry, error) {
	e, _, err := l.Load(ctx, c.ExternalID, c)
	return e, err
}

func newBLService(t *testing.T, s *billingstub.Server, opts serviceOptions) *testService {
	t.Helper()
	client, err := flowgladapi.NewClient("sk_test_bl",
		flowgladapi.WithBaseURL(s.URL),
		flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{MaxRetries: 0}))
	require.NoError(t, err)
	return newService(client, opts)
}

var blCustomer = Customer{ExternalID: "u1", Name: "User One", Email: "u1@example.com"}

// waiters returns how many callers wait on the customer's current flight (0 when none).
func waiters(svc *testService, ext string) int { return svc.billing.Waiting(ext) }

// goBilling starts a Billing call and returns where its result will arrive.
func goBilling(ctx context.Context, svc *testService) <-chan billingstub.Result {
	return billingstub.Go(func() (*flowgladapi.Billing, error) { return svc.Billing(ctx, blCustomer) })
}

func TestBillingLoaderSharesConcurrentReads(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, true)
	svc := newBLService(t, s, serviceOptions{})
	results, p := joinOneRead(t, s, svc, 20)
	close(p.Release)
	for _, ch := range results {
		assert.Equal(t, "v1", billingstub.Receive(t, ch).Version(t))
	}
	s.NoArrival(t)
	gets, _ := s.Counts()
	assert.Equal(t, 1, gets)

	// Without a cache the next read, after the shared one finished, asks again.
	next := goBilling(t.Context(), svc)
	close(s.Arrival(t).Release)
	assert.Equal(t, "v1", billingstub.Receive(t, next).Version(t))
}

func TestBillingLoaderSeparateCustomers(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, true)
	svc := newBLService(t, s, serviceOptions{})
	a := goBilling(t.Context(), svc)
	first := s.Arrival(t)
	b := make(chan error, 1)
	go func() {
		_, err := svc.Billing(t.Context(), Customer{ExternalID: "u2", Email: "u2@example.com"})
		b <- err
	}()
	second := s.Arrival(t)
	close(first.Release)
	close(second.Release)
	require.NoError(t, billingstub.Receive(t, a).Err)
	require.NoError(t, <-b)
}

// TestBillingLoaderInvalidationInFlight: a mutation while a read is running leaves that read
// to the callers already waiting (they asked before the change), but later callers start a
// new read, and the old answer is not cached.
func TestBillingLoaderInvalidationInFlight(t *testing.T) {
	t.Parallel()
	for _, ttl := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("ttl=%v", ttl), func(t *testing.T) {
			s := billingstub.New(t, true)
			svc := newBLService(t, s, serviceOptions{cacheTTL: ttl})
			before := goBilling(t.Context(), svc)
			old := s.Arrival(t)
			require.Eventually(t, func() bool { return waiters(svc, "u1") == 1 }, 10*time.Second, time.Millisecond)

			s.Bump() // the mutation happened at Flowglad
			require.NoError(t, svc.InvalidateBilling(t.Context(), "u1"))
			assert.Equal(t, 0, waiters(svc, "u1"), "the running read is no longer joinable")

			after := goBilling(t.Context(), svc)
			fresh := s.Arrival(t)
			assert.Equal(t, 2, fresh.Version)

			// The old read finishes last: it must not overwrite what the new one stored.
			close(fresh.Release)
			assert.Equal(t, "v2", billingstub.Receive(t, after).Version(t))
			close(old.Release)
			assert.Equal(t, "v1", billingstub.Receive(t, before).Version(t), "callers that asked before the change get the read they joined")

			later := goBilling(t.Context(), svc)
			if ttl > 0 {
				assert.Equal(t, "v2", billingstub.Receive(t, later).Version(t), "the cache holds the fresh read, not the stale one")
				s.NoArrival(t)
			} else {
				p := s.Arrival(t)
				close(p.Release)
				assert.Equal(t, "v2", billingstub.Receive(t, later).Version(t))
			}
		})
	}
}

// TestBillingLoaderStaleReadNotCached: a read invalidated while running is not cached, so
// the next read asks Flowglad.
func TestBillingLoaderStaleReadNotCached(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, true)
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour})
	first := goBilling(t.Context(), svc)
	p := s.Arrival(t)
	s.Bump()
	require.NoError(t, svc.InvalidateBilling(t.Context(), "u1"))
	close(p.Release)
	assert.Equal(t, "v1", billingstub.Receive(t, first).Version(t))

	second := goBilling(t.Context(), svc)
	p = s.Arrival(t)
	assert.Equal(t, 2, p.Version, "the stale answer was not cached")
	close(p.Release)
	assert.Equal(t, "v2", billingstub.Receive(t, second).Version(t))

	third := goBilling(t.Context(), svc)
	assert.Equal(t, "v2", billingstub.Receive(t, third).Version(t), "the fresh answer was cached")
	s.NoArrival(t)
}

// TestBillingLoaderCancellation: every caller's context is honoured at once. A caller that
// joined a read and gives up leaves it running for the others; the caller that started it
// giving up ends the read (it runs on that caller's goroutine), and the callers that joined
// it read again rather than fail.
func TestBillingLoaderCancellation(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, true)
	svc := newBLService(t, s, serviceOptions{})
	starterCtx, cancelStarter := context.WithCancel(t.Context())
	joinerCtx, cancelJoiner := context.WithCancel(t.Context())
	defer cancelStarter()
	starter := goBilling(starterCtx, svc)
	p := s.Arrival(t)
	joiner := goBilling(joinerCtx, svc)
	staying := goBilling(t.Context(), svc)
	require.Eventually(t, func() bool { return waiters(svc, "u1") == 3 }, 10*time.Second, time.Millisecond)

	cancelJoiner()
	assert.ErrorIs(t, billingstub.Receive(t, joiner).Err, context.Canceled)
	select {
	case <-p.Canceled:
		t.Fatal("the read was cancelled when a caller that joined it gave up")
	case <-time.After(50 * time.Millisecond):
	}
	assert.Equal(t, 2, waiters(svc, "u1"))

	cancelStarter()
	assert.ErrorIs(t, billingstub.Receive(t, starter).Err, context.Canceled)
	select {
	case <-p.Canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the read was not cancelled when the caller running it gave up")
	}

	again := s.Arrival(t)
	close(again.Release)
	assert.Equal(t, "v1", billingstub.Receive(t, staying).Version(t), "a caller still waiting reads again")
	s.NoArrival(t)
	gets, _ := s.Counts()
	assert.Equal(t, 2, gets)
	assert.Equal(t, 0, waiters(svc, "u1"))
}

// TestBillingLoaderDeadlineHonoured: a caller with a deadline gets its answer by then even
// when others share its read.
func TestBillingLoaderDeadlineHonoured(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, true)
	svc := newBLService(t, s, serviceOptions{})
	// A deadline the test makes pass once both callers wait, not a wall-clock one, which a
	// loaded machine could reach before the second caller joins.
	ctx := &deadlineCtx{Context: t.Context(), done: make(chan struct{})}
	hurried := goBilling(ctx, svc)
	p := s.Arrival(t)
	patient := goBilling(t.Context(), svc)
	require.Eventually(t, func() bool { return waiters(svc, "u1") == 2 }, 10*time.Second, time.Millisecond)
	close(ctx.done)
	assert.ErrorIs(t, billingstub.Receive(t, hurried).Err, context.DeadlineExceeded)
	within(t, p.Canceled, "the hurried caller's read was not cancelled")
	close(s.Arrival(t).Release)
	assert.Equal(t, "v1", billingstub.Receive(t, patient).Version(t))
}

// deadlineCtx is a context whose deadline passes when the test closes done.
type deadlineCtx struct {
	context.Context
	done chan struct{}
}

func (c *deadlineCtx) Done() <-chan struct{} { return c.done }

func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func TestBillingLoaderTTLCache(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, false)
	clock := testclock.New(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Minute, now: clock.Now})
	read := func() string {
		t.Helper()
		b, err := svc.Billing(t.Context(), blCustomer)
		require.NoError(t, err)
		return b.Customer.Name
	}
	gets := func() int {
		g, _ := s.Counts()
		return g
	}

	assert.Equal(t, "v1", read())
	assert.Equal(t, 1, gets())
	s.Bump()
	clock.Advance(59 * time.Second)
	assert.Equal(t, "v1", read(), "cached within the TTL")
	assert.Equal(t, 1, gets())

	clock.Advance(time.Second)
	assert.Equal(t, "v2", read(), "expired at the TTL")
	assert.Equal(t, 2, gets())

	s.Bump()
	require.NoError(t, svc.InvalidateBilling(t.Context(), "u1"))
	assert.Equal(t, "v3", read(), "invalidation forgets the cached body")
	assert.Equal(t, 3, gets())
	assert.Equal(t, "v3", read())
	assert.Equal(t, 3, gets())

	// Another customer has an entry of its own.
	_, err := svc.Billing(t.Context(), Customer{ExternalID: "u2", Email: "u2@example.com"})
	require.NoError(t, err)
	assert.Equal(t, 4, gets())
	assert.Equal(t, "v3", read())
	assert.Equal(t, 4, gets())
}

func TestBillingLoaderErrorsAreNotCached(t *testing.T) {
	t.Parallel()
	var fail sync.Mutex
	failing := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fail.Lock()
		defer fail.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if failing {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error": "boom"}`))
			return
		}
		_, _ = w.Write([]byte(`{"customer": {"id": "cus_1"}}`))
	}))
	t.Cleanup(srv.Close)
	client, err := flowgladapi.NewClient("sk_test_bl", flowgladapi.WithBaseURL(srv.URL), flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{}))
	require.NoError(t, err)
	svc := newService(client, serviceOptions{cacheTTL: time.Hour})

	_, err = svc.Billing(t.Context(), blCustomer)
	assert.ErrorIs(t, err, flowgladapi.ErrServer)
	fail.Lock()
	failing = false
	fail.Unlock()
	b, err := svc.Billing(t.Context(), blCustomer)
	require.NoError(t, err)
	assert.Equal(t, "cus_1", b.Customer.ID)
}

// mapCache is a BillingCache in a map, as a shared store would keep bytes (no expiry).
type mapCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMapCache() *mapCache { return &mapCache{m: map[string][]byte{}} }

func (c *mapCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[key]
	return b, ok, nil
}

func (c *mapCache) Set(_ context.Context, key string, body []byte, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = body
	return nil
}

func (c *mapCache) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

// TestLocalStoreBounded: the in-process cache keeps at most maxBytes of bodies, the least
// recently used going first; expired and oversized entries are not served.
func TestLocalStoreBounded(t *testing.T) {
	t.Parallel()
	clock := testclock.New(time.Unix(0, 0))
	st := newLocalStore[*Entry](100, clock.Now)
	ctx := t.Context()
	body := func(n int) *Entry {
		return entryOf(t, `{"p":"`+strings.Repeat("x", n-8)+`"}`)
	}
	has := func(key string) bool {
		_, found, err := st.get(ctx, key)
		require.NoError(t, err)
		return found
	}
	require.NoError(t, st.set(ctx, "a", body(40), time.Minute))
	require.NoError(t, st.set(ctx, "b", body(40), time.Minute))
	assert.True(t, has("a"), "a is now the most recently used")
	require.NoError(t, st.set(ctx, "c", body(40), time.Minute))
	assert.False(t, has("b"), "b, least recently used, made room")
	assert.True(t, has("a"))
	assert.True(t, has("c"))
	assert.LessOrEqual(t, st.bytes, int64(100))

	require.NoError(t, st.set(ctx, "huge", body(101), time.Minute))
	assert.False(t, has("huge"), "larger than the whole cache: not kept")
	assert.True(t, has("a"), "and nothing evicted for it")

	require.NoError(t, st.set(ctx, "a", body(10), time.Minute))
	assert.Equal(t, int64(50), st.bytes, "replacing an entry counts its new size only")

	clock.Advance(2 * time.Minute)
	assert.False(t, has("a"), "expired")
	require.NoError(t, st.delete(ctx, "c"))
	assert.Zero(t, st.bytes)
	assert.Empty(t, st.entries)
}

// TestLocalStoreManyCustomers: 100,000 customers do not mean 100,000 bodies in memory.
func TestLocalStoreManyCustomers(t *testing.T) {
	t.Parallel()
	st := newLocalStore[*Entry](1<<20, nil)
	e := entryOf(t, `{"p":"`+strings.Repeat("x", 40<<10-8)+`"}`)
	for i := range 100_000 {
		require.NoError(t, st.set(t.Context(), fmt.Sprintf("user_%d", i), e, time.Hour))
	}
	assert.LessOrEqual(t, st.bytes, int64(1<<20))
	assert.Len(t, st.entries, 25)
}

// TestBillingReadsDecodeOnlyWhatIsRead: relaying billing decodes nothing; an ownership check
// reads the narrow index; both are shared by every reader of the same body (a cache hit
// included); only Service.Billing decodes the typed view.
func TestBillingReadsDecodeOnlyWhatIsRead(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, false)
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour})
	e, err := svc.billingEntry(t.Context(), blCustomer)
	require.NoError(t, err)
	assert.Nil(t, e.view, "nothing decoded for a relay")
	assert.Nil(t, e.index)

	x, err := svc.billingIndex(t.Context(), blCustomer)
	require.NoError(t, err)
	assert.Equal(t, "cus_1", x.CustomerID)
	assert.Nil(t, e.view, "an index read decodes no typed view")

	hit, err := svc.billingEntry(t.Context(), blCustomer)
	require.NoError(t, err)
	assert.Same(t, e, hit, "a cache hit is the same entry: nothing decoded again")
	x2, err := svc.billingIndex(t.Context(), blCustomer)
	require.NoError(t, err)
	assert.Same(t, x, x2)

	b, err := svc.Billing(t.Context(), blCustomer)
	require.NoError(t, err)
	assert.Same(t, b, e.view)
	gets, _ := s.Counts()
	assert.Equal(t, 1, gets)
}

// TestBillingCacheCorruptEntry: a cached body that no longer decodes is dropped and billing
// read again.
func TestBillingCacheCorruptEntry(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, false)
	cache := newMapCache()
	require.NoError(t, cache.Set(t.Context(), "u1", []byte(`not json`), time.Hour))
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour, cache: cache})
	b, err := svc.Billing(t.Context(), blCustomer)
	require.NoError(t, err)
	assert.Equal(t, "v1", b.Customer.Name)
	got, ok, err := cache.Get(t.Context(), "u1")
	require.NoError(t, err)
	require.True(t, ok)
	var v map[string]any
	assert.NoError(t, json.Unmarshal(got, &v), "the corrupt entry was replaced")
}

// flakyCache is a BillingCache whose store can be taken down, as a shared cache can be.
type flakyCache struct {
	*mapCache
	mu   sync.Mutex
	down bool
}

var errCacheDown = fmt.Errorf("cache down")

func (c *flakyCache) setDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
}

func (c *flakyCache) isDown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down
}

func (c *flakyCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if c.isDown() {
		return nil, false, errCacheDown
	}
	return c.mapCache.Get(ctx, key)
}

func (c *flakyCache) Set(ctx context.Context, key string, body []byte, ttl time.Duration) error {
	if c.isDown() {
		return errCacheDown
	}
	return c.mapCache.Set(ctx, key, body, ttl)
}

func (c *flakyCache) Delete(ctx context.Context, key string) error {
	if c.isDown() {
		return errCacheDown
	}
	return c.mapCache.Delete(ctx, key)
}

// TestBillingCacheOutage: a failing cache degrades to reading Flowglad, never to an error;
// and a change whose invalidation could not reach the cache is never hidden by the entry the
// cache still holds once it is back.
func TestBillingCacheOutage(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, false)
	cache := &flakyCache{mapCache: newMapCache()}
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour, cache: cache})
	read := func() string {
		t.Helper()
		b, err := svc.Billing(t.Context(), blCustomer)
		require.NoError(t, err)
		return b.Customer.Name
	}
	assert.Equal(t, "v1", read())
	assert.Equal(t, "v1", read(), "cached")
	gets, _ := s.Counts()
	assert.Equal(t, 1, gets)

	cache.setDown(true)
	assert.Equal(t, "v1", read(), "an unreachable cache means reading Flowglad")
	gets, _ = s.Counts()
	assert.Equal(t, 2, gets)

	s.Bump() // a mutation while the cache is down: its delete fails
	assert.ErrorIs(t, svc.InvalidateBilling(t.Context(), "u1"), errCacheDown)

	cache.setDown(false) // back, still holding v1
	assert.Equal(t, "v2", read(), "the entry the failed delete left behind is not served")
	gets, _ = s.Counts()
	assert.Equal(t, 3, gets)
	assert.Equal(t, "v2", read(), "once the delete went through, the cache is used again")
	gets, _ = s.Counts()
	assert.Equal(t, 3, gets)
}

// TestBillingReadPanicReleasesJoiners: when the read panics on the goroutine of the caller
// running it, the panic goes on up to that caller, the callers that joined get an error
// instead of waiting for ever, and the next read starts afresh.
func TestBillingReadPanicReleasesJoiners(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	var reads atomic.Int32
	l := NewLoader(Config[Customer, *Entry]{New: NewEntry, Fetch: func(context.Context, Customer) (*flowgladapi.BillingBody, error) {
		if reads.Add(1) == 1 {
			close(arrived)
			<-release
			panic("boom")
		}
		return flowgladapi.ParseBillingBody([]byte(`{"customer": {"id": "cus_1"}}`))
	}})

	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = load(t.Context(), l, blCustomer)
	}()
	<-arrived
	joined := make(chan error, 1)
	go func() {
		_, err := load(t.Context(), l, blCustomer)
		joined <- err
	}()
	require.Eventually(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.flights["u1"] != nil && l.flights["u1"].waiters == 2
	}, 10*time.Second, time.Millisecond)
	close(release)
	select {
	case v := <-panicked:
		assert.Equal(t, "boom", v)
	case <-time.After(10 * time.Second):
		t.Fatal("the caller running the read did not panic")
	}
	select {
	case err := <-joined:
		assert.ErrorIs(t, err, ErrReadPanicked)
	case <-time.After(10 * time.Second):
		t.Fatal("the caller that joined the read still waits")
	}
	e, err := load(t.Context(), l, blCustomer)
	require.NoError(t, err)
	assert.Equal(t, `{"customer": {"id": "cus_1"}}`, string(e.raw))
}

// hangingCache is a BillingCache whose Set waits until its context ends, as a cache behind
// a network partition might; it records the deadlines it was given.
type hangingCache struct {
	*mapCache
	sets chan time.Duration // time left before the deadline of each Set
}

func (c *hangingCache) Set(ctx context.Context, _ string, _ []byte, _ time.Duration) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Hour)
	}
	c.sets <- time.Until(deadline)
	<-ctx.Done()
	return ctx.Err()
}

// TestHangingCacheDoesNotHangBilling: a store runs on the read's goroutine and the read stays
// joinable until it is stored, so a cache whose Set hangs would hang the reader, and every
// later reader of the customer with it. Each call to the cache is bounded instead; the
// failed store is logged and the answer served.
func TestHangingCacheDoesNotHangBilling(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, false)
	cache := &hangingCache{mapCache: newMapCache(), sets: make(chan time.Duration, 10)}
	logs := &logbuf.Buffer{}
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour, cache: cache, cacheTimeout: 50 * time.Millisecond,
		logger: slog.New(slog.NewTextHandler(logs, nil))})
	for range 2 {
		done := make(chan error, 1)
		go func() {
			_, err := svc.Billing(context.Background(), blCustomer) // no deadline of its own
			done <- err
		}()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Billing hangs with the cache")
		}
		select {
		case left := <-cache.sets:
			assert.LessOrEqual(t, left, 50*time.Millisecond, "the Set was bounded")
		case <-time.After(10 * time.Second):
			t.Fatal("no Set reached the cache")
		}
	}
	assert.Contains(t, logs.String(), "writing the billing cache failed")
}

// TestFailedCacheLookupIsNotStored: a shared cache judges a store by the miss before it (see
// cache/rediscache), so a read whose cache lookup failed, rather than missed, is served but
// not stored.
func TestFailedCacheLookupIsNotStored(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, false)
	cache := &flakyCache{mapCache: newMapCache()}
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour, cache: &getFails{cache}})
	_, err := svc.Billing(t.Context(), blCustomer)
	require.NoError(t, err)
	_, found, _ := cache.Get(t.Context(), "u1")
	assert.False(t, found, "not stored after a failed lookup")
}

// getFails is a BillingCache whose Get fails while Set and Delete work.
type getFails struct{ *flakyCache }

func (c *getFails) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errCacheDown
}

// entryOf is the billing entry of the body raw, which must be one JSON object.
func entryOf(t testing.TB, raw string) *Entry {
	t.Helper()
	body, err := flowgladapi.ParseBillingBody([]byte(raw))
	require.NoError(t, err)
	return NewEntry(body)
}

// TestBillingCallerAlreadyGone: a caller whose context has ended starts no read (one that
// others could join only to see it abandoned).
func TestBillingCallerAlreadyGone(t *testing.T) {
	t.Parallel()
	var reads atomic.Int32
	l := NewLoader(Config[Customer, *Entry]{New: NewEntry, Fetch: func(context.Context, Customer) (*flowgladapi.BillingBody, error) {
		reads.Add(1)
		return flowgladapi.ParseBillingBody([]byte(`{}`))
	}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := load(ctx, l, blCustomer)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, reads.Load())
}

// within waits for ch to close, failing with msg after 10 seconds.
func within(t *testing.T, ch <-chan struct{}, msg string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
	}
}

// joinOneRead starts n Billing calls at once and waits until they all wait for the one read
// that reached the (gated) stub, which it returns unreleased.
func joinOneRead(t *testing.T, s *billingstub.Server, svc *testService, n int) ([]<-chan billingstub.Result, *billingstub.Pending) {
	t.Helper()
	results := make([]<-chan billingstub.Result, n)
	for i := range results {
		results[i] = goBilling(t.Context(), svc)
	}
	p := s.Arrival(t)
	require.Eventually(t, func() bool { return waiters(svc, "u1") == n }, 10*time.Second, time.Millisecond,
		"every caller joins the one read")
	return results, p
}

// versionedCache is a VersionedBillingCache in a map, shared as by several instances: every
// Delete moves the key's generation forward, and SetIfVersion stores only at the generation
// given.
type versionedCache struct {
	*mapCache
	mu  sync.Mutex
	gen map[string]int
}

func newVersionedCache() *versionedCache {
	return &versionedCache{mapCache: newMapCache(), gen: map[string]int{}}
}

func (c *versionedCache) GetVersion(ctx context.Context, key string) ([]byte, string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok, err := c.mapCache.Get(ctx, key)
	return b, fmt.Sprint("g", c.gen[key]), ok, err
}

func (c *versionedCache) SetIfVersion(ctx context.Context, key string, body []byte, ttl time.Duration, version string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != fmt.Sprint("g", c.gen[key]) {
		return nil
	}
	return c.mapCache.Set(ctx, key, body, ttl)
}

func (c *versionedCache) Delete(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[key]++
	return c.mapCache.Delete(ctx, key)
}

// TestBillingLoaderVersionedCache: with a VersionedBillingCache, a caller whose lookup saw
// another version than a running read's (another instance invalidated the customer after
// that read began) does not join it: it starts a read of its own, which later callers of
// its version join. Each read is stored only at its own version, so the older read's answer
// is not stored.
func TestBillingLoaderVersionedCache(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, true)
	cache := newVersionedCache()
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour, cache: cache})

	before := goBilling(t.Context(), svc)
	old := s.Arrival(t)

	// Another instance changes the customer and invalidates the shared cache.
	s.Bump()
	require.NoError(t, cache.Delete(t.Context(), "u1"))

	after, p := joinOneRead(t, s, svc, 3)
	require.Equal(t, 1, old.Version, "the old read began before the change")
	require.Equal(t, 2, p.Version, "the new callers' read began after it")
	close(p.Release)
	for _, ch := range after {
		assert.Equal(t, "v2", billingstub.Receive(t, ch).Version(t), "a caller that came after the change")
	}
	close(old.Release)
	assert.Equal(t, "v1", billingstub.Receive(t, before).Version(t), "the caller that came before it")
	s.NoArrival(t)

	body, found, err := cache.Get(t.Context(), "u1")
	require.NoError(t, err)
	require.True(t, found)
	assert.Contains(t, string(body), `"v2"`, "the older read's answer was not stored over the newer")
	b, err := svc.Billing(t.Context(), blCustomer)
	require.NoError(t, err)
	assert.Equal(t, "v2", b.Customer.Name, "a hit")
	gets, _ := s.Counts()
	assert.Equal(t, 2, gets)
}

// TestBillingLoaderVersionedCacheSharesReads: callers whose lookups saw the same version
// share one read, as without versions.
func TestBillingLoaderVersionedCacheSharesReads(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, true)
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour, cache: newVersionedCache()})
	results, p := joinOneRead(t, s, svc, 10)
	close(p.Release)
	for _, ch := range results {
		assert.Equal(t, "v1", billingstub.Receive(t, ch).Version(t))
	}
	s.NoArrival(t)
	gets, _ := s.Counts()
	assert.Equal(t, 1, gets)
}

// TestLoaderKnown: within a request (a context with a memo), billing read once is what
// Known returns, and what later loads of the request get without asking Flowglad; without
// a memo nothing is known.
func TestLoaderKnown(t *testing.T) {
	t.Parallel()
	var reads atomic.Int32
	l := NewLoader(Config[Customer, *Entry]{New: NewEntry,
		Fetch: func(context.Context, Customer) (*flowgladapi.BillingBody, error) {
			reads.Add(1)
			return flowgladapi.ParseBillingBody([]byte(`{}`))
		}})
	_, found := l.Known(reqmemo.With(t.Context()), "u1")
	assert.False(t, found, "nothing read yet")
	_, err := load(t.Context(), l, blCustomer)
	require.NoError(t, err)
	_, found = l.Known(t.Context(), "u1")
	assert.False(t, found, "no request memo")

	req := reqmemo.With(t.Context())
	e, err := load(req, l, blCustomer)
	require.NoError(t, err)
	known, found := l.Known(req, "u1")
	require.True(t, found)
	assert.Same(t, e, known)
	again, err := load(req, l, blCustomer)
	require.NoError(t, err)
	assert.Same(t, e, again, "from earlier in the request")
	assert.Equal(t, int32(2), reads.Load())

	require.NoError(t, l.Invalidate(req, "u1"))
	_, found = l.Known(req, "u1")
	assert.False(t, found, "an invalidation forgets the request's billing too")
}

// unversionedMiss is a VersionedCache whose misses do not know the entry's version.
type unversionedMiss struct{ *versionedCache }

func (c unversionedMiss) GetVersion(ctx context.Context, key string) ([]byte, string, bool, error) {
	b, _, ok, err := c.versionedCache.GetVersion(ctx, key)
	return b, "", ok, err
}

func (c unversionedMiss) SetIfVersion(ctx context.Context, key string, body []byte, ttl time.Duration, _ string) error {
	return c.mapCache.Set(ctx, key, body, ttl)
}

// TestVersionedCacheUnknownVersionNotStored: a read whose miss saw no version has nothing to
// judge a store by, so it is not stored.
func TestVersionedCacheUnknownVersionNotStored(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, false)
	cache := unversionedMiss{newVersionedCache()}
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour, cache: cache})
	_, err := svc.Billing(t.Context(), blCustomer)
	require.NoError(t, err)
	_, found, err := cache.Get(t.Context(), "u1")
	require.NoError(t, err)
	assert.False(t, found)
}
