package usage

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
)

// storedTransactionID is the transaction id Flowglad stores for an event: derived from the
// customer and the caller's id (flowglad.ServerTransactionID), as Service.CreateUsageEvent
// derives it, so that an event recorded through either counts once, and an id a browser
// chose cannot collide with it.
func storedTransactionID(externalID, txID string) string {
	return flowglad.ServerTransactionID(externalID, txID)
}

// item is a claimed event on its way to Flowglad.
type item struct {
	c      Claimed
	params flowgladapi.UsageEventParams
}

// sendBatch sends claimed events to Flowglad and removes from the queue those Flowglad has
// or refused. An error means the others (released to the queue) are to be retried later.
func (r *Recorder) sendBatch(ctx context.Context, claimed []Claimed) error {
	r.inFlight.Add(int64(len(claimed)))
	defer r.inFlight.Add(-int64(len(claimed)))

	subs, dead, later, err := r.resolve(ctx, claimed)
	if err != nil {
		_ = r.release(ctx, claimed)
		return err
	}
	items := make([]item, 0, len(claimed))
	var held []Claimed
	for _, c := range claimed {
		if derr, ok := dead[c.Event.CustomerID]; ok && c.Event.SubscriptionID == "" {
			r.deadLetter(ctx, []Claimed{c}, derr)
			continue
		}
		if _, ok := later[c.Event.CustomerID]; ok && c.Event.SubscriptionID == "" {
			held = append(held, c)
			continue
		}
		e := c.Event
		sub := e.SubscriptionID
		if sub == "" {
			sub = subs[subKey{e.CustomerID, meterKey(e)}]
		}
		date := e.UsageDate
		items = append(items, item{c: c, params: flowgladapi.UsageEventParams{
			SubscriptionID: sub, Amount: e.Amount,
			TransactionID: r.storedTxID(e.CustomerID, e.TransactionID),
			UsageDate:     &date, Properties: e.Properties,
			PriceID: e.PriceID, PriceSlug: e.PriceSlug, UsageMeterID: e.UsageMeterID, UsageMeterSlug: e.UsageMeterSlug,
		}})
	}
	if len(held) > 0 {
		// Their customer's billing could not be read: they wait, the others go.
		_ = r.release(ctx, held)
	}
	left, _, err := r.send(ctx, items)
	if err != nil {
		cs := make([]Claimed, len(left))
		for i := range left {
			cs[i] = left[i].c
		}
		_ = r.release(ctx, cs)
		return err
	}
	for _, lerr := range later {
		return lerr // the drain retries them after a backoff
	}
	return nil
}

// send posts items in one bulk call. Flowglad inserts a batch in one transaction, so one
// event it refuses refuses them all: a refused batch is split in two, and each half sent
// again, until the events refused are alone (dead-lettered with Flowglad's reason) and the
// others recorded. A 500 may be such a refusal too (Flowglad answers usage for an archived
// customer with a 500): see isolate. On a failure that is not the events' fault it returns
// the items not yet recorded. took is an item Flowglad took in this send (nil when none, or
// when only isolate knows of one): proof that Flowglad is up, the probe isolate needs.
func (r *Recorder) send(ctx context.Context, items []item) (left []item, took *item, err error) {
	if len(items) == 0 {
		return nil, nil, nil
	}
	err = r.post(ctx, items)
	switch {
	case err == nil:
		r.landed(ctx, items)
		return nil, &items[0], nil
	case refusal(err):
		if len(items) == 1 {
			r.deadLetter(ctx, []Claimed{items[0].c}, err)
			return nil, nil, nil
		}
		mid := len(items) / 2
		left, took, err := r.send(ctx, items[:mid])
		if err != nil {
			return append(left, items[mid:]...), took, err
		}
		left, took2, err := r.send(ctx, items[mid:])
		if took == nil {
			took = took2
		}
		return left, took, err
	case poisonable(err) && len(items) > 1:
		left, err := r.isolate(ctx, items, nil, err)
		return left, nil, err
	case poisonable(err) && r.probe != nil:
		// Alone in its batch (the last event of a quiet worker): an event Flowglad took
		// before is the probe, else the event would wait for other traffic to be isolated.
		left, err := r.confirmPoison(ctx, items[0], r.probe, err)
		return left, nil, err
	}
	return items, nil, err
}

func (r *Recorder) post(ctx context.Context, items []item) error {
	params := make([]flowgladapi.UsageEventParams, len(items))
	for i := range items {
		params[i] = items[i].params
	}
	_, err := r.svc.Client().BulkCreateUsageEvents(ctx, params)
	return err
}

// poisonStrikes is how many times an event alone must get a 500, each time right after
// Flowglad took another event, before it is dead-lettered.
const poisonStrikes = 3

// isolate handles a 500 to a batch: Flowglad failing (an outage: keep every event and
// retry later), or one of the events it cannot take (usage for an archived customer is a
// 500 on live Flowglad: retrying the batch would block the queue for ever). It sends each
// half once: when neither is taken and nothing has proved Flowglad up (probe, an event it
// took in this send), it is an outage. Otherwise each half that got a 500 is split again,
// and an event that gets a 500 alone poisonStrikes times, each right after Flowglad took
// the probe again (a repeat of an event it has: counted once), is dead-lettered.
func (r *Recorder) isolate(ctx context.Context, items []item, probe *item, cause error) ([]item, error) {
	if len(items) == 1 {
		return r.confirmPoison(ctx, items[0], probe, cause)
	}
	mid := len(items) / 2
	halves := [2][]item{items[:mid], items[mid:]}
	var errs [2]error
	for i, h := range halves {
		errs[i] = r.post(ctx, h)
		if errs[i] == nil {
			r.landed(ctx, h)
			if probe == nil {
				probe = &h[0]
			}
		}
	}
	var left []item
	var lastErr error
	var settled [2]bool
	if probe == nil {
		// A half Flowglad refused (a 4xx) was answered by a Flowglad that is up: settle it
		// first (its refused events dead-lettered, the others recorded), and an event it
		// records is the probe the other half needs. Taking the batch for an outage here
		// would send it the same way again, for ever.
		for i, h := range halves {
			if errs[i] == nil || !refusal(errs[i]) {
				continue
			}
			settled[i] = true
			l, took, err := r.send(ctx, h)
			if err != nil {
				left, lastErr = append(left, l...), err
			}
			if probe == nil {
				probe = took
			}
		}
	}
	if probe == nil {
		// No half was taken, and nothing shows Flowglad up: an outage.
		for i, h := range halves {
			if errs[i] != nil && !settled[i] {
				left = append(left, h...)
				lastErr = cause
			}
		}
		return left, lastErr
	}
	for i, h := range halves {
		var l []item
		var err error
		switch {
		case errs[i] == nil || settled[i]:
			continue
		case refusal(errs[i]):
			l, _, err = r.send(ctx, h)
		case poisonable(errs[i]):
			l, err = r.isolate(ctx, h, probe, errs[i])
		default:
			l, err = h, errs[i]
		}
		if err != nil {
			left, lastErr = append(left, l...), err
		}
	}
	return left, lastErr
}

// confirmPoison dead-letters an event that Flowglad answers with a 500 alone, again and
// again, while it takes another event (the probe) each time just before.
func (r *Recorder) confirmPoison(ctx context.Context, it item, probe *item, cause error) ([]item, error) {
	if probe == nil {
		return []item{it}, cause
	}
	for range poisonStrikes - 1 {
		if err := r.post(ctx, []item{*probe}); err != nil {
			return []item{it}, err
		}
		err := r.post(ctx, []item{it})
		switch {
		case err == nil:
			r.landed(ctx, []item{it})
			return nil, nil
		case refusal(err):
			r.deadLetter(ctx, []Claimed{it.c}, err)
			return nil, nil
		case !poisonable(err):
			return []item{it}, err
		}
		cause = err
	}
	r.deadLetter(ctx, []Claimed{it.c}, cause)
	return nil, nil
}

// poisonable reports whether err is a 500 answer: Flowglad's own failure, which one event
// of a batch can cause (usage for an archived customer). A 502, 503 or 504 comes from a
// Flowglad, or a gateway before it, that cannot answer now, whatever the events: they are
// retried, never taken as a strike against an event (a flapping gateway would otherwise
// have an event dead-lettered).
func poisonable(err error) bool {
	var apiErr *flowgladapi.Error
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusInternalServerError
}

// refusal reports whether Flowglad refused the events themselves (an unknown meter or
// subscription, an archived customer, a bad amount): a 4xx, except 408 and 429 (try
// later) and 401 and 403, which refuse the API key, not the events (a 401 to a key that
// has worked is Flowglad's answer to rate limiting; one to a key that never worked is a
// configuration to fix, and dead-lettering every event would lose the usage).
func refusal(err error) bool {
	var apiErr *flowgladapi.Error
	if !errors.As(err, &apiErr) {
		return false
	}
	switch s := apiErr.StatusCode; {
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests,
		s == http.StatusUnauthorized, s == http.StatusForbidden:
		return false
	default:
		return s >= 400 && s < 500
	}
}

// landed removes events Flowglad has from the queue, then, for each of their customers,
// takes the events out of the pending usage and makes the customer's billing read again,
// never the other way round: a balance read between the two counts the usage twice, never
// zero times. Where the customer's billing is in the Service's in-process cache, it is read
// again in the background while the cached billing, less the pending usage, goes on
// answering (flowglad.Service.RefreshBillingAfterUsage), so no gate waits for the read;
// otherwise it is forgotten at once.
func (r *Recorder) landed(ctx context.Context, items []item) {
	claimed := make([]Claimed, len(items))
	byCustomer := map[string][]string{}
	for i, it := range items {
		claimed[i] = it.c
		ext := it.c.Event.CustomerID
		byCustomer[ext] = append(byCustomer[ext], r.pendingID(it.c.Event))
	}
	r.ack(ctx, claimed)
	r.recorded.Add(int64(len(items)))
	probe := items[0]
	r.probe = &probe
	remover, _ := r.ledger.(pendingRemoverAt)
	for ext, txs := range byCustomer {
		if remover != nil && r.startRefresh() {
			// Not the drain's context, which ends with the drain: the recorder's, with
			// the drain's values.
			rctx, cancel := mergeDone(context.WithoutCancel(ctx), r.refreshCtx)
			done := make(chan struct{})
			r.refreshMu.Lock()
			r.refreshDone[done] = struct{}{}
			r.refreshMu.Unlock()
			go func() {
				defer func() {
					cancel()
					r.refreshMu.Lock()
					delete(r.refreshDone, done)
					r.refreshMu.Unlock()
					close(done)
					<-r.refreshSlots
				}()
				r.refresh(rctx, remover, ext, txs)
			}()
			continue
		}
		r.forgetLanded(ctx, ext, txs)
	}
}

// maxRefreshes bounds the billing reads a recorder runs at once after batches landed;
// the customers beyond have their billing forgotten instead.
const maxRefreshes = 8

// waitRefreshes waits for the refreshes running now (not those started later, which a
// busy recorder never runs out of), or until ctx is done.
func (r *Recorder) waitRefreshes(ctx context.Context) error {
	r.refreshMu.Lock()
	running := make([]chan struct{}, 0, len(r.refreshDone))
	for done := range r.refreshDone {
		running = append(running, done)
	}
	r.refreshMu.Unlock()
	for _, done := range running {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// startRefresh takes a refresh slot if one is free.
func (r *Recorder) startRefresh() bool {
	select {
	case r.refreshSlots <- struct{}{}:
		return true
	default:
		return false
	}
}

// refresh takes the customer's landed events out of the pending usage once its billing is
// read again (see landed); when the billing cannot be refreshed, it is forgotten instead.
func (r *Recorder) refresh(ctx context.Context, remover pendingRemoverAt, ext string, txs []string) {
	bg := context.WithoutCancel(ctx)
	var gen uint64
	begin := func(context.Context) bool {
		// After any earlier read of the customer's billing (an earlier landing's): the
		// generation this read must be the only change since.
		view, err := r.ledger.View(bg, ext)
		gen = view.Generation
		return err == nil
	}
	if r.svc.RefreshBillingAfterUsage(ctx, ext, begin, func(context.Context) (uint64, bool) {
		next, wasAt, err := remover.RemovePendingAt(bg, ext, txs, gen)
		if err != nil {
			r.logger.WarnContext(ctx, "usage: forgetting pending usage failed", "error", err)
			return 0, false
		}
		return next, wasAt
	}) {
		return
	}
	r.forgetLanded(ctx, ext, txs)
}

// forgetLanded forgets the customer's billing, then takes its landed events out of the
// pending usage.
func (r *Recorder) forgetLanded(ctx context.Context, ext string, txs []string) {
	bg := context.WithoutCancel(ctx)
	_ = r.svc.InvalidateBilling(bg, ext)
	if err := r.ledger.RemovePending(bg, ext, txs); err != nil {
		r.logger.WarnContext(ctx, "usage: forgetting pending usage failed", "error", err)
	}
}

// deadLetter removes events Flowglad refused from the queue and reports them.
func (r *Recorder) deadLetter(ctx context.Context, claimed []Claimed, reason error) {
	r.ack(ctx, claimed)
	r.deadLettered.Add(int64(len(claimed)))
	bg := context.WithoutCancel(ctx)
	for _, c := range claimed {
		e := c.Event
		_ = r.ledger.RemovePending(bg, e.CustomerID, []string{r.pendingID(e)})
		if r.onDead != nil {
			r.onDead(bg, DeadLetter{Event: e, Err: reason})
			continue
		}
		r.logger.ErrorContext(ctx, "usage: Flowglad refused a usage event; it is dropped",
			"transactionId", e.TransactionID, "error", reason)
	}
}

// ack removes events from the queue. It cannot be retried usefully here: a failed Ack
// leaves the events to be sent again, which Flowglad skips as duplicates.
func (r *Recorder) ack(ctx context.Context, claimed []Claimed) {
	if err := r.q.Ack(context.WithoutCancel(ctx), ids(claimed)); err != nil {
		r.logger.WarnContext(ctx, "usage: acknowledging sent events failed; they will be sent again", "error", err)
	}
}

// subKey is a customer and the meter (meterKey) an event uses.
type subKey struct{ customer, meter string }

func meterKey(e Event) string {
	switch {
	case e.UsageMeterSlug != "":
		return "slug:" + e.UsageMeterSlug
	case e.UsageMeterID != "":
		return "id:" + e.UsageMeterID
	}
	return ""
}

// resolve chooses the subscription of every event that names none, reading each such
// customer's billing once. dead holds the customers whose events cannot be sent (no current
// subscription, a customer that cannot be read); later those whose billing read failed for
// now (their events wait, the others are sent); err is a failure of every read to retry
// later (two in a row: Flowglad is down, the batch waits whole).
func (r *Recorder) resolve(ctx context.Context, claimed []Claimed) (subs map[subKey]string, dead, later map[string]error, err error) {
	subs = map[subKey]string{}
	dead = map[string]error{}
	later = map[string]error{}
	read := map[string][]flowgladapi.Subscription{}
	failed := 0 // reads failed in a row
	for _, c := range claimed {
		e := c.Event
		if e.SubscriptionID != "" {
			continue
		}
		if _, ok := dead[e.CustomerID]; ok {
			continue
		}
		if _, ok := later[e.CustomerID]; ok {
			continue
		}
		key := subKey{e.CustomerID, meterKey(e)}
		if _, ok := subs[key]; ok {
			continue
		}
		list, ok := read[e.CustomerID]
		if !ok {
			list, ok = r.knownSubs(e.CustomerID)
		}
		if !ok {
			var err error
			list, err = r.svc.ReportedSubscriptions(ctx, flowglad.Customer{ExternalID: e.CustomerID})
			if err != nil {
				if permanent(err) {
					dead[e.CustomerID] = err
					continue
				}
				err = fmt.Errorf("usage: reading billing: %w", err)
				if failed++; failed >= 2 || ctx.Err() != nil {
					return nil, nil, nil, err
				}
				later[e.CustomerID] = err
				continue
			}
			failed = 0
			r.keepSubs(e.CustomerID, list)
		}
		read[e.CustomerID] = list
		sub := subscriptionFor(list, e)
		if sub == "" {
			dead[e.CustomerID] = &flowglad.Error{Status: http.StatusBadRequest, Code: flowglad.CodeNoActiveSubscription,
				Message: "the customer has no current subscription to record usage on"}
			continue
		}
		subs[key] = sub
	}
	return subs, dead, later, nil
}

// maxKeptSubs bounds the customers whose subscriptions the flusher keeps.
const maxKeptSubs = 10_000

// knownSubs returns the subscriptions read for the customer within WithSubscriptionTTL.
// Only the flusher's send (under sendMu) uses the map.
func (r *Recorder) knownSubs(customer string) ([]flowgladapi.Subscription, bool) {
	k, ok := r.subs[customer]
	if !ok || r.now().Sub(k.at) >= r.subsTTL {
		return nil, false
	}
	return k.list, true
}

func (r *Recorder) keepSubs(customer string, list []flowgladapi.Subscription) {
	if r.subsTTL <= 0 {
		return
	}
	now := r.now()
	if len(r.subs) >= maxKeptSubs {
		for c, k := range r.subs {
			if now.Sub(k.at) >= r.subsTTL {
				delete(r.subs, c)
			}
		}
		if len(r.subs) >= maxKeptSubs {
			clear(r.subs)
		}
	}
	r.subs[customer] = keptSubs{list: list, at: now}
}

// permanent reports whether a failure to read a customer's billing will not pass by
// itself: the events are dead-lettered rather than retried for ever. A customer Flowglad
// cannot be given (no valid email) is such a failure; the application's LookupCustomer
// failing is not.
func permanent(err error) bool {
	var fe *flowglad.Error
	if errors.As(err, &fe) {
		return fe.Status < 500 || fe.Code == flowglad.CodeInvalidCustomer && !errors.Is(err, flowglad.ErrLookupFailed)
	}
	return refusal(err)
}

// subscriptionFor is the subscription an event without one is charged to: the first
// current subscription that has its meter, else the first current one; "" when there is
// none. An event that names a price goes to the first current subscription (the price's
// meter is in the pricing model, which this read does not decode).
func subscriptionFor(subs []flowgladapi.Subscription, e Event) string {
	if len(subs) == 0 {
		return ""
	}
	if e.UsageMeterSlug != "" {
		// The rule of the gates and the meter (Billing.UsageSubscription).
		if sub := (&flowgladapi.Billing{CurrentSubscriptions: subs}).UsageSubscription(e.UsageMeterSlug); sub != nil {
			return sub.ID
		}
		return subs[0].ID
	}
	for i := range subs {
		for _, b := range subs[i].UsageMeterBalances {
			if e.UsageMeterID != "" && b.ID == e.UsageMeterID {
				return subs[i].ID
			}
		}
	}
	return subs[0].ID
}
