package flowglad

import (
	"context"
	"sync"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/billingread"
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

// billingReads are the Service's billing reads: internal/billingread's Loader, fed with the
// Customer to create on a first visit, keeping billingEntry values.
type billingReads struct {
	loader *billingread.Loader[billingArg, *billingEntry]
	// lastKnown keeps last-known billing (Config.StaleIfError), nil when that is off: the
	// route then notes the age of what it serves (handler.go).
	lastKnown billingread.LastKnownStore[*billingEntry]
}

// billingArg is what a billing read needs besides the key: the customer to create on a
// first visit, and the Indexer that reads the narrow index in the same pass, for a caller
// that will read it (nil otherwise: a relay or a feature check need not pay for it).
type billingArg struct {
	c  Customer
	ix *billingread.Indexer
	// pooled reads the body into a pooled buffer (flowgladapi's GetBillingBodyPooled): no
	// cache, no last-known billing and no request memo keeps it (see loadReleased).
	pooled bool
}

// indexers recycles the Indexers of billingIndexFrom's reads: most find billing kept (the
// memo, the cache) and use theirs for nothing.
var indexers = sync.Pool{New: func() any { return new(billingread.Indexer) }}

// load returns the customer's billing (see billingread.Loader.Load for kept), noting on a
// route request's staleNote the age of last-known billing served through an outage. With
// indexed, a read from Flowglad reads the narrow index in the pass that checks the body.
func (b *billingReads) load(ctx context.Context, c Customer, indexed bool) (e *billingEntry, kept bool, err error) {
	return b.loadFor(ctx, c, indexed, false)
}

// loadReleased is load for a caller that calls the entry's Done (billingread.Entry.Done)
// once neither it nor anything it returns reads the entry any more: the customers/billing
// route once it has answered, an ownership check once it has the subscription's status.
// When nothing else keeps what the loader reads (no cache, no last-known billing, no
// request memo), the body is read into a pooled buffer, given back once every caller the
// read was handed to is done with it.
func (b *billingReads) loadReleased(ctx context.Context, c Customer, indexed bool) (*billingEntry, error) {
	pooled := !b.loader.KeepsReads() && !billingread.RequestKeeps(ctx)
	e, _, err := b.loadFor(ctx, c, indexed, pooled)
	return e, err
}

func (b *billingReads) loadFor(ctx context.Context, c Customer, indexed, pooled bool) (e *billingEntry, kept bool, err error) {
	arg := billingArg{c: c, pooled: pooled}
	if indexed {
		arg.ix = indexers.Get().(*billingread.Indexer)
		arg.ix.Body = nil
		defer func() {
			*arg.ix = billingread.Indexer{} // keeps nothing of the body
			indexers.Put(arg.ix)
		}()
	}
	e, kept, err = b.loader.Load(ctx, c.ExternalID, arg)
	if err != nil {
		return nil, false, err
	}
	e.SetIndexFrom(arg.ix)
	if e.Stale() {
		// Last-known billing served through an outage: the route says how old it is.
		noteStale(ctx, b.loader.Age(e))
	}
	return e, kept, nil
}

// servesLastKnown reports whether a read that fails for Flowglad's reasons may be answered
// with last-known billing (Config.StaleIfError): the route then notes its age.
func (b *billingReads) servesLastKnown() bool { return b.lastKnown != nil }

// invalidate makes the next read of the customer's billing go to Flowglad (see
// billingread.Loader.Invalidate).
func (b *billingReads) invalidate(ctx context.Context, externalID string) error {
	return b.loader.Invalidate(ctx, externalID)
}

// known returns the customer's billing when the request ctx belongs to has read it already
// (a gate before its handler); it never reads Flowglad.
func (b *billingReads) known(ctx context.Context, externalID string) (*billingEntry, bool) {
	return b.loader.Known(ctx, externalID)
}

// billingEntry is one billing body as Flowglad sent it, with what has been decoded of it
// (billingread.Entry: the typed view, the narrow index, the current subscriptions), in one
// allocation: the loader keeps and returns billingEntry values, so a hit allocates no
// wrapper.
type billingEntry struct {
	billingread.Entry
}

func newBillingEntry(body *flowgladapi.BillingBody) *billingEntry {
	e := &billingEntry{}
	e.Init(body)
	return e
}

// DefaultBillingCacheMaxBytes bounds the in-process billing cache when
// Config.BillingCacheMaxBytes is zero.
const DefaultBillingCacheMaxBytes = billingread.DefaultMaxBytes
