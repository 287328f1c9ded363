package flowglad

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// Validate checks p with the rules of CreateUsageEvent that need no billing (exactly one of
// the meter or price fields, the amount, the ids' form): a 400 invalid_body *Error listing
// every problem, or nil. A usage recorder calls it before queueing an event, so that a
// malformed event is refused at once rather than refused by Flowglad later.
func (p UsageEventParams) Validate() error { return validate(p) }

// Validate checks a Customer as every Service method does before using it: an *Error with
// Code CodeInvalidCustomer (a server bug: an external id that is blank, "." or "..", or too
// long), or nil. The email is not checked here: it matters only when the Flowglad
// customer is created, which checks it.
func (c Customer) Validate() error { return c.validate() }

// PendingUsage reports usage that has been recorded for a customer and is not yet at
// Flowglad: events waiting in a usage recorder's queue, and amounts reserved for work in
// progress. A Service given one (AddPendingUsage) subtracts it from the usage meter balances
// it returns, so that recording usage asynchronously cannot be used to spend a balance
// twice. The usage package's Recorder implements it and registers itself; the root package
// never imports usage.
//
// PendingUsage is called on every balance read for the customer: it must be fast, safe for
// concurrent use, and answer nil (no allocation) when nothing is pending.
//
// A PendingUsage may also have a method
//
//	BeforeBillingRead(ctx context.Context, externalID string) (version uint64, ok bool)
//
// which the Service calls within a request (a context the middleware made) just before that
// request reads the customer's billing, once per read. It returns the version of the
// customer's pending usage: a value that changes whenever some of it reaches Flowglad (ok
// false when it cannot be read). A request then never gets billing read under another
// version, from a read another request began or from the in-process cache: such billing
// may predate usage that has since left the pending usage, and would count it nowhere. The
// usage package's Recorder implements it with its ledger's generation, and checks its
// reservations against it. Its PendingUsage then answers the request's balances with the
// pending usage it read with that version (until the request records usage or reserves):
// the billing and the pending usage a request subtracts from it are read together, and a
// shared ledger costs the request one round trip.
type PendingUsage interface {
	PendingUsage(ctx context.Context, externalID string) ([]PendingUsageAmount, error)
}

// beforeBillingRead is PendingUsage's optional BeforeBillingRead.
type beforeBillingRead interface {
	BeforeBillingRead(ctx context.Context, externalID string) (version uint64, ok bool)
}

// notePendingRead tells each registered PendingUsage that has BeforeBillingRead that the
// request ctx belongs to is about to read the customer's billing, and returns the version
// of the pending usage they track (the sum of theirs, which only grow): tracked false when
// none does, known false when one could not say.
func (s *Service) notePendingRead(ctx context.Context, externalID string) (version uint64, tracked, known bool) {
	list := s.pending.Load()
	if list == nil {
		return 0, false, false
	}
	known = true
	for _, h := range *list {
		if b, ok := h.p.(beforeBillingRead); ok {
			v, ok := b.BeforeBillingRead(ctx, externalID)
			version, tracked, known = version+v, true, known && ok
		}
	}
	return version, tracked, known && tracked
}

// RefreshBillingAfterUsage is for a PendingUsage with BeforeBillingRead (the usage
// package's Recorder) some of whose usage of the customer has just reached Flowglad, in
// place of InvalidateBilling. Forgetting the customer's billing would make the next
// request that reads it wait for Flowglad; instead, when that billing is in the in-process
// billing cache (Config.BillingCacheTTL), it is read again from Flowglad while the cached
// billing, less the pending usage (which must still hold the usage that landed), goes on
// answering requests.
//
// begin is called just before the billing is read (after any read of it already running,
// which is waited for): the caller notes the version of the pending usage there (false: no
// refresh). Once the new billing is read, landed is called: it must take the usage that
// landed out of the pending usage, and return the version BeforeBillingRead returns from
// then on, ok true only if nothing else of the customer's pending usage reached Flowglad
// since begin (the billing read may then predate it). The new billing then answers
// requests; otherwise it is forgotten, as InvalidateBilling does. Balances never count
// landed usage zero times: at worst twice, for the moment between the read and landed.
//
// It returns false, without calling landed, when there is nothing to refresh (no
// in-process cache, the customer's billing not in it, ctx ended while a read of it already
// running was waited for, more than one PendingUsage with BeforeBillingRead registered,
// begin false) or when Flowglad could not be read: the caller then calls InvalidateBilling
// and takes the usage out itself.
func (s *Service) RefreshBillingAfterUsage(ctx context.Context, externalID string, begin func(context.Context) bool, landed func(context.Context) (version uint64, ok bool)) bool {
	c := Customer{ExternalID: externalID}
	if c.validate() != nil || s.pendingTrackers() != 1 {
		return false
	}
	refreshed, err := s.billing.loader.Refresh(ctx, externalID, billingArg{c: c}, begin, landed)
	if err != nil {
		s.logger.LogAttrs(ctx, slog.LevelDebug, "flowglad: refreshing billing after usage failed; forgetting it instead",
			slog.String("error", err.Error()))
	}
	return refreshed
}

// pendingTrackers counts the registered PendingUsage that have BeforeBillingRead, whose
// versions the Service adds up (notePendingRead).
func (s *Service) pendingTrackers() int {
	list := s.pending.Load()
	if list == nil {
		return 0
	}
	n := 0
	for _, h := range *list {
		if _, ok := h.p.(beforeBillingRead); ok {
			n++
		}
	}
	return n
}

// PendingUsageAmount is an amount of usage of one meter not yet at Flowglad. Exactly one of
// UsageMeterSlug, UsageMeterID, PriceSlug and PriceID names the meter (a price names its
// usage meter, found in the customer's pricing model).
type PendingUsageAmount struct {
	UsageMeterSlug, UsageMeterID, PriceSlug, PriceID string
	// SubscriptionID is the subscription the usage will be charged to; empty means the
	// first current subscription that has the meter (where the recorder sends it).
	SubscriptionID string
	Amount         float64
}

// AddPendingUsage registers p: the balances that Billing and CurrentSubscriptions return
// (and so the middleware's gates) subtract what p reports. The returned function removes
// it. When p fails, the balances are returned as Flowglad reported them and the failure is
// logged.
func (s *Service) AddPendingUsage(p PendingUsage) (remove func()) {
	h := &pendingHolder{p: p}
	for {
		old := s.pending.Load()
		var next []*pendingHolder
		if old != nil {
			next = slices.Clone(*old)
		}
		next = append(next, h)
		if s.pending.CompareAndSwap(old, &next) {
			break
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for {
				old := s.pending.Load()
				next := slices.DeleteFunc(slices.Clone(*old), func(x *pendingHolder) bool { return x == h })
				np := &next
				if len(next) == 0 {
					np = nil
				}
				if s.pending.CompareAndSwap(old, np) {
					return
				}
			}
		})
	}
}

// pendingHolder wraps a registered PendingUsage, so that the same value registered twice is
// removed once per registration.
type pendingHolder struct{ p PendingUsage }

// pendingList holds the registered PendingUsage; nil (the common case) costs one atomic
// load per balance read.
type pendingList = atomic.Pointer[[]*pendingHolder]

// ReportedSubscriptions is CurrentSubscriptions as Flowglad reported them: no pending
// usage is subtracted from the balances. A reservation is checked against these balances
// (minus what is pending, atomically, in the recorder's ledger).
func (s *Service) ReportedSubscriptions(ctx context.Context, c Customer) ([]flowgladapi.Subscription, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	return e.Current()
}

// KnownSubscriptions returns the customer's current subscriptions (Flowglad's balances, as
// ReportedSubscriptions) when the request ctx belongs to has read the customer's billing
// already (a gate before its handler), and ok false otherwise: it never calls Flowglad,
// nor a shared cache. A usage recorder chooses an event's subscription with it at Record
// time, so that sending the event needs no billing read.
func (s *Service) KnownSubscriptions(ctx context.Context, c Customer) (subs []flowgladapi.Subscription, ok bool) {
	e, found := s.billing.known(ctx, c.ExternalID)
	if !found {
		return nil, false
	}
	subs, err := e.Current()
	return subs, err == nil
}

// pendingFor returns the usage pending for the customer, nil when none (or when nothing is
// registered).
func (s *Service) pendingFor(ctx context.Context, externalID string) []PendingUsageAmount {
	list := s.pending.Load()
	if list == nil {
		return nil
	}
	var out []PendingUsageAmount
	for _, h := range *list {
		amounts, err := h.p.PendingUsage(ctx, externalID)
		if err != nil {
			s.logger.WarnContext(ctx, "flowglad: pending usage could not be read; balances are Flowglad's", "error", err)
			continue
		}
		out = append(out, amounts...)
	}
	return out
}

// withPending returns subs with the pending amounts subtracted from their usage meter
// balances: subs itself (shared, never modified) when nothing applies, else a copy.
func withPending(subs []flowgladapi.Subscription, pending []PendingUsageAmount, meterOf func(PendingUsageAmount) (id, slug string)) []flowgladapi.Subscription {
	var out []flowgladapi.Subscription
	for _, p := range pending {
		id, slug := meterOf(p)
		if (id == "" && slug == "") || p.Amount == 0 {
			continue
		}
		si, bi := pendingTarget(subs, p.SubscriptionID, id, slug)
		if si < 0 {
			continue
		}
		if out == nil {
			out = slices.Clone(subs)
		}
		if &out[si].UsageMeterBalances[0] == &subs[si].UsageMeterBalances[0] {
			out[si].UsageMeterBalances = slices.Clone(subs[si].UsageMeterBalances)
		}
		out[si].UsageMeterBalances[bi].AvailableBalance -= p.Amount
	}
	if out == nil {
		return subs
	}
	return out
}

// pendingTarget finds the balance pending usage applies to: on the subscription named, or
// on the first current subscription that has the meter. -1 when none.
func pendingTarget(subs []flowgladapi.Subscription, subID, meterID, meterSlug string) (si, bi int) {
	for i := range subs {
		if subID != "" && subs[i].ID != subID {
			continue
		}
		for j := len(subs[i].UsageMeterBalances) - 1; j >= 0; j-- {
			b := &subs[i].UsageMeterBalances[j]
			if (meterID != "" && b.ID == meterID) || (meterSlug != "" && b.Slug == meterSlug) {
				return i, j
			}
		}
		if subID != "" {
			break
		}
	}
	return -1, -1
}

// meterFinder maps a pending amount to its meter (id, slug); prices are looked up in the
// pricing model, read from billing only when a pending amount names a price.
func (e *billingEntry) meterFinder() func(PendingUsageAmount) (string, string) {
	return func(p PendingUsageAmount) (string, string) {
		switch {
		case p.UsageMeterID != "" || p.UsageMeterSlug != "":
			return p.UsageMeterID, p.UsageMeterSlug
		case p.PriceID == "" && p.PriceSlug == "":
			return "", ""
		}
		return e.PriceMeter(p.PriceID, p.PriceSlug), ""
	}
}

// currentWithPending is CurrentSubscriptions' answer: the shared decoded list, adjusted by
// pending usage when some is registered and pending for the customer.
func (s *Service) currentWithPending(ctx context.Context, c Customer, e *billingEntry) ([]flowgladapi.Subscription, error) {
	subs, err := e.Current()
	if err != nil || s.pending.Load() == nil {
		return subs, err
	}
	pending := s.pendingFor(ctx, c.ExternalID)
	if len(pending) == 0 {
		return subs, nil
	}
	return withPending(subs, pending, e.meterFinder()), nil
}

// billingWithPending is Billing's answer: the shared typed view, or a shallow copy whose
// current subscriptions carry the adjusted balances. Raw stays Flowglad's body.
func (s *Service) billingWithPending(ctx context.Context, c Customer, e *billingEntry) (*flowgladapi.Billing, error) {
	b, err := e.Typed()
	if err != nil || s.pending.Load() == nil {
		return b, err
	}
	pending := s.pendingFor(ctx, c.ExternalID)
	if len(pending) == 0 {
		return b, nil
	}
	subs := withPending(b.CurrentSubscriptions, pending, e.meterFinder())
	if len(subs) == 0 || &subs[0] == &b.CurrentSubscriptions[0] {
		return b, nil
	}
	cp := *b
	cp.CurrentSubscriptions = subs
	if b.CurrentSubscription != nil {
		if i := slices.IndexFunc(subs, func(x flowgladapi.Subscription) bool { return x.ID == b.CurrentSubscription.ID }); i >= 0 {
			cp.CurrentSubscription = &subs[i]
		}
	}
	return &cp, nil
}

// balancesWithPending subtracts pending usage from UsageMeterBalances' answer (decoded for
// this call: adjusted in place). Usage pending without a subscription goes to the first
// balance of its meter, as the flusher sends it to the first current subscription that has
// the meter. A pending amount that names a price is mapped to its meter only when the
// request has read billing already (the pricing model is there); this read makes no
// other call.
func (s *Service) balancesWithPending(ctx context.Context, c Customer, balances []flowgladapi.UsageMeterBalance, filtered bool) []flowgladapi.UsageMeterBalance {
	pending := s.pendingFor(ctx, c.ExternalID)
	if len(pending) == 0 {
		return balances
	}
	meterOf := func(p PendingUsageAmount) (string, string) { return p.UsageMeterID, p.UsageMeterSlug }
	if e, ok := s.billing.known(ctx, c.ExternalID); ok {
		meterOf = e.meterFinder()
	}
	// Usage pending without a subscription goes where it will be charged: the first current
	// subscription that has the meter, which the balances alone do not say (they may be
	// filtered to another subscription, or listed in another order). The customer's
	// billing says it (the request's, the cache's, else one read); when it cannot be read
	// the usage is placed on the first balance of its meter. Unfiltered balances with one
	// balance of the meter (one subscription has it: the common case) need no read.
	var (
		subs    []flowgladapi.Subscription
		subsErr error
		read    bool
	)
	chargedTo := func(p PendingUsageAmount, id, slug string) string {
		if p.SubscriptionID != "" {
			return p.SubscriptionID
		}
		if !filtered && meterBalances(balances, id, slug) <= 1 {
			return ""
		}
		if !read {
			subs, subsErr = s.ReportedSubscriptions(ctx, c)
			read = true
		}
		if subsErr != nil {
			return ""
		}
		if si, _ := pendingTarget(subs, "", id, slug); si >= 0 {
			return subs[si].ID
		}
		return ""
	}
	for _, p := range pending {
		id, slug := meterOf(p)
		if (id == "" && slug == "") || p.Amount == 0 {
			continue
		}
		subID := chargedTo(p, id, slug)
		for i := range balances {
			b := &balances[i]
			if subID != "" && b.SubscriptionID != subID {
				continue
			}
			if (id != "" && b.ID == id) || (slug != "" && b.Slug == slug) {
				b.AvailableBalance -= p.Amount
				break
			}
		}
	}
	return balances
}

// meterBalances counts the balances of the meter named by id or slug.
func meterBalances(balances []flowgladapi.UsageMeterBalance, id, slug string) int {
	n := 0
	for i := range balances {
		if (id != "" && balances[i].ID == id) || (slug != "" && balances[i].Slug == slug) {
			n++
		}
	}
	return n
}
