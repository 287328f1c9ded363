package flowglad

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
)

// BillingCache stores customers' billing bodies between requests. Implementations must be
// safe for concurrent use. Keys are customers' external ids; values are Flowglad's billing
// JSON, byte for byte.
//
// A store shared by several instances (Redis, say) may fail: an error from Get or Set makes
// the read go to Flowglad (and is logged), never fails the caller. Each call is given at
// most a second (its context says so); an implementation must return when the context ends,
// and a call that takes longer counts as failed. An error from Delete is
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

// VersionedBillingCache is a BillingCache shared by several processes that can tell which
// version of a customer's entry a lookup saw. When the Config's BillingCache implements it
// (cache/rediscache's Cache does), billing reads use it so that a read that began before an
// invalidation, made by this process or another, never serves requests that arrive after
// it: a request joins a running read only if its own lookup saw the version that read's
// lookup saw, and otherwise starts a read of its own; and a read's answer is stored only if
// the entry is still at the version that read's own lookup saw. A cache that implements
// only BillingCache gets neither (one process cannot learn of another's invalidation from
// it), and a wrapper around a versioned cache should implement both methods to keep them.
type VersionedBillingCache interface {
	BillingCache
	// GetVersion is Get that, on a miss, also returns the entry's version: an opaque,
	// non-empty string that every Delete of key, from any process, changes to one the key
	// has not had before (on a hit it may be empty). An empty version on a miss means
	// unknown: that read is not stored.
	GetVersion(ctx context.Context, key string) (body []byte, version string, found bool, err error)
	// SetIfVersion stores body under key for ttl if the key's version is still version,
	// as a GetVersion miss returned it, and otherwise stores nothing and returns nil. The
	// same rules as Set apply to body.
	SetIfVersion(ctx context.Context, key string, body []byte, ttl time.Duration, version string) error
}

// billingLoader shares concurrent billing reads for one customer and, with a cache, keeps
// them for a while.
type billingLoader struct {
	// fetch reads the customer's billing body from Flowglad (creating the customer if
	// need be).
	fetch  func(ctx context.Context, c Customer) (*flowgladapi.BillingBody, error)
	store  entryStore // nil: no caching
	ttl    time.Duration
	logger *slog.Logger
	now    func() time.Time

	// lastKnown keeps each customer's last billing read for staleFor
	// (Config.StaleIfError); nil when that is off.
	lastKnown lastKnownStore
	staleFor  time.Duration

	// beforeRead, when set, is called before a request reads a customer's billing into
	// its memo (Service.notePendingRead).
	beforeRead func(ctx context.Context, externalID string)

	mu      sync.Mutex
	flights map[string]*flight
	// dirty holds customers whose cached billing could not be deleted after a change: until
	// a Delete succeeds, their billing is read from Flowglad, never from the cache.
	dirty map[string]bool
}

// flight is one upstream billing read that several requests may be waiting for. The caller
// that starts it runs it, on its own goroutine and context: the read ends when that caller
// gives up, and the callers that joined it then start a read of their own.
type flight struct {
	done  chan struct{}
	entry *billingEntry
	err   error
	// abandoned: the read failed because the caller running it gave up. Set before done
	// is closed.
	abandoned bool

	// unstored: the answer is not to be cached (the cache failed the lookup before it).
	unstored bool
	// version is what the cache lookup of the caller that started the read saw
	// (VersionedBillingCache), "" when unknown.
	version string

	// Guarded by billingLoader.mu.
	waiters int  // callers waiting for the answer, the one running it included (for tests)
	stale   bool // invalidated while running: not cached, not joined by new readers
}

func newBillingLoader(fetch func(context.Context, Customer) (*flowgladapi.BillingBody, error), store entryStore, ttl time.Duration, logger *slog.Logger) *billingLoader {
	return &billingLoader{fetch: fetch, store: store, ttl: ttl, logger: logger, now: time.Now,
		flights: map[string]*flight{}, dirty: map[string]bool{}}
}

func (l *billingLoader) load(ctx context.Context, c Customer) (*billingEntry, error) {
	e, _, err := l.loadFrom(ctx, c)
	return e, err
}

// loadFrom is load, and reports whether the entry was kept from before this call (the
// request's memo, the cache) rather than read from Flowglad for it: only such billing may
// predate a change the caller knows of.
func (l *billingLoader) loadFrom(ctx context.Context, c Customer) (e *billingEntry, kept bool, err error) {
	key := c.ExternalID
	// A request that already read this customer's billing (a gate before its handler, a
	// meter after it) reads it once.
	memo := reqmemo.From(ctx)
	if v, ok := memo.Get(key); ok {
		e = v.(*billingEntry)
	} else {
		if memo != nil && l.beforeRead != nil {
			// Within a request: what must know the billing's age is told first.
			l.beforeRead(ctx, key)
		}
		if e, kept, err = l.shared(ctx, c); err != nil {
			return nil, false, err
		}
		memo.Set(key, e)
	}
	if e.stale {
		// Last-known billing served through an outage: the route says how old it is.
		noteStale(ctx, l.now().Sub(e.readAt))
		kept = true
	}
	return e, kept, err
}

// shared returns the customer's billing from the cache (kept), or from a Flowglad read that
// concurrent callers share.
func (l *billingLoader) shared(ctx context.Context, c Customer) (e *billingEntry, kept bool, err error) {
	key := c.ExternalID
	e, missed, version := l.cached(ctx, key)
	if e != nil {
		return e, true, nil
	}

	for {
		if err := ctx.Err(); err != nil {
			return nil, false, err // gone already: start no read, which others would join
		}
		l.mu.Lock()
		f := l.flights[key]
		// A running read whose lookup saw another version of the shared cache's entry
		// than this caller's began before an invalidation (another instance's, say) that
		// this caller's lookup has seen: this caller must not get its answer. It starts a
		// read of its own, which later callers join instead.
		if f == nil || version != "" && f.version != version {
			// This caller runs the read itself: handing it to a goroutine costs a wake-up
			// of another thread per read, and the read must end when its caller gives up.
			// Its answer is stored only if this caller's cache lookup really missed: a
			// shared cache judges a store by the miss that preceded it.
			f = &flight{done: make(chan struct{}), waiters: 1, unstored: !missed, version: version}
			l.flights[key] = f
			l.mu.Unlock()
			l.run(ctx, f, c)
			if f.abandoned {
				return nil, false, ctx.Err()
			}
			return f.entry, false, f.err
		}
		f.waiters++
		l.mu.Unlock()
		select {
		case <-f.done:
			if f.abandoned {
				continue // its caller gave up, not Flowglad: read again
			}
			return f.entry, false, f.err
		case <-ctx.Done():
			l.mu.Lock()
			f.waiters = max(f.waiters-1, 0)
			l.mu.Unlock()
			return nil, false, ctx.Err()
		}
	}
}

// cached returns the cached billing of key, or nil; missed reports that the cache was
// asked and answered that it holds nothing, and version what the miss saw (see
// VersionedBillingCache). A failing cache is not a miss: the read goes to Flowglad, and its
// answer is not stored.
func (l *billingLoader) cached(ctx context.Context, key string) (e *billingEntry, missed bool, version string) {
	if l.store == nil || !l.clean(ctx, key) {
		return nil, false, ""
	}
	var err error
	if vs, ok := l.store.(versionedStore); ok {
		e, version, err = vs.getVersion(ctx, key)
	} else {
		e, err = l.store.get(ctx, key)
	}
	if err != nil {
		l.warn(ctx, "reading the billing cache failed; reading Flowglad", err)
		return nil, false, ""
	}
	return e, e == nil, version
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
	if err := l.store.delete(ctx, key); err != nil {
		return false
	}
	l.mu.Lock()
	delete(l.dirty, key)
	l.mu.Unlock()
	return true
}

// errReadPanicked is what the callers that joined a read get when it panicked (a
// LookupCustomer that panics, say); the caller running it gets the panic itself.
var errReadPanicked = errors.New("flowglad: the billing read panicked")

// run reads the customer's billing for f on the caller's goroutine, stores it, and
// releases f's waiters. A panic releases them too (with errReadPanicked) and frees the key,
// then goes on up to the caller.
func (l *billingLoader) run(ctx context.Context, f *flight, c Customer) {
	key := c.ExternalID
	finished := false
	defer func() {
		if !finished {
			l.finish(f, key, nil, errReadPanicked)
		}
	}()
	var e *billingEntry
	body, err := l.fetch(ctx, c)
	if err == nil {
		e = newBillingEntry(body)
		e.readAt = l.now()
	} else if ctx.Err() != nil {
		f.abandoned = true
	} else if e = l.lastKnownFor(ctx, key, err); e != nil {
		// Flowglad is down: serve what was last read, never caching it as fresh.
		err, f.unstored = nil, true
	}
	// The flight stays joinable while its answer is stored: a read starting meanwhile joins
	// it rather than racing it to the cache with a second Flowglad read.
	if err == nil && l.store != nil && !f.unstored && !l.stale(f, key) {
		// Stored even if the caller has just gone: the body is good for those that joined
		// (a shared store bounds the time it takes).
		if err := l.storeEntry(context.WithoutCancel(ctx), key, e, f.version); err != nil {
			l.warn(ctx, "writing the billing cache failed", err)
		}
		// A mutation that landed while storing must not leave the old body behind.
		if l.stale(f, key) {
			_ = l.forget(ctx, key)
		}
	}
	l.finish(f, key, e, err)
	finished = true
	if err == nil && !e.stale && l.lastKnown != nil {
		// After the waiters are released: they need not wait for this. Not a read that a
		// mutation invalidated while it ran: its body may predate the mutation, and a read
		// that began after it may have kept the newer billing already.
		l.mu.Lock()
		invalidated := f.stale
		l.mu.Unlock()
		if !invalidated {
			l.keepLastKnown(ctx, key, e)
		}
	}
}

// storeEntry stores e for key, at version when the store judges versions.
func (l *billingLoader) storeEntry(ctx context.Context, key string, e *billingEntry, version string) error {
	if vs, ok := l.store.(versionedStore); ok {
		return vs.setVersion(ctx, key, e, l.ttl, version)
	}
	return l.store.set(ctx, key, e, l.ttl)
}

// finish ends f with its answer: no new caller joins it, and those waiting get the answer.
func (l *billingLoader) finish(f *flight, key string, e *billingEntry, err error) {
	l.mu.Lock()
	if l.flights[key] == f {
		delete(l.flights, key)
	}
	f.waiters = 0
	l.mu.Unlock()
	f.entry, f.err = e, err
	close(f.done)
}

// stale reports whether the flight's answer must not be cached: the customer changed while
// it ran, or an earlier invalidation has not reached the cache yet.
func (l *billingLoader) stale(f *flight, key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f.stale || l.dirty[key]
}

// invalidate makes the next read for the customer go to Flowglad (the request's memo
// included): a read already running
// still answers the callers waiting for it (they asked before the change), but no later
// caller joins it and its answer is not cached. The error is the cache's: the customer's
// billing is then read from Flowglad until a later Delete succeeds.
func (l *billingLoader) invalidate(ctx context.Context, externalID string) error {
	reqmemo.From(ctx).Delete(externalID)
	l.mu.Lock()
	if f := l.flights[externalID]; f != nil {
		f.stale = true
		delete(l.flights, externalID)
	}
	l.mu.Unlock()
	if l.store == nil {
		return nil
	}
	return l.forget(ctx, externalID)
}

// forget deletes the customer's cached billing, remembering a failure so the cache is not
// read for the customer until a Delete succeeds.
func (l *billingLoader) forget(ctx context.Context, key string) error {
	// A caller's cancellation must not leave a stale entry behind.
	err := l.store.delete(context.WithoutCancel(ctx), key)
	l.mu.Lock()
	if err != nil {
		l.dirty[key] = true
	} else {
		delete(l.dirty, key)
	}
	l.mu.Unlock()
	if err != nil {
		l.warn(ctx, "deleting from the billing cache failed; reading Flowglad for this customer until it succeeds", err)
		return fmt.Errorf("flowglad: forgetting cached billing: %w", err)
	}
	return nil
}

func (l *billingLoader) warn(ctx context.Context, msg string, err error) {
	l.logger.LogAttrs(ctx, slog.LevelWarn, "flowglad: "+msg, slog.String("error", err.Error()))
}

// fetchBilling reads the billing body, creating the customer when Flowglad does not know it
// yet: one call in the steady state, three on a customer's first visit.
func (s *Service) fetchBilling(ctx context.Context, c Customer) (*flowgladapi.BillingBody, error) {
	return withCustomer(ctx, s, c, true, func() (*flowgladapi.BillingBody, error) {
		return s.client.GetBillingBody(ctx, c.ExternalID)
	})
}

// billingEntry is one billing body as Flowglad sent it, with what has been decoded of it:
// nothing until a reader asks, then once, shared by every reader of this body (the requests
// that joined its read, and the cache hits of an in-process cache). The route's
// customers/billing relays the bytes and decodes nothing.
type billingEntry struct {
	raw  []byte // body.JSON()
	body *flowgladapi.BillingBody
	// readAt is when the body was read from Flowglad; zero when it came from a shared
	// BillingCache, which does not say.
	readAt time.Time
	// stale: last-known billing served because Flowglad could not be read
	// (Config.StaleIfError).
	stale bool

	viewOnce sync.Once
	view     *flowgladapi.Billing
	viewErr  error

	indexOnce sync.Once
	index     *billingIndex
	indexErr  error

	currentOnce sync.Once
	current     []flowgladapi.Subscription
	currentErr  error

	// priceMeters maps "id:"+price id and "slug:"+price slug to the usage meter's id, for
	// pending usage recorded against a price (pending.go); read once when first needed.
	pricesOnce  sync.Once
	priceMeters map[string]string
}

func newBillingEntry(body *flowgladapi.BillingBody) *billingEntry {
	return &billingEntry{raw: body.JSON(), body: body}
}

// typed returns the whole typed view (flowgladapi.DecodeBilling), decoded once.
func (e *billingEntry) typed() (*flowgladapi.Billing, error) {
	e.viewOnce.Do(func() {
		e.view, e.viewErr = flowgladapi.DecodeBilling(e.raw)
		if e.view != nil {
			e.view.ReadAt, e.view.Stale = e.readAt, e.stale
		}
	})
	return e.view, e.viewErr
}

// indexed returns the narrow view the actions check ownership and subscriptions with,
// read once without decoding the rest.
func (e *billingEntry) indexed() (*billingIndex, error) {
	e.indexOnce.Do(func() { e.index, e.indexErr = indexBilling(e.body) })
	return e.index, e.indexErr
}

// currentSubscriptions returns billing's current subscriptions, decoded once (and nothing
// else of the body): what feature and balance checks read.
func (e *billingEntry) currentSubscriptions() ([]flowgladapi.Subscription, error) {
	e.currentOnce.Do(func() {
		e.current, e.currentErr = member[[]flowgladapi.Subscription](e, "currentSubscriptions")
		if e.current == nil && e.currentErr == nil {
			e.current = []flowgladapi.Subscription{}
		}
	})
	return e.current, e.currentErr
}

// entryStore is where the loader keeps billing between requests.
type entryStore interface {
	get(ctx context.Context, key string) (*billingEntry, error) // nil, nil: a miss
	set(ctx context.Context, key string, e *billingEntry, ttl time.Duration) error
	delete(ctx context.Context, key string) error
}

// versionedStore is an entryStore that tells the version a miss saw and stores only at it
// (see VersionedBillingCache). The loader uses these methods when its store has them.
type versionedStore interface {
	// getVersion is get, with the version a miss saw ("" when unknown).
	getVersion(ctx context.Context, key string) (e *billingEntry, version string, err error)
	// setVersion is set at version; a store that cannot judge versions uses set.
	setVersion(ctx context.Context, key string, e *billingEntry, ttl time.Duration, version string) error
}

// defaultCacheTimeout bounds each call to a BillingCache.
const defaultCacheTimeout = time.Second

// sharedStore keeps billing in a BillingCache, as bytes: a hit decodes only what its reader
// reads. Each call is bounded by timeout: a cache that hangs must not hang billing (a store
// runs on the read's goroutine, and the read stays joinable until it is stored).
type sharedStore struct {
	cache   BillingCache
	timeout time.Duration
}

func (s sharedStore) get(ctx context.Context, key string) (*billingEntry, error) {
	e, _, err := s.getVersion(ctx, key)
	return e, err
}

func (s sharedStore) set(ctx context.Context, key string, e *billingEntry, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.cache.Set(ctx, key, e.raw, ttl)
}

func (s sharedStore) getVersion(ctx context.Context, key string) (*billingEntry, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var (
		body    []byte
		version string
		ok      bool
		err     error
	)
	if vc, versioned := s.cache.(VersionedBillingCache); versioned {
		body, version, ok, err = vc.GetVersion(ctx, key)
	} else {
		body, ok, err = s.cache.Get(ctx, key)
	}
	if err != nil || !ok {
		return nil, version, err
	}
	parsed, err := flowgladapi.ParseBillingBody(body)
	if err != nil {
		// Not what we stored: forget it and read Flowglad. The Delete changes the
		// version, so no version is known for this read.
		_ = s.cache.Delete(ctx, key)
		return nil, "", nil
	}
	return newBillingEntry(parsed), "", nil
}

func (s sharedStore) setVersion(ctx context.Context, key string, e *billingEntry, ttl time.Duration, version string) error {
	vc, versioned := s.cache.(VersionedBillingCache)
	if !versioned {
		return s.set(ctx, key, e, ttl)
	}
	if version == "" {
		return nil // the read's lookup saw no version: nothing to judge it by
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return vc.SetIfVersion(ctx, key, e.raw, ttl, version)
}

func (s sharedStore) delete(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.cache.Delete(ctx, key)
}

// DefaultBillingCacheMaxBytes bounds the in-process billing cache when
// Config.BillingCacheMaxBytes is zero.
const DefaultBillingCacheMaxBytes = 32 << 20

// localStore is the in-process cache: decoded entries (so a hit decodes nothing again),
// least recently used first out when their bodies exceed maxBytes in all.
type localStore struct {
	now      func() time.Time
	maxBytes int64

	mu      sync.Mutex
	entries map[string]*list.Element // of *localItem
	lru     list.List                // front: most recently used
	bytes   int64
}

type localItem struct {
	key     string
	entry   *billingEntry
	expires time.Time
}

func newLocalStore(maxBytes int64, now func() time.Time) *localStore {
	if now == nil {
		now = time.Now
	}
	if maxBytes <= 0 {
		maxBytes = DefaultBillingCacheMaxBytes
	}
	return &localStore{now: now, maxBytes: maxBytes, entries: map[string]*list.Element{}}
}

func (m *localStore) get(_ context.Context, key string) (*billingEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return nil, nil
	}
	it := el.Value.(*localItem)
	if !m.now().Before(it.expires) {
		m.removeLocked(el)
		return nil, nil
	}
	m.lru.MoveToFront(el)
	return it.entry, nil
}

func (m *localStore) set(_ context.Context, key string, e *billingEntry, ttl time.Duration) error {
	size := int64(len(e.raw))
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		m.removeLocked(el)
	}
	if size > m.maxBytes {
		return nil // larger than the whole cache: not kept
	}
	m.entries[key] = m.lru.PushFront(&localItem{key: key, entry: e, expires: m.now().Add(ttl)})
	m.bytes += size
	for m.bytes > m.maxBytes {
		m.removeLocked(m.lru.Back())
	}
	return nil
}

func (m *localStore) delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		m.removeLocked(el)
	}
	return nil
}

func (m *localStore) removeLocked(el *list.Element) {
	it := m.lru.Remove(el).(*localItem)
	delete(m.entries, it.key)
	m.bytes -= int64(len(it.entry.raw))
}
