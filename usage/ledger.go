package usage

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrStale is returned by Ledger.Reserve when some of the customer's pending usage reached
// Flowglad since the caller read the ledger: the balance it read may not include that usage
// yet, so it must read the balance again (the Recorder does).
var ErrStale = errors.New("usage: ledger changed since it was read")

// PendingEvent is usage recorded for a customer and not yet at Flowglad, as a Ledger keeps it.
type PendingEvent struct {
	// TransactionID identifies the event: an event noted twice with one id is pending
	// once, as Flowglad counts it once. The Recorder gives the transaction id Flowglad
	// stores joined with the meter (or price) the event names, since Flowglad keeps one
	// event per transaction id and meter.
	TransactionID string
	// Exactly one of UsageMeterSlug, UsageMeterID, PriceSlug and PriceID.
	UsageMeterSlug, UsageMeterID, PriceSlug, PriceID string
	// SubscriptionID is empty when the flusher chooses it.
	SubscriptionID string
	Amount         int64
}

// Hold is an amount of a usage meter reserved for work in progress (Recorder.Reserve).
type Hold struct {
	// ID identifies the hold in its ledger.
	ID string
	// Meter is the usage meter's slug.
	Meter  string
	Amount int64
	// ExpiresAt is when the hold lapses by itself: the instance that made it may have
	// crashed before committing or releasing it.
	ExpiresAt time.Time
}

// MeterRefs are the names one usage meter goes by in events: its slug and id, and the slugs
// and ids of its prices. Pending events that use any of them count against the meter.
type MeterRefs struct {
	Slug, ID             string
	PriceSlugs, PriceIDs []string
}

func (m MeterRefs) match(e PendingEvent) bool {
	switch {
	case e.UsageMeterSlug != "":
		return e.UsageMeterSlug == m.Slug
	case e.UsageMeterID != "":
		return m.ID != "" && e.UsageMeterID == m.ID
	case e.PriceSlug != "":
		return contains(m.PriceSlugs, e.PriceSlug)
	case e.PriceID != "":
		return contains(m.PriceIDs, e.PriceID)
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ReserveRequest asks a Ledger for a hold.
type ReserveRequest struct {
	CustomerID string
	Hold       Hold
	// Refs say which pending events count against Hold.Meter.
	Refs MeterRefs
	// Available is the meter's balance as Flowglad reported it, pending usage not
	// subtracted.
	Available float64
	// Generation is LedgerView.Generation as read before Available was: ErrStale when the
	// customer's pending usage reached Flowglad since.
	Generation uint64
}

// LedgerView is what a Ledger holds for one customer.
type LedgerView struct {
	// Pending is the customer's pending usage summed per meter reference and subscription:
	// one entry for each distinct (UsageMeterSlug, UsageMeterID, PriceSlug, PriceID,
	// SubscriptionID), its Amount the sum of the events', its TransactionID empty. A
	// balance read costs the same however many events are pending.
	Pending []PendingEvent
	// Holds are the live (unexpired) holds.
	Holds []Hold
	// Generation changes each time some of the customer's pending usage reaches Flowglad
	// (RemovePending), and must not come back to a value it had within the time a balance
	// read can take (the in-process ledger keeps it two minutes after the customer's last
	// pending event and hold are gone). Another customer's usage does not change it.
	Generation uint64
}

// A Ledger keeps the usage that is pending (recorded, not yet at Flowglad) and the holds
// (reservations) of each customer, so that balances can subtract them and a reservation is
// granted only when the balance covers it. The Recorder uses an in-process ledger by
// default (NewMemoryLedger), right for the memory and bolt queues; a queue shared by several
// instances shares its ledger too (usage/redisqueue), so that every instance's gates see
// every instance's pending usage and holds. Methods are safe for concurrent use.
type Ledger interface {
	// AddPending notes events recorded for the customer. An event already noted (same
	// transaction id) is noted once.
	AddPending(ctx context.Context, customerID string, events []PendingEvent) error
	// RemovePending forgets events (by transaction id) that Flowglad has, or that were
	// dead-lettered, and advances the customer's generation. Unknown ids are ignored.
	RemovePending(ctx context.Context, customerID string, txIDs []string) error
	// View returns the customer's pending usage (summed, see LedgerView.Pending) and live
	// holds. It must be cheap whatever the number of pending events, and return a zero
	// view without allocating when the customer has none: every balance read calls it.
	View(ctx context.Context, customerID string) (LedgerView, error)
	// Reserve adds req.Hold, atomically, if and only if Available minus the pending events
	// that count against the meter minus the meter's live holds is at least Hold.Amount.
	// It reports whether it did; ErrStale when req.Generation is behind.
	Reserve(ctx context.Context, req ReserveRequest) (bool, error)
	// Unreserve removes a hold; an unknown or expired one is ignored.
	Unreserve(ctx context.Context, customerID, holdID string) error
}

// A Ledger may also have a method
//
//	RemovePendingAt(ctx context.Context, customerID string, txIDs []string, gen uint64) (next uint64, wasAt bool, err error)
//
// which is RemovePending that returns the customer's generation after it (next), and
// reports whether the generation was gen just before it, all in one atomic step. With it,
// the Recorder reads the billing of a customer whose usage reached Flowglad again while
// gates go on using the cached billing (flowglad.Service.RefreshBillingAfterUsage), rather
// than forgetting it: the new billing is used from generation next on, provided no other
// usage of the customer landed since the Recorder read gen. Both ledgers of this module
// have it.

// A Ledger may also have a method
//
//	AddPendingCount(ctx context.Context, customerID string, events []PendingEvent) (added int, err error)
//
// which is AddPending that returns how many of the events it noted: an event already
// pending under its id (a caller's retry with the same transaction id) is not. With it, the
// Recorder takes an event it could not queue out of the pending usage only when it noted it,
// never another's that is still queued under the same id. Both ledgers of this module have
// it.

// pendingCounter is a Ledger's optional AddPendingCount (see Ledger).
type pendingCounter interface {
	AddPendingCount(ctx context.Context, customerID string, events []PendingEvent) (added int, err error)
}

// pendingRemoverAt is a Ledger's optional RemovePendingAt (see Ledger).
type pendingRemoverAt interface {
	RemovePendingAt(ctx context.Context, customerID string, txIDs []string, gen uint64) (next uint64, wasAt bool, err error)
}

// MemoryLedger is the in-process Ledger.
type MemoryLedger struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*customerLedger
	// seq numbers generations, so that a customer's never repeats.
	seq uint64
	// tombs keep the generation of customers whose entry was dropped (nothing pending, no
	// holds) for tombTTL, longer than any balance read between View and Reserve: a
	// reservation whose read predates the landing that emptied the entry is still stale.
	tombs     map[string]tomb
	lastSweep time.Time
}

type customerLedger struct {
	pending map[string]PendingEvent // by transaction id
	// sums are the pending amounts per meter reference and subscription: what View and
	// Reserve read, so that neither walks every pending event.
	sums  map[pendingKey]int64
	holds map[string]Hold
	gen   uint64
}

// pendingKey is what pending usage is summed by: the meter (or price) an event names, and
// its subscription.
type pendingKey struct {
	UsageMeterSlug, UsageMeterID, PriceSlug, PriceID, SubscriptionID string
}

func keyOf(e PendingEvent) pendingKey {
	return pendingKey{e.UsageMeterSlug, e.UsageMeterID, e.PriceSlug, e.PriceID, e.SubscriptionID}
}

// event is the summed pending usage of k.
func (k pendingKey) event(amount int64) PendingEvent {
	return PendingEvent{UsageMeterSlug: k.UsageMeterSlug, UsageMeterID: k.UsageMeterID, PriceSlug: k.PriceSlug,
		PriceID: k.PriceID, SubscriptionID: k.SubscriptionID, Amount: amount}
}

type tomb struct {
	gen uint64
	at  time.Time
}

// tombTTL bounds how long a generation outlives the customer's entry.
const tombTTL = 2 * time.Minute

// NewMemoryLedger returns an empty in-process ledger.
func NewMemoryLedger() *MemoryLedger { return newMemoryLedger(time.Now) }

func newMemoryLedger(now func() time.Time) *MemoryLedger {
	return &MemoryLedger{now: now, m: map[string]*customerLedger{}, tombs: map[string]tomb{}}
}

// AddPending implements Ledger.
func (l *MemoryLedger) AddPending(ctx context.Context, customerID string, events []PendingEvent) error {
	_, err := l.AddPendingCount(ctx, customerID, events)
	return err
}

// AddPendingCount is AddPending that returns how many of the events were not pending
// already (see Ledger).
func (l *MemoryLedger) AddPendingCount(_ context.Context, customerID string, events []PendingEvent) (added int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.customer(customerID)
	for _, e := range events {
		if _, dup := c.pending[e.TransactionID]; dup {
			continue // the same event: pending once, as Flowglad counts it once
		}
		c.pending[e.TransactionID] = e
		c.sums[keyOf(e)] += e.Amount
		added++
	}
	return added, nil
}

// RemovePending implements Ledger.
func (l *MemoryLedger) RemovePending(_ context.Context, customerID string, txIDs []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.m[customerID]; c != nil {
		l.removeLocked(customerID, c, txIDs)
	}
	return nil
}

// removeLocked forgets the customer's events and moves its generation on.
func (l *MemoryLedger) removeLocked(customerID string, c *customerLedger, txIDs []string) {
	for _, id := range txIDs {
		e, ok := c.pending[id]
		if !ok {
			continue
		}
		delete(c.pending, id)
		k := keyOf(e)
		if c.sums[k] -= e.Amount; c.sums[k] == 0 {
			delete(c.sums, k)
		}
	}
	l.seq++
	c.gen = l.seq
	l.tidy(customerID, c)
}

// RemovePendingAt is RemovePending that also returns the customer's generation after it,
// and whether it was gen before it (see Ledger).
func (l *MemoryLedger) RemovePendingAt(_ context.Context, customerID string, txIDs []string, gen uint64) (next uint64, wasAt bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.m[customerID]
	if c == nil {
		// Nothing pending: the generation stays.
		g := l.tombs[customerID].gen
		return g, g == gen, nil
	}
	wasAt = c.gen == gen
	l.removeLocked(customerID, c, txIDs)
	return c.gen, wasAt, nil
}

// View implements Ledger.
func (l *MemoryLedger) View(_ context.Context, customerID string) (LedgerView, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.m[customerID]
	if c == nil {
		return LedgerView{Generation: l.tombs[customerID].gen}, nil
	}
	v := LedgerView{Generation: c.gen}
	v.Pending = make([]PendingEvent, 0, len(c.sums)) // no allocation when none is pending
	for k, amount := range c.sums {
		v.Pending = append(v.Pending, k.event(amount))
	}
	now := l.now()
	for id, h := range c.holds {
		if !now.Before(h.ExpiresAt) {
			delete(c.holds, id)
			continue
		}
		v.Holds = append(v.Holds, h)
	}
	return v, nil
}

// Reserve implements Ledger.
func (l *MemoryLedger) Reserve(_ context.Context, req ReserveRequest) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.m[req.CustomerID]
	gen := l.tombs[req.CustomerID].gen
	if c != nil {
		gen = c.gen
	}
	if gen != req.Generation {
		return false, ErrStale
	}
	left := req.Available
	if c != nil {
		for k, amount := range c.sums {
			if req.Refs.match(k.event(amount)) {
				left -= float64(amount)
			}
		}
		now := l.now()
		for id, h := range c.holds {
			if !now.Before(h.ExpiresAt) {
				delete(c.holds, id)
				continue
			}
			if h.Meter == req.Hold.Meter {
				left -= float64(h.Amount)
			}
		}
	}
	if left < float64(req.Hold.Amount) {
		return false, nil
	}
	l.customer(req.CustomerID).holds[req.Hold.ID] = req.Hold
	return true, nil
}

// Unreserve implements Ledger.
func (l *MemoryLedger) Unreserve(_ context.Context, customerID, holdID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.m[customerID]; c != nil {
		delete(c.holds, holdID)
		l.tidy(customerID, c)
	}
	return nil
}

func (l *MemoryLedger) customer(id string) *customerLedger {
	c := l.m[id]
	if c == nil {
		c = &customerLedger{pending: map[string]PendingEvent{}, sums: map[pendingKey]int64{}, holds: map[string]Hold{},
			gen: l.tombs[id].gen}
		delete(l.tombs, id)
		l.m[id] = c
	}
	return c
}

// tidy drops a customer with nothing pending and no holds, so the ledger does not grow with
// every customer ever seen.
func (l *MemoryLedger) tidy(id string, c *customerLedger) {
	if len(c.pending) > 0 || len(c.holds) > 0 {
		return
	}
	delete(l.m, id)
	now := l.now()
	if c.gen != 0 {
		l.tombs[id] = tomb{gen: c.gen, at: now}
	}
	if now.Sub(l.lastSweep) >= tombTTL {
		l.lastSweep = now
		for k, t := range l.tombs {
			if now.Sub(t.at) >= tombTTL {
				delete(l.tombs, k)
			}
		}
	}
}
