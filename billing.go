package flowglad

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// BillingCache stores customers' billing bodies between requests. Implementations must be
// safe for concurrent use. Keys are customers' external ids; values are Flowglad's billing
// JSON, byte for byte.
//
// A store shared by several instances (Redis, say) may fail: an error from Get or Set makes
// the read go to Flowglad (and is logged), never fails the caller. An error from Delete is
// returned by InvalidateBilling, and until a later Delete of the key succeeds this process
// reads that customer's billing from Flowglad, never from the cache.
type BillingCache interface {
	// Get returns the body stored for key and true, or false when there is none (or it
	// has expired).
	Get(ctx context.Context, key string) (body []byte, found bool, err error)
	// Set stores body under key for ttl. The cache must not keep a reference to body
	// that it later modifies; body must not be modified by the caller afterwards either.
	Set(ctx context.Context, key string, body []byte, ttl time.Duration) error
	// Delete forgets key. Deleting a key that is not stored is not an error.
	Delete(ctx context.Context, key string) error
}

// billingLoader shares concurrent billing reads for one customer and, with a cache, keeps
// them for a while.
type billingLoader struct {
	// fetch reads the customer's billing from Flowglad (creating the customer if need be).
	fetch  func(ctx context.Context, c Customer) (*flowgladapi.Billing, error)
	cache  BillingCache // nil: no caching
	ttl    time.Duration
	logger *slog.Logger

	mu      sync.Mutex
	flights map[string]*flight
	// dirty holds customers whose cached billing could not be deleted after a change: until
	// a Delete succeeds, their billing is read from Flowglad, never from the cache.
	dirty map[string]bool
}

// flight is one upstream billing read that several requests may be waiting for.
type flight struct {
	done    chan struct{}
	billing *flowgladapi.Billing
	err     error

	// Guarded by billingLoader.mu.
	waiters int
	cancel  context.CancelFunc
	stale   bool // invalidated while running: not cached, not joined by new readers
}

func newBillingLoader(fetch func(context.Context, Customer) (*flowgladapi.Billing, error), cache BillingCache, ttl time.Duration, logger *slog.Logger) *billingLoader {
	return &billingLoader{fetch: fetch, cache: cache, ttl: ttl, logger: logger,
		flights: map[string]*flight{}, dirty: map[string]bool{}}
}

func (l *billingLoader) load(ctx context.Context, c Customer) (*flowgladapi.Billing, error) {
	key := c.ExternalID
	if b := l.cached(ctx, key); b != nil {
		return b, nil
	}

	l.mu.Lock()
	f := l.flights[key]
	if f == nil {
		// The read runs on its own context so that one impatient caller does not fail the
		// others; it is cancelled when every caller has gone.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		l.flights[key] = f
		go l.run(fctx, f, c)
	}
	f.waiters++
	l.mu.Unlock()

	select {
	case <-f.done:
		return f.billing, f.err
	case <-ctx.Done():
		l.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if l.flights[key] == f {
				delete(l.flights, key)
			}
		}
		l.mu.Unlock()
		return nil, ctx.Err()
	}
}

// cached returns the cached billing of key, or nil. A failing cache is a miss.
func (l *billingLoader) cached(ctx context.Context, key string) *flowgladapi.Billing {
	if l.cache == nil || !l.clean(ctx, key) {
		return nil
	}
	body, ok, err := l.cache.Get(ctx, key)
	if err != nil {
		l.warn(ctx, "reading the billing cache failed; reading Flowglad", err)
		return nil
	}
	if !ok {
		return nil
	}
	b, err := flowgladapi.DecodeBilling(body)
	if err != nil {
		_ = l.cache.Delete(ctx, key)
		return nil
	}
	return b
}

// clean reports whether the cache may be used for key: true unless an earlier Delete of key
// failed and retrying it fails again.
func (l *billingLoader) clean(ctx context.Context, key string) bool {
	l.mu.Lock()
	dirty := l.dirty[key]
	l.mu.Unlock()
	if !dirty {
		return true
	}
	if err := l.cache.Delete(ctx, key); err != nil {
		return false
	}
	l.mu.Lock()
	delete(l.dirty, key)
	l.mu.Unlock()
	return true
}

func (l *billingLoader) run(ctx context.Context, f *flight, c Customer) {
	key := c.ExternalID
	b, err := l.fetch(ctx, c)
	// The flight stays joinable while its answer is stored: a read starting meanwhile joins
	// it rather than racing it to the cache with a second Flowglad read.
	if err == nil && l.cache != nil && !l.stale(f, key) {
		if err := l.cache.Set(ctx, key, b.Raw, l.ttl); err != nil {
			l.warn(ctx, "writing the billing cache failed", err)
		}
		// A mutation that landed while storing must not leave the old body behind.
		if l.stale(f, key) {
			_ = l.forget(ctx, key)
		}
	}
	l.mu.Lock()
	if l.flights[key] == f {
		delete(l.flights, key)
	}
	l.mu.Unlock()
	f.cancel()
	f.billing, f.err = b, err
	close(f.done)
}

// stale reports whether the flight's answer must not be cached: the customer changed while
// it ran, or an earlier invalidation has not reached the cache yet.
func (l *billingLoader) stale(f *flight, key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f.stale || l.dirty[key]
}

// invalidate makes the next read for the customer go to Flowglad: a read already running
// still answers the callers waiting for it (they asked before the change), but no later
// caller joins it and its answer is not cached. The error is the cache's: the customer's
// billing is then read from Flowglad until a later Delete succeeds.
func (l *billingLoader) invalidate(ctx context.Context, externalID string) error {
	l.mu.Lock()
	if f := l.flights[externalID]; f != nil {
		f.stale = true
		delete(l.flights, externalID)
	}
	l.mu.Unlock()
	if l.cache == nil {
		return nil
	}
	return l.forget(ctx, externalID)
}

// forget deletes the customer's cached billing, remembering a failure so the cache is not
// read for the customer until a Delete succeeds.
func (l *billingLoader) forget(ctx context.Context, key string) error {
	// A caller's cancellation must not leave a stale entry behind.
	err := l.cache.Delete(context.WithoutCancel(ctx), key)
	l.mu.Lock()
	if err != nil {
		l.dirty[key] = true
	} else {
		delete(l.dirty, key)
	}
	l.mu.Unlock()
	if err != nil {
		l.warn(ctx, "deleting from the billing cache failed; reading Flowglad for this customer until it succeeds", err)
		return fmt.Errorf("actions: forgetting cached billing: %w", err)
	}
	return nil
}

func (l *billingLoader) warn(ctx context.Context, msg string, err error) {
	l.logger.LogAttrs(ctx, slog.LevelWarn, "flowglad: "+msg, slog.String("error", err.Error()))
}

// fetchBilling reads billing, creating the customer when Flowglad does not know it yet: one
// call in the steady state, three on a customer's first visit.
func (s *Service) fetchBilling(ctx context.Context, c Customer) (*flowgladapi.Billing, error) {
	return withCustomer(ctx, s, c, true, func() (*flowgladapi.Billing, error) {
		return s.client.GetBilling(ctx, c.ExternalID)
	})
}

// memoryCache is the in-process BillingCache used when none is configured.
type memoryCache struct {
	now func() time.Time

	mu        sync.Mutex
	entries   map[string]memoryEntry
	lastSweep time.Time
}

type memoryEntry struct {
	body    []byte
	expires time.Time
}

func newMemoryCache(now func() time.Time) *memoryCache {
	if now == nil {
		now = time.Now
	}
	return &memoryCache{now: now, entries: map[string]memoryEntry{}}
}

func (m *memoryCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, false, nil
	}
	if !m.now().Before(e.expires) {
		delete(m.entries, key)
		return nil, false, nil
	}
	return e.body, true, nil
}

func (m *memoryCache) Set(_ context.Context, key string, body []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	// Expired entries are swept at most once per ttl, so the map stays bounded by the
	// customers active within about two ttls without making every write O(n).
	if now.Sub(m.lastSweep) >= ttl {
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
		m.lastSweep = now
	}
	m.entries[key] = memoryEntry{body: body, expires: now.Add(ttl)}
	return nil
}

func (m *memoryCache) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}
