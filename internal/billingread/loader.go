// Package billingread reads customers' billing bodies for the root package: shared by
// concurrent readers, kept for a request (internal/reqmemo), cached between requests (in
// process or in a shared Cache), kept as last known to bridge an outage, and read lazily
// (the narrow Index, the current subscriptions, single members, the typed view).
//
// It knows keys (customers' external ids) and Flowglad's billing body, and nothing of the
// actions that read it: what a read is for, who may see it and how an answer is shaped
// are the root package's. It imports flowgladapi and internal packages only, never the
// root package (the import test says so).
package billingread

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
)

// Config configures a Loader. A is what Fetch needs besides the key (the root package's
// Customer), E what the Loader keeps (see Holder).
type Config[A any, E Holder] struct {
	// Fetch reads the billing body of arg from Flowglad. It runs on the goroutine of the
	// caller that starts a read, on that caller's context.
	Fetch func(ctx context.Context, arg A) (*flowgladapi.BillingBody, error)
	// New makes the entry of a body.
	New func(*flowgladapi.BillingBody) E
	// Store keeps billing between requests for TTL; nil keeps nothing.
	Store Store[E]
	TTL   time.Duration
	// LastKnown keeps each key's last read for StaleFor, served (marked stale) when a read
	// fails for Flowglad's reasons (IsOutage); nil keeps none.
	LastKnown LastKnownStore[E]
	StaleFor  time.Duration
	// BeforeRead, when set, is called before a request reads a key's billing into its memo
	// (only within a request that carries one).
	//
	// It returns the version of what is pending for the key: a value that changes whenever
	// some of the key's pending usage reaches Flowglad; tracked false when nothing pending
	// is tracked, known false when the version could not be read. A request's read under a
	// tracked version is then neither shared with a read that began under another version
	// (or an unknown one, or none), nor answered from a cached entry read under another:
	// billing read before usage reached Flowglad, serving a request that began after,
	// would count that usage nowhere (no longer pending, not in the billing).
	BeforeRead func(ctx context.Context, key string) (version uint64, tracked, known bool)
	// Logger gets the warnings of failing stores; nil discards them.
	Logger *slog.Logger
	// Now is the clock of ages; nil is time.Now.
	Now func() time.Time
}

// Loader shares concurrent billing reads for one key and, with a Store, keeps them for a
// while. It is safe for concurrent use.
type Loader[A any, E Holder] struct {
	fetch      func(ctx context.Context, arg A) (*flowgladapi.BillingBody, error)
	newEntry   func(*flowgladapi.BillingBody) E
	store      Store[E] // nil: no caching
	ttl        time.Duration
	logger     *slog.Logger
	now        func() time.Time
	lastKnown  LastKnownStore[E]
	staleFor   time.Duration
	beforeRead func(ctx context.Context, key string) (version uint64, tracked, known bool)

	mu      sync.Mutex
	flights map[string]*flight[E]
	// refreshing holds the running Refresh of each key: only their stale mark is used.
	refreshing map[string]*flight[E]
	// dirty holds keys whose cached billing could not be deleted after a change: until a
	// Delete succeeds, their billing is read from Flowglad, never from the cache.
	dirty map[string]bool
}

// NewLoader returns a Loader configured by cfg.
func NewLoader[A any, E Holder](cfg Config[A, E]) *Loader[A, E] {
	l := &Loader[A, E]{fetch: cfg.Fetch, newEntry: cfg.New, store: cfg.Store, ttl: cfg.TTL,
		logger: cfg.Logger, now: cfg.Now, lastKnown: cfg.LastKnown, staleFor: cfg.StaleFor,
		beforeRead: cfg.BeforeRead, flights: map[string]*flight[E]{}, refreshing: map[string]*flight[E]{},
		dirty: map[string]bool{}}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.lastKnown == nil {
		l.staleFor = 0
	}
	return l
}

// flight is one upstream billing read that several requests may be waiting for. The caller
// that starts it runs it, on its own goroutine and context: the read ends when that caller
// gives up, and the callers that joined it then start a read of their own.
type flight[E Holder] struct {
	done  chan struct{}
	entry E
	err   error
	// abandoned: the read failed because the caller running it gave up. Set before done
	// is closed.
	abandoned bool

	// unstored: the answer is not to be cached (the cache failed the lookup before it).
	unstored bool
	// version is what the cache lookup of the caller that started the read saw
	// (VersionedCache), "" when unknown.
	version string
	// pending is the version of the pending usage the caller that started the read saw
	// before it (Config.BeforeRead).
	pending pendingVersion

	// started is when the read began: its answer is not stored over an entry of the
	// in-process store read after that (a Refresh's).
	started time.Time
	// committing: a Refresh's flight that has called its commit (guarded by Loader.mu);
	// done is closed when the Refresh returns.
	committing bool

	// Guarded by Loader.mu.
	waiters int  // callers waiting for the answer, the one running it included (for tests)
	stale   bool // invalidated or displaced while running: not cached, not joined by new readers
}

// Load returns key's billing, reading it with arg when it must be read: from the request's
// memo, the store, a read running for another caller, or Flowglad. kept reports that the
// entry was kept from before this call (the request's memo, the store, last-known billing)
// rather than read from Flowglad for it: only such billing may predate a change the caller
// knows of.
func (l *Loader[A, E]) Load(ctx context.Context, key string, arg A) (e E, kept bool, err error) {
	// A request that already read this key's billing (a gate before its handler, a meter
	// after it) reads it once.
	memo := reqmemo.From(ctx)
	if v, ok := memo.Get(key); ok {
		e, kept = v.(E), true // read earlier in the request, maybe before a change
	} else {
		var pv pendingVersion
		if memo != nil && l.beforeRead != nil {
			// Within a request: what must know the billing's age is told first.
			pv.v, pv.asked, pv.known = l.beforeRead(ctx, key)
		}
		if e, kept, err = l.shared(ctx, key, arg, pv); err != nil {
			var zero E
			return zero, false, err
		}
		memo.Set(key, e)
	}
	if e.BillingEntry().stale {
		kept = true
	}
	return e, kept, nil
}

// Known returns key's billing when the request ctx belongs to has read it already, and
// found false otherwise: it never reads Flowglad, nor the store.
func (l *Loader[A, E]) Known(ctx context.Context, key string) (e E, found bool) {
	v, ok := reqmemo.From(ctx).Get(key)
	if !ok {
		return e, false
	}
	return v.(E), true
}

// KeepsReads reports whether l keeps what it reads beyond the callers it hands a read to
// (a Store, last-known billing). When it does not, a read's body may go into a pooled
// buffer, which goes back once those callers are done with it (Entry.Share): the one
// condition both the callers that ask for such reads and finish, which shares them, go by.
func (l *Loader[A, E]) KeepsReads() bool { return l.store != nil || l.lastKnown != nil }

// Age returns how long ago e was read from Flowglad, on the Loader's clock.
func (l *Loader[A, E]) Age(e E) time.Duration { return l.now().Sub(e.BillingEntry().readAt) }

// Waiting returns how many callers wait on key's running read, the one running it included
// (0 when none): for tests that must know every caller has joined.
func (l *Loader[A, E]) Waiting(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.flights[key]; f != nil {
		return f.waiters
	}
	return 0
}

// shared returns key's billing from the store (kept), or from a Flowglad read that
// concurrent callers share.
func (l *Loader[A, E]) shared(ctx context.Context, key string, arg A, pv pendingVersion) (e E, kept bool, err error) {
	var zero E
	e, found, missed, version := l.cached(ctx, key)
	if found && pv.asked && !pv.same(e.BillingEntry().pending) && e.BillingEntry().pending.known {
		// Read (or refreshed, see Refresh) under another version: maybe a newer one,
		// which this caller's version predates by the moment between its question and its
		// lookup. Asking once more costs less than a read from Flowglad.
		pv.v, pv.asked, pv.known = l.beforeRead(ctx, key)
		if r := l.committingRefresh(key); r != nil && !pv.same(e.BillingEntry().pending) {
			// A Refresh between its commit and storing its read under the version after
			// it, which this caller may have just seen: that is a moment away, a read
			// from Flowglad a round trip.
			select {
			case <-r.done:
			case <-ctx.Done():
				return zero, false, ctx.Err()
			}
			e, found, missed, version = l.cached(ctx, key)
			if found && !pv.same(e.BillingEntry().pending) && e.BillingEntry().pending.known {
				pv.v, pv.asked, pv.known = l.beforeRead(ctx, key)
			}
		}
	}
	if found && pv.asked && !pv.same(e.BillingEntry().pending) {
		// Read under another version of the pending usage (or an unknown one): usage may
		// have reached Flowglad since, which this entry would count nowhere. Read again;
		// the answer replaces the entry.
		found, missed = false, true
	}
	if found {
		return e, true, nil
	}

	for {
		if err := ctx.Err(); err != nil {
			return zero, false, err // gone already: start no read, which others would join
		}
		l.mu.Lock()
		f := l.flights[key]
		// A running read whose lookup saw another version of the shared cache's entry
		// than this caller's began before an invalidation (another instance's, say) that
		// this caller's lookup has seen: this caller must not get its answer. It starts a
		// read of its own, which later callers join instead.
		if f == nil || version != "" && f.version != version || pv.asked && !pv.same(f.pending) {
			// This caller runs the read itself: handing it to a goroutine costs a wake-up
			// of another thread per read, and the read must end when its caller gives up.
			// Its answer is stored only if this caller's cache lookup really missed: a
			// shared cache judges a store by the miss that preceded it.
			f = &flight[E]{done: make(chan struct{}), waiters: 1, unstored: !missed, version: version, pending: pv,
				started: l.now()}
			if old := l.flights[key]; old != nil {
				// Displaced, still running: Invalidate no longer finds it, so it could
				// store billing read before a later change. Its callers get its answer;
				// the cache gets this caller's.
				old.stale = true
			}
			l.flights[key] = f
			l.mu.Unlock()
			l.run(ctx, f, key, arg)
			if f.abandoned {
				return zero, false, ctx.Err()
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
			return zero, false, ctx.Err()
		}
	}
}

// cached returns the cached billing of key (found), or not; missed reports that the store
// was asked and answered that it holds nothing, and version what the miss saw (see
// VersionedCache). A failing store is not a miss: the read goes to Flowglad, and its
// answer is not stored.
func (l *Loader[A, E]) cached(ctx context.Context, key string) (e E, found, missed bool, version string) {
	if l.store == nil || !l.clean(ctx, key) {
		return e, false, false, ""
	}
	var err error
	if vs, ok := l.store.(versionedStore[E]); ok {
		e, found, version, err = vs.getVersion(ctx, key)
	} else {
		e, found, err = l.store.get(ctx, key)
	}
	if err != nil {
		l.warn(ctx, "reading the billing cache failed; reading Flowglad", err)
		var zero E
		return zero, false, false, ""
	}
	return e, found, !found, version
}

// clean reports whether the store may be used for key: true unless an earlier Delete of
// key failed and retrying it fails again.
func (l *Loader[A, E]) clean(ctx context.Context, key string) bool {
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

// ErrReadPanicked is what the callers that joined a read get when it panicked (a Fetch
// that panics, say); the caller running it gets the panic itself.
var ErrReadPanicked = errors.New("flowglad: the billing read panicked")

// run reads key's billing for f on the caller's goroutine, stores it, and releases f's
// waiters. A panic releases them too (with ErrReadPanicked) and frees the key, then goes
// on up to the caller.
func (l *Loader[A, E]) run(ctx context.Context, f *flight[E], key string, arg A) {
	var zero E
	finished := false
	defer func() {
		if !finished {
			l.finish(f, key, zero, ErrReadPanicked)
		}
	}()
	var e E
	body, err := l.fetch(ctx, arg)
	if err == nil {
		e = l.newEntry(body)
		e.BillingEntry().readAt = l.now()
		e.BillingEntry().pending = f.pending
	} else if ctx.Err() != nil {
		f.abandoned = true
	} else if known, ok := l.lastKnownFor(ctx, key, err); ok {
		// Flowglad is down: serve what was last read, never caching it as fresh.
		e, err, f.unstored = known, nil, true
	}
	// The flight stays joinable while its answer is stored: a read starting meanwhile joins
	// it rather than racing it to the cache with a second Flowglad read.
	if err == nil && l.store != nil && !f.unstored && !l.stale(f, key) && !l.newerStored(ctx, key, f.started) {
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
	if err == nil && !e.BillingEntry().stale && l.lastKnown != nil {
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

// Refresh replaces key's billing in the in-process store with a new read from Flowglad,
// for a caller some of whose pending usage of key has just reached Flowglad: the stored
// billing, less the pending usage (which still holds that usage), keeps answering requests
// while Flowglad is read, so that no request waits for the read.
//
// begin is called once nothing else reads key, just before the read: the caller notes there
// what commit compares with (false: no refresh, commit not called).
//
// Once the read is in, Refresh stores it where no request under a tracked version of the
// pending usage takes it (it may count the landed usage twice, never zero times), then
// calls commit, which takes the landed usage out of the pending usage and returns the
// version of the pending usage after that, ok only if nothing else of key's pending usage
// reached Flowglad since the caller began (so the read cannot predate it). Refresh then
// stores the read under that version, where requests take it; otherwise, or when key was
// invalidated meanwhile, it forgets key's billing, as Invalidate does.
//
// A read of key running (a request's, or another Refresh's) is waited for first.
//
// refreshed false, commit not called: there was nothing to refresh (no in-process store,
// no entry requests take, ctx ended while waiting for a running read, or the store not to
// be trusted for key), or the read failed (err). The caller then does what it does without a
// Refresh: Invalidate, then take the usage out of the pending usage.
func (l *Loader[A, E]) Refresh(ctx context.Context, key string, arg A, begin func(context.Context) bool, commit func(context.Context) (version uint64, ok bool)) (refreshed bool, err error) {
	store, local := l.store.(*localStore[E])
	if !local {
		return false, nil
	}
	f := &flight[E]{done: make(chan struct{})}
	for {
		l.mu.Lock()
		if l.dirty[key] {
			l.mu.Unlock()
			return false, nil
		}
		// Another read of the key running (a request's, or the Refresh of an earlier
		// landing): this one follows it. Until it commits, the usage that landed stays
		// pending, so the billing kept meanwhile counts it.
		running := l.flights[key]
		if running == nil {
			running = l.refreshing[key]
		}
		if running == nil {
			l.refreshing[key] = f
			l.mu.Unlock()
			break
		}
		l.mu.Unlock()
		select {
		case <-running.done:
		case <-ctx.Done():
			return false, nil
		}
	}
	defer func() {
		l.mu.Lock()
		if l.refreshing[key] == f {
			delete(l.refreshing, key)
		}
		l.mu.Unlock()
		close(f.done)
	}()
	old, found, _ := store.get(ctx, key)
	if !found || !old.BillingEntry().pending.known {
		return false, nil // nothing that requests take: the next one reads anyway
	}
	if !begin(ctx) {
		return false, nil
	}
	body, err := l.fetch(ctx, arg)
	if err != nil {
		return false, err
	}
	readAt := l.now()
	entry := func(pv pendingVersion) E {
		e := l.newEntry(body)
		e.BillingEntry().readAt, e.BillingEntry().pending = readAt, pv
		return e
	}
	// A request's read that began after Refresh did postdates the landed usage: its answer
	// is right for every reader, but is not stored over this newer read (run).
	if !l.stale(f, key) {
		// Right under the old entry's version too: the landed usage is still pending.
		_ = store.set(ctx, key, entry(old.BillingEntry().pending), l.ttl)
	}
	l.mu.Lock()
	f.committing = true
	l.mu.Unlock()
	version, ok := commit(ctx)
	if ok && !l.stale(f, key) {
		e := entry(pendingVersion{v: version, known: true, asked: true})
		_ = store.set(ctx, key, e, l.ttl)
		if !l.stale(f, key) {
			l.keepLastKnown(ctx, key, e)
			return true, nil
		}
	}
	_ = l.forget(ctx, key)
	return true, nil
}

// committingRefresh returns key's Refresh if it is past its read, committing and storing.
func (l *Loader[A, E]) committingRefresh(key string) *flight[E] {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.refreshing[key]; r != nil && r.committing {
		return r
	}
	return nil
}

// newerStored reports whether the in-process store holds an entry of key read after t.
func (l *Loader[A, E]) newerStored(ctx context.Context, key string, t time.Time) bool {
	store, local := l.store.(*localStore[E])
	if !local {
		return false
	}
	e, found, _ := store.get(ctx, key)
	return found && e.BillingEntry().readAt.After(t)
}

// storeEntry stores e for key, at version when the store judges versions.
func (l *Loader[A, E]) storeEntry(ctx context.Context, key string, e E, version string) error {
	if vs, ok := l.store.(versionedStore[E]); ok {
		return vs.setVersion(ctx, key, e, l.ttl, version)
	}
	return l.store.set(ctx, key, e, l.ttl)
}

// finish ends f with its answer: no new caller joins it, and those waiting get the answer.
func (l *Loader[A, E]) finish(f *flight[E], key string, e E, err error) {
	l.mu.Lock()
	if l.flights[key] == f {
		delete(l.flights, key)
	}
	holders := f.waiters // no caller joins f any more: these are all it is handed to
	f.waiters = 0
	l.mu.Unlock()
	if err == nil && !l.KeepsReads() {
		// Nothing but its callers keeps the answer: a pooled body goes back to its pool
		// once they are all done with it (a no-op for a body that is not pooled). Before
		// done is closed, so before any of them has it.
		e.BillingEntry().Share(holders)
	}
	f.entry, f.err = e, err
	close(f.done)
}

// stale reports whether the flight's answer must not be cached: the key changed while it
// ran, or an earlier invalidation has not reached the store yet.
func (l *Loader[A, E]) stale(f *flight[E], key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f.stale || l.dirty[key]
}

// Invalidate makes the next read of key go to Flowglad (the request's memo included): a
// read already running still answers the callers waiting for it (they asked before the
// change), but no later caller joins it and its answer is not stored. The error is the
// store's: key's billing is then read from Flowglad until a later Delete succeeds.
func (l *Loader[A, E]) Invalidate(ctx context.Context, key string) error {
	reqmemo.From(ctx).Delete(key)
	l.mu.Lock()
	if f := l.flights[key]; f != nil {
		f.stale = true
		delete(l.flights, key)
	}
	if f := l.refreshing[key]; f != nil {
		f.stale = true
	}
	l.mu.Unlock()
	if l.store == nil {
		return nil
	}
	return l.forget(ctx, key)
}

// forget deletes key's stored billing, remembering a failure so the store is not read for
// key until a Delete succeeds.
func (l *Loader[A, E]) forget(ctx context.Context, key string) error {
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

func (l *Loader[A, E]) warn(ctx context.Context, msg string, err error) {
	l.logger.LogAttrs(ctx, slog.LevelWarn, "flowglad: "+msg, slog.String("error", err.Error()))
}

// pendingVersion is what Config.BeforeRead said before a read: asked when pending usage is
// tracked and it was asked (a request's read), known when it knew a version, v that version.
// shared marks an entry of a shared cache, which carries no version.
type pendingVersion struct {
	v                    uint64
	known, asked, shared bool
}

// same reports whether billing read under o may answer a request that saw p: both read
// under the same known version, or o is a shared cache's entry. Billing read outside a
// request (o not asked) or under an unknown version may predate usage that has reached
// Flowglad since. A shared cache needs no version: the instance whose usage reaches
// Flowglad forgets the customer's billing there before the usage leaves the pending usage
// (and a read that began before that cannot store its answer: VersionedCache).
func (p pendingVersion) same(o pendingVersion) bool {
	return o.shared || p.known && o.known && p.v == o.v
}
