package billingread

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
)

// Entry is one billing body as Flowglad sent it, with what has been decoded of it: nothing
// until a reader asks, then once, shared by every reader of this body (the requests that
// joined its read, and the hits of an in-process cache). A relay reads the bytes and
// decodes nothing.
//
// An Entry is set up once with Init and not copied afterwards; a caller's type may hold it
// by value (see Holder), so that one allocation holds both.
type Entry struct {
	raw  []byte // body.JSON()
	body *flowgladapi.BillingBody
	// readAt is when the body was read from Flowglad; zero when it came from a shared
	// cache, which does not say.
	readAt time.Time
	// stale: last-known billing served because Flowglad could not be read.
	stale bool
	// pending is the version of the pending usage before the read (Config.BeforeRead).
	pending pendingVersion
	// holders counts the callers a read with a pooled body (flowgladapi's
	// GetBillingBodyPooled) handed e to that have not released it yet (Share, Release).
	holders atomic.Int32

	viewOnce sync.Once
	view     *flowgladapi.Billing
	viewErr  error

	indexOnce sync.Once
	index     *Index
	indexErr  error

	currentOnce sync.Once
	current     []flowgladapi.Subscription
	currentErr  error

	// priceMeters maps "id:"+price id and "slug:"+price slug to the usage meter's id;
	// read once when first needed.
	pricesOnce  sync.Once
	priceMeters map[string]string
}

// NewEntry returns the entry of body. It is what a Loader whose Holder is *Entry itself
// makes entries with.
func NewEntry(body *flowgladapi.BillingBody) *Entry {
	e := &Entry{}
	e.Init(body)
	return e
}

// Init sets up e, a zero Entry, for body.
func (e *Entry) Init(body *flowgladapi.BillingBody) {
	e.raw, e.body = body.JSON(), body
}

// Pooled reports whether e's body is in a pooled buffer (flowgladapi's
// GetBillingBodyPooled), which Share and Release give back once every holder is done.
func (e *Entry) Pooled() bool { return e.body != nil && e.body.Pooled() }

// Share says that n callers hold e, a pooled entry that nothing else keeps (no cache, no
// last-known billing): the body's buffer goes back to its pool when the n-th Release is
// called. It is called once, before any holder gets e (the read that made e hands it to
// the callers that joined it, and to its own). A holder that never calls Release (a Go
// caller that keeps billing, a request whose memo keeps it for later readers) keeps the
// buffer from ever being reused: it is then collected with e, as an unpooled body is.
func (e *Entry) Share(n int) {
	if e.Pooled() {
		e.holders.Store(int32(n))
	}
}

// Release says that one holder of e (see Share) is done reading e and every part of it
// (its bytes, its members, its index, its typed views): the last one gives the body's
// buffer back. It does nothing for an entry that was not shared.
func (e *Entry) Release() {
	// Never below zero: an entry that was not shared (a cached one, read by any number of
	// hits) counts nothing down, and never reaches zero by wrapping around.
	for {
		n := e.holders.Load()
		if n <= 0 {
			return
		}
		if e.holders.CompareAndSwap(n, n-1) {
			if n == 1 {
				e.raw = nil
				e.body.Release()
			}
			return
		}
	}
}

// Done says that the caller whose request ctx belongs to is done reading e: it releases its
// share of e (Release), unless the request keeps e in its memo for a reader after this one
// (a meter after the handler), which then holds it to the end of the request.
func (e *Entry) Done(ctx context.Context) {
	if !RequestKeeps(ctx) {
		e.Release()
	}
}

// RequestKeeps reports whether the request ctx belongs to keeps the billing it reads in its
// memo (Loader.Load), for readers later in the request: such a read's entry outlives its
// caller's answer, so its caller must not release it (Done).
func RequestKeeps(ctx context.Context) bool { return reqmemo.From(ctx) != nil }

// BillingEntry returns e: an *Entry is its own Holder.
func (e *Entry) BillingEntry() *Entry { return e }

// Raw returns Flowglad's body, byte for byte. It is shared: do not modify it.
func (e *Entry) Raw() []byte { return e.raw }

// Body returns the body, with its top-level members located.
func (e *Entry) Body() *flowgladapi.BillingBody { return e.body }

// ReadAt returns when the body was read from Flowglad; zero when it came from a shared
// cache, which does not say.
func (e *Entry) ReadAt() time.Time { return e.readAt }

// Stale reports that this is last-known billing, served because Flowglad could not be read
// (see Config.StaleFor).
func (e *Entry) Stale() bool { return e.stale }

// Typed returns the whole typed view (flowgladapi.DecodeBilling), decoded once, with
// ReadAt and Stale set.
func (e *Entry) Typed() (*flowgladapi.Billing, error) {
	e.viewOnce.Do(func() {
		e.view, e.viewErr = flowgladapi.DecodeBilling(e.raw)
		if e.view != nil {
			e.view.ReadAt, e.view.Stale = e.readAt, e.stale
		}
	})
	return e.view, e.viewErr
}

// Index returns the narrow view that ownership checks and subscription choices read, read
// once without decoding the rest.
func (e *Entry) Index() (*Index, error) {
	e.indexOnce.Do(func() { e.index, e.indexErr = indexBilling(e.body) })
	return e.index, e.indexErr
}

// SetIndexFrom gives e the index ix read in the pass that checked e's body, when ix read
// that very body (ix.Body); otherwise, or once e's index was read, it does nothing.
func (e *Entry) SetIndexFrom(ix *Indexer) {
	if ix == nil || ix.Body == nil || ix.Body != e.body {
		return
	}
	e.indexOnce.Do(func() { e.index, e.indexErr = ix.index() })
}

// Current returns billing's current subscriptions, decoded once (and nothing else of the
// body): what feature and balance checks read. None is an empty slice, never nil.
func (e *Entry) Current() ([]flowgladapi.Subscription, error) {
	e.currentOnce.Do(func() {
		e.current, e.currentErr = Member[[]flowgladapi.Subscription](e, "currentSubscriptions")
		if e.current == nil && e.currentErr == nil {
			e.current = []flowgladapi.Subscription{}
		}
	})
	return e.current, e.currentErr
}

// PriceMeter returns the id of the usage meter that the price with id (or, when id is
// empty, with slug) bills, from the pricing model: "" when the pricing model has no such
// usage price. The pricing model is read once, when a price is first asked for.
func (e *Entry) PriceMeter(id, slug string) string {
	e.pricesOnce.Do(func() {
		pm, err := Member[flowgladapi.PricingModel](e, "pricingModel")
		if err != nil {
			return
		}
		e.priceMeters = map[string]string{}
		for _, m := range pm.UsageMeters {
			for _, pr := range m.Prices {
				e.priceMeters["id:"+pr.ID] = m.ID
				e.priceMeters["slug:"+pr.Slug] = m.ID
			}
		}
		for _, prod := range pm.Products {
			for _, pr := range prod.Prices {
				if pr.UsageMeterID != "" {
					e.priceMeters["id:"+pr.ID] = pr.UsageMeterID
					e.priceMeters["slug:"+pr.Slug] = pr.UsageMeterID
				}
			}
		}
	})
	if id != "" {
		return e.priceMeters["id:"+id]
	}
	return e.priceMeters["slug:"+slug]
}

// Member decodes the member name of a billing body as DecodeBilling decodes that field
// (zero when absent or null): a reader of one member decodes only it, not the whole typed
// view (the pricing model above all). A member of the wrong type is Flowglad's fault
// (flowgladapi.ErrInvalidResponse).
func Member[T any](e *Entry, name string) (T, error) {
	var v T
	m := e.body.Member(name)
	if len(m) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(m, &v); err != nil {
		return v, errors.Join(flowgladapi.ErrInvalidResponse, fmt.Errorf("flowglad: billing %s: %w", name, err))
	}
	return v, nil
}
