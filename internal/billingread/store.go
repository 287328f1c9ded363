package billingread

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// Cache stores billing bodies between requests, by key (a customer's external id), as
// bytes. It has the method set of flowglad.BillingCache, whose contract it follows, so a
// BillingCache is a Cache.
type Cache interface {
	Get(ctx context.Context, key string) (body []byte, found bool, err error)
	Set(ctx context.Context, key string, body []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// VersionedCache is a Cache that tells which version of an entry a lookup saw, with the
// method set and contract of flowglad.VersionedBillingCache.
type VersionedCache interface {
	Cache
	GetVersion(ctx context.Context, key string) (body []byte, version string, found bool, err error)
	SetIfVersion(ctx context.Context, key string, body []byte, ttl time.Duration, version string) error
}

// Holder is what a Loader keeps and returns: a caller's type that holds an Entry, so the
// caller keeps beside it what it needs in the same allocation. *Entry is one.
type Holder interface {
	// BillingEntry returns the Entry held, set up with Init.
	BillingEntry() *Entry
}

// Store is where a Loader keeps billing between requests: NewLocalStore in process,
// NewSharedStore in a Cache.
type Store[E Holder] interface {
	get(ctx context.Context, key string) (E, bool, error) // false, nil: a miss
	set(ctx context.Context, key string, e E, ttl time.Duration) error
	delete(ctx context.Context, key string) error
}

// versionedStore is a Store that tells the version a miss saw and stores only at it (see
// VersionedCache). The loader uses these methods when its store has them.
type versionedStore[E Holder] interface {
	// getVersion is get, with the version a miss saw ("" when unknown).
	getVersion(ctx context.Context, key string) (e E, found bool, version string, err error)
	// setVersion is set at version; a store that cannot judge versions uses set.
	setVersion(ctx context.Context, key string, e E, ttl time.Duration, version string) error
}

// DefaultCacheTimeout bounds each call to a Cache when NewSharedStore is given none.
const DefaultCacheTimeout = time.Second

// sharedStore keeps billing in a Cache, as bytes: a hit decodes only what its reader reads.
// Each call is bounded by timeout: a cache that hangs must not hang billing (a store runs on
// the read's goroutine, and the read stays joinable until it is stored).
type sharedStore[E Holder] struct {
	cache    Cache
	timeout  time.Duration
	newEntry func(*flowgladapi.BillingBody) E
}

// NewSharedStore returns a Store in cache, each call bounded by timeout
// (DefaultCacheTimeout when not positive), making the entries of what it finds with
// newEntry. When cache is a VersionedCache, the loader uses its versions.
func NewSharedStore[E Holder](cache Cache, timeout time.Duration, newEntry func(*flowgladapi.BillingBody) E) Store[E] {
	if timeout <= 0 {
		timeout = DefaultCacheTimeout
	}
	return sharedStore[E]{cache: cache, timeout: timeout, newEntry: newEntry}
}

func (s sharedStore[E]) get(ctx context.Context, key string) (E, bool, error) {
	e, found, _, err := s.getVersion(ctx, key)
	return e, found, err
}

func (s sharedStore[E]) set(ctx context.Context, key string, e E, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.cache.Set(ctx, key, e.BillingEntry().raw, ttl)
}

func (s sharedStore[E]) getVersion(ctx context.Context, key string) (E, bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var (
		zero    E
		body    []byte
		version string
		ok      bool
		err     error
	)
	if vc, versioned := s.cache.(VersionedCache); versioned {
		body, version, ok, err = vc.GetVersion(ctx, key)
	} else {
		body, ok, err = s.cache.Get(ctx, key)
	}
	if err != nil || !ok {
		return zero, false, version, err
	}
	parsed, err := flowgladapi.ParseBillingBody(body)
	if err != nil {
		// Not what we stored: forget it and read Flowglad. The Delete changes the
		// version, so no version is known for this read.
		_ = s.cache.Delete(ctx, key)
		return zero, false, "", nil
	}
	e := s.newEntry(parsed)
	e.BillingEntry().pending.shared = true
	return e, true, "", nil
}

func (s sharedStore[E]) setVersion(ctx context.Context, key string, e E, ttl time.Duration, version string) error {
	vc, versioned := s.cache.(VersionedCache)
	if !versioned {
		return s.set(ctx, key, e, ttl)
	}
	if version == "" {
		return nil // the read's lookup saw no version: nothing to judge it by
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return vc.SetIfVersion(ctx, key, e.BillingEntry().raw, ttl, version)
}

func (s sharedStore[E]) delete(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.cache.Delete(ctx, key)
}

// DefaultMaxBytes bounds an in-process store when NewLocalStore is given no bound.
const DefaultMaxBytes = 32 << 20

// localStore is the in-process cache: decoded entries (so a hit decodes nothing again),
// least recently used first out when their bodies exceed maxBytes in all.
type localStore[E Holder] struct {
	now      func() time.Time
	maxBytes int64

	mu      sync.Mutex
	entries map[string]*list.Element // of *localItem[E]
	lru     list.List                // front: most recently used
	bytes   int64
}

type localItem[E Holder] struct {
	key     string
	entry   E
	expires time.Time
}

// NewLocalStore returns an in-process Store that keeps at most maxBytes of bodies
// (DefaultMaxBytes when not positive), the least recently used going first, each for its
// ttl on the clock now (time.Now when nil).
func NewLocalStore[E Holder](maxBytes int64, now func() time.Time) Store[E] {
	return newLocalStore[E](maxBytes, now)
}

func newLocalStore[E Holder](maxBytes int64, now func() time.Time) *localStore[E] {
	if now == nil {
		now = time.Now
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &localStore[E]{now: now, maxBytes: maxBytes, entries: map[string]*list.Element{}}
}

func (m *localStore[E]) get(_ context.Context, key string) (E, bool, error) {
	var zero E
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return zero, false, nil
	}
	it := el.Value.(*localItem[E])
	if !m.now().Before(it.expires) {
		m.removeLocked(el)
		return zero, false, nil
	}
	m.lru.MoveToFront(el)
	return it.entry, true, nil
}

func (m *localStore[E]) set(_ context.Context, key string, e E, ttl time.Duration) error {
	size := int64(len(e.BillingEntry().raw))
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		m.removeLocked(el)
	}
	if size > m.maxBytes {
		return nil // larger than the whole cache: not kept
	}
	m.entries[key] = m.lru.PushFront(&localItem[E]{key: key, entry: e, expires: m.now().Add(ttl)})
	m.bytes += size
	for m.bytes > m.maxBytes {
		m.removeLocked(m.lru.Back())
	}
	return nil
}

func (m *localStore[E]) delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		m.removeLocked(el)
	}
	return nil
}

func (m *localStore[E]) removeLocked(el *list.Element) {
	it := m.lru.Remove(el).(*localItem[E])
	delete(m.entries, it.key)
	m.bytes -= int64(len(it.entry.BillingEntry().raw))
}
