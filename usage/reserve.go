package usage

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/google/uuid"
)

// pendingView is the Recorder as the Service sees it: flowglad.PendingUsage, reading the
// ledger.
type pendingView struct{ r *Recorder }

// PendingUsage implements flowglad.PendingUsage: the customer's pending events and live
// holds, nil when there are none. Within a request that read the customer's billing, they
// are the ledger's view read just before that billing (BeforeBillingRead), not read again:
// billing and view then agree (an event that reached Flowglad after the billing was read
// is still pending in the view, where a later view would count it nowhere), and a shared
// ledger costs one round trip per request rather than two.
func (v pendingView) PendingUsage(ctx context.Context, externalID string) ([]flowglad.PendingUsageAmount, error) {
	view, ok := v.noted(ctx, externalID)
	if !ok {
		var err error
		if view, err = v.r.ledger.View(ctx, externalID); err != nil {
			return nil, err
		}
	}
	if len(view.Pending) == 0 && len(view.Holds) == 0 {
		return nil, nil
	}
	out := make([]flowglad.PendingUsageAmount, 0, len(view.Pending)+len(view.Holds))
	for _, e := range view.Pending {
		out = append(out, flowglad.PendingUsageAmount{
			UsageMeterSlug: e.UsageMeterSlug, UsageMeterID: e.UsageMeterID, PriceSlug: e.PriceSlug,
			PriceID: e.PriceID, SubscriptionID: e.SubscriptionID, Amount: float64(e.Amount),
		})
	}
	for _, h := range view.Holds {
		out = append(out, flowglad.PendingUsageAmount{UsageMeterSlug: h.Meter, Amount: float64(h.Amount)})
	}
	return out, nil
}

// generationNote is the request memo's note of the ledger generation read just before the
// request read the customer's billing.
const generationNote = "usage.generation"

// viewNote is the request memo's note of the whole ledger view read just before the request
// read the customer's billing (a notedView), which the request's balances subtract
// (PendingUsage). The recorder drops it when the request itself changes the customer's
// pending usage or holds (forgetView).
const viewNote = "usage.view"

// notedView is a ledger view noted in a request's memo, with the recorder whose ledger it
// is: another recorder on the same Service reads its own.
type notedView struct {
	r    *Recorder
	view LedgerView
}

// noted returns the view of the customer's ledger noted in the request ctx belongs to.
func (v pendingView) noted(ctx context.Context, externalID string) (LedgerView, bool) {
	n, ok := reqmemo.From(ctx).GetNote(reqmemo.Note{Kind: viewNote, Key: externalID})
	if !ok {
		return LedgerView{}, false
	}
	nv := n.(notedView)
	return nv.view, nv.r == v.r
}

// forgetView drops the view of the customer's ledger noted in the request ctx belongs to:
// the request has changed the customer's pending usage or holds, and its later balances
// read the ledger again (they see that change).
func forgetView(ctx context.Context, externalID string) {
	reqmemo.From(ctx).DeleteNote(reqmemo.Note{Kind: viewNote, Key: externalID})
}

// BeforeBillingRead notes, for the rest of the request, the ledger's generation for the
// customer just before the request reads its billing, and returns it as the version of the
// customer's pending usage (see flowglad.PendingUsage). When the ledger cannot be read,
// nothing is noted (Reserve then reads billing again after it) and ok is false.
func (v pendingView) BeforeBillingRead(ctx context.Context, externalID string) (version uint64, ok bool) {
	memo := reqmemo.From(ctx)
	note := reqmemo.Note{Kind: generationNote, Key: externalID}
	view, err := v.r.ledger.View(ctx, externalID)
	if err != nil {
		memo.DeleteNote(note)
		forgetView(ctx, externalID)
		return 0, false
	}
	memo.SetNote(note, view.Generation)
	memo.SetNote(reqmemo.Note{Kind: viewNote, Key: externalID}, notedView{r: v.r, view: view})
	return view.Generation, true
}

// ErrInsufficientBalance is returned by Recorder.Reserve when the meter's balance, less the
// usage pending and reserved, does not cover the amount.
var ErrInsufficientBalance = errors.New("usage: balance does not cover the reservation")

// maxStaleReads bounds how often Reserve reads the balance again because usage landed
// while it was reading: after that it refuses (ErrInsufficientBalance is not claimed; the
// error says why).
const maxStaleReads = 4

// Reservation holds an amount of a customer's usage meter for work in progress, so that
// concurrent requests cannot all spend the same balance. Commit records the real usage and
// ends it; Release ends it without usage. One that is neither lapses after the recorder's
// reservation TTL (the instance holding it may have crashed). Methods are safe to call more
// than once; only the first Commit or Release acts.
type Reservation struct {
	r        *Recorder
	customer flowglad.Customer
	hold     Hold
	once     sync.Once
}

// Amount returns the amount held.
func (res *Reservation) Amount() int64 { return res.hold.Amount }

// Reserve holds amount of the customer's usage meter (its slug), if and only if the meter's
// balance as Flowglad reports it, less the usage pending and the amounts already reserved,
// covers it: atomically, so concurrent requests on a balance B get at most floor(B/amount)
// reservations, across instances when the ledger is shared. The balance is read through
// the Service (the first current subscription that has the meter), so within a request
// that has read billing already, Reserve makes no Flowglad call.
//
// It returns ErrInsufficientBalance when the balance does not cover amount (also when the
// customer has no such meter), and a *flowglad.Error or *flowgladapi.Error when billing
// cannot be read.
func (r *Recorder) Reserve(ctx context.Context, c flowglad.Customer, meter string, amount int64) (*Reservation, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if meter == "" || amount <= 0 {
		return nil, fmt.Errorf("usage: reserve: meter %q and amount %d: want a meter slug and a positive amount", meter, amount)
	}
	r.mu.RLock()
	closed := r.closed
	r.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	hold := Hold{ID: uuid.NewString(), Meter: meter, Amount: amount, ExpiresAt: r.now().Add(r.holdTTL)}
	memo := reqmemo.From(ctx)
	note := reqmemo.Note{Kind: generationNote, Key: c.ExternalID}
	for range maxStaleReads {
		// The balance is checked against the ledger generation read before the billing
		// was: billing read earlier than an event's landing would count it nowhere (not
		// at Flowglad, no longer pending), and the ledger refuses a generation it has
		// passed. The request's billing (a gate's) comes with the generation noted just
		// before it was read (pendingView.BeforeBillingRead); without one, the billing
		// is read again after the ledger.
		gen, noted := memo.GetNote(note)
		subs, known := r.svc.KnownSubscriptions(ctx, c)
		if !noted || !known {
			memo.Delete(c.ExternalID)
			view, err := r.ledger.View(ctx, c.ExternalID)
			if err != nil {
				return nil, fmt.Errorf("usage: reserve: %w", err)
			}
			gen = view.Generation
			if subs, err = r.svc.ReportedSubscriptions(ctx, c); err != nil {
				return nil, err
			}
		}
		bal, refs := balanceOf(subs, meter)
		if bal == nil {
			return nil, ErrInsufficientBalance
		}
		ok, err := r.ledger.Reserve(ctx, ReserveRequest{
			CustomerID: c.ExternalID, Hold: hold, Refs: refs,
			Available: bal.AvailableBalance, Generation: gen.(uint64),
		})
		switch {
		case errors.Is(err, ErrStale):
			// Usage landed since the balance was read: the read may predate it.
			memo.DeleteNote(note)
			_ = r.svc.InvalidateBilling(ctx, c.ExternalID)
			continue
		case err != nil:
			return nil, fmt.Errorf("usage: reserve: %w", err)
		case !ok:
			return nil, ErrInsufficientBalance
		}
		forgetView(ctx, c.ExternalID) // the request's balances show its hold
		return &Reservation{r: r, customer: c, hold: hold}, nil
	}
	return nil, fmt.Errorf("usage: reserve: usage kept landing while the balance was read (%d times)", maxStaleReads)
}

// balanceOf returns the meter's balance on the first current subscription that has it,
// and the names events may use for it.
func balanceOf(subs []flowgladapi.Subscription, meter string) (*flowgladapi.UsageMeterBalance, MeterRefs) {
	for i := range subs {
		if b := subs[i].UsageBalance(meter); b != nil {
			return b, MeterRefs{Slug: meter, ID: b.ID}
		}
	}
	return nil, MeterRefs{}
}

// Commit records the work's usage (as Recorder.Record; the reservation's meter when p
// names none) and ends the reservation: the usage is pending before the hold goes, so the
// balance never shows neither. It returns the event's transaction id.
func (res *Reservation) Commit(ctx context.Context, p flowglad.UsageEventParams) (string, error) {
	if p.UsageMeterSlug == "" && p.UsageMeterID == "" && p.PriceSlug == "" && p.PriceID == "" {
		p.UsageMeterSlug = res.hold.Meter
	}
	tx, err := res.r.Record(ctx, res.customer, p)
	if err != nil {
		return "", err
	}
	res.Release(ctx)
	return tx, nil
}

// Release ends the reservation without usage (the work failed, or used nothing).
func (res *Reservation) Release(ctx context.Context) {
	res.once.Do(func() {
		if err := res.r.ledger.Unreserve(context.WithoutCancel(ctx), res.customer.ExternalID, res.hold.ID); err != nil {
			res.r.logger.WarnContext(ctx, "usage: releasing a reservation failed; it lapses by itself", "error", err)
		}
		forgetView(ctx, res.customer.ExternalID)
	})
}
