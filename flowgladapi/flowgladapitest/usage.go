package flowgladapitest

import (
	"encoding/json"
	"net/http"
)

// POST /api/v1/usage-events
func (f *Fake) createUsageEvent(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		body, err := bodyObject(r, "usageEvent")
		if err != nil {
			return nil, err
		}
		in, err := readUsageInput(body)
		if err != nil {
			return nil, err
		}
		ev, err := f.usageEventLocked(in, now)
		if err != nil {
			return nil, err
		}
		return map[string]any{"usageEvent": f.usageEventJSON(ev)}, nil
	})
}

// POST /api/v1/usage-events/bulk: one transaction, as on Flowglad (see the
// package doc's "Bulk usage events"). The checks run in Flowglad's order, each
// over the whole batch before the next, so that the batch's first error is the
// one Flowglad would report.
func (f *Fake) bulkCreateUsageEvents(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		body, err := parseBody(r, false)
		if err != nil {
			return nil, err
		}
		arr, err := body.array("usageEvents")
		if err != nil {
			return nil, err
		}
		ins := make([]usageInput, 0, len(arr))
		for i, e := range arr {
			item, err := body.element("usageEvents", i, e)
			if err != nil {
				return nil, err
			}
			in, err := readUsageInput(item)
			if err != nil {
				return nil, err
			}
			ins = append(ins, in)
		}
		evs, err := f.bulkUsageEventsLocked(ins, now)
		if err != nil {
			return nil, err
		}
		out := []usageEventJSON{}
		for _, ev := range evs {
			// Flowglad inserts with ON CONFLICT DO NOTHING and answers the rows it
			// inserted: a duplicate, of an earlier event or of one before it in the
			// batch, is left out of the answer and counts nothing.
			if f.eventByTransaction(ev.transactionID, ev.meter) != nil {
				continue
			}
			out = append(out, f.usageEventJSON(f.insertUsageLocked(ev)))
		}
		return map[string]any{"usageEvents": out}, nil
	})
}

// usageInput is one UsageEventInput whose shape has been checked (the
// request schema), before anything in it is looked up.
type usageInput struct {
	subID, txID string
	amount      int64
	usageDate   int64
	hasDate     bool
	props       map[string]any
	key, ref    string // the one of priceId, priceSlug, usageMeterId, usageMeterSlug given
}

// readUsageInput checks one UsageEventInput against the request schema.
func readUsageInput(in obj) (usageInput, *apiError) {
	var u usageInput
	var err *apiError
	if u.subID, _, err = in.str("subscriptionId", true); err != nil {
		return u, err
	}
	if u.amount, _, err = in.integer("amount", true, 1); err != nil {
		return u, err
	}
	if u.txID, _, err = in.str("transactionId", true); err != nil {
		return u, err
	}
	if u.usageDate, u.hasDate, err = in.integer("usageDate", false, 0); err != nil {
		return u, err
	}
	if u.props, err = in.record("properties"); err != nil {
		return u, err
	}
	u.key, u.ref, err = in.oneOf("priceId", "priceSlug", "usageMeterId", "usageMeterSlug")
	return u, err
}

// newUsageEvent is the event in describes on s, not yet resolved to a meter
// and price, nor recorded.
func newUsageEvent(in usageInput, s *subscription, now int64) *usageEvent {
	ev := &usageEvent{sub: s, amount: in.amount, transactionID: in.txID, properties: in.props, usageDate: now, createdAt: now}
	if in.hasDate {
		ev.usageDate = in.usageDate
	}
	if s.renews {
		ev.billingPeriodID = ptr(s.billingPeriodID)
	}
	return ev
}

// errArchivedCustomer is what Flowglad answers for usage on an archived
// customer's subscription: its domain error has no HTTP mapping, so tRPC
// sends it as a 500 with the error's own message.
func errArchivedCustomer() *apiError {
	return &apiError{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "Cannot create usage event for archived customer"}
}

// usageEventLocked resolves and records one event for POST /usage-events,
// or returns the event already recorded under its transactionId and meter.
func (f *Fake) usageEventLocked(in usageInput, now int64) (*usageEvent, *apiError) {
	s, err := f.subOr404(in.subID)
	if err != nil {
		return nil, err
	}
	ev := newUsageEvent(in, s, now)
	switch in.key {
	case "priceId", "priceSlug":
		p, err := f.resolvePriceRef(in.key, in.ref)
		if err != nil {
			return nil, err
		}
		if p.typ != PriceUsage {
			return nil, badRequest("Price %s is not a usage price", p.id)
		}
		ev.price, ev.meter = p, p.meter
	default:
		var m *usageMeter
		if in.key == "usageMeterId" {
			m = f.meterByID(in.ref)
		} else {
			m = f.meterBySlug(in.ref)
		}
		if m == nil {
			return nil, notFound("Usage meter %s not found", in.ref)
		}
		ev.meter, ev.price = m, defaultPrice(m)
	}
	if s.cust.archived {
		return nil, errArchivedCustomer()
	}
	// Flowglad looks for an event with this transactionId on this meter: the
	// same subscription's is answered again; another subscription's is a
	// conflict, not a silent success that would drop this one's usage.
	if e := f.eventByTransaction(in.txID, ev.meter); e != nil {
		if e.sub != s {
			return nil, conflict("UsageEvent conflict: A usage event already exists for transactionid %s, but does not belong to subscription %s. Please provide a unique transactionId to create a new usage event.", in.txID, s.id)
		}
		return e, nil
	}
	if ev.meter.aggregation == AggregationCountDistinctProperties {
		if ev.billingPeriodID == nil {
			return nil, badRequest("Invalid billingPeriod: Billing period is required for usage meter %q because it uses \"count_distinct_properties\" aggregation.", ev.meter.name)
		}
		if len(ev.properties) == 0 {
			return nil, badRequest("Invalid properties: Properties are required for usage meter %q because it uses \"count_distinct_properties\" aggregation. Each usage event must have a non-empty properties object to identify the distinct combination being counted.", ev.meter.name)
		}
	}
	return f.insertUsageLocked(ev), nil
}

// bulkUsageEventsLocked resolves every event of a bulk insert, or returns the
// first error Flowglad would give for the batch; nothing is recorded.
func (f *Fake) bulkUsageEventsLocked(ins []usageInput, now int64) ([]*usageEvent, *apiError) {
	evs := make([]*usageEvent, len(ins))
	for i, in := range ins {
		s := f.subByID(in.subID)
		if s == nil {
			return nil, notFound("Subscription not found: %s (usage event at index %d)", in.subID, i)
		}
		evs[i] = newUsageEvent(in, s, now)
	}
	// Any archived customer refuses the batch, without naming the event.
	for _, ev := range evs {
		if ev.sub.cust.archived {
			return nil, errArchivedCustomer()
		}
	}
	// Slugs first (prices, then meters), by the customer's pricing model:
	// a price slug names usage prices only.
	for i, in := range ins {
		if in.key == "priceSlug" {
			p := first(f.allPrices(), func(p *price) bool { return p.slug == in.ref && p.typ == PriceUsage })
			if p == nil {
				return nil, notFound("Price not found: with slug %s (not in customer's pricing model)", in.ref)
			}
			evs[i].price = p
		}
	}
	for i, in := range ins {
		if in.key == "usageMeterSlug" {
			m := f.meterBySlug(in.ref)
			if m == nil {
				return nil, notFound("UsageMeter not found: slug %q", in.ref)
			}
			evs[i].meter = m
		}
	}
	for i, in := range ins {
		if in.key == "priceId" {
			p := f.priceByID(in.ref)
			if p == nil {
				return nil, notFound("Price not found: %s (index %d)", in.ref, i)
			}
			if p.typ != PriceUsage {
				return nil, badRequest("Invalid priceId: Price %s at index %d is type %q which is not a usage price", p.id, i, p.typ)
			}
			evs[i].price = p
		}
	}
	for i, in := range ins {
		ev := evs[i]
		switch {
		case in.key == "usageMeterId":
			if ev.meter = f.meterByID(in.ref); ev.meter == nil {
				return nil, notFound("UsageMeter not found: %s (index %d)", in.ref, i)
			}
		case ev.price != nil:
			ev.meter = ev.price.meter
		}
		if ev.meter.aggregation == AggregationCountDistinctProperties {
			if ev.billingPeriodID == nil {
				return nil, badRequest("Invalid billingPeriod: required for usage meter %q at index %d (count_distinct_properties aggregation)", ev.meter.name, i)
			}
			if len(ev.properties) == 0 {
				return nil, badRequest("Invalid properties: required for usage meter %q at index %d (count_distinct_properties aggregation)", ev.meter.name, i)
			}
		}
	}
	for _, ev := range evs {
		if ev.price == nil {
			ev.price = defaultPrice(ev.meter)
		}
	}
	return evs, nil
}

// defaultPrice is the meter's default price, which an event naming the meter
// is recorded at.
func defaultPrice(m *usageMeter) *price {
	return first(m.prices, func(p *price) bool { return p.isDefault })
}

// eventByTransaction returns the event recorded with this transactionId on
// meter m: Flowglad's uniqueness is on the pair, so one transactionId may
// carry an event on each of several meters.
func (f *Fake) eventByTransaction(txID string, m *usageMeter) *usageEvent {
	return first(f.st.events, func(e *usageEvent) bool { return e.transactionID == txID && e.meter == m })
}

// insertUsageLocked records ev, which no event shares a transactionId and
// meter with. On a count_distinct_properties meter only the first event with
// its billing period and properties lowers the balance, as Flowglad's ledger
// skips the others.
func (f *Fake) insertUsageLocked(ev *usageEvent) *usageEvent {
	ev.id = f.newIDLocked("usage")
	ev.counted = true
	if ev.meter.aggregation == AggregationCountDistinctProperties {
		key := distinctKey(ev)
		ev.counted = first(f.st.events, func(e *usageEvent) bool { return e.meter == ev.meter && distinctKey(e) == key }) == nil
	}
	f.st.events = append(f.st.events, ev)
	return ev
}

// distinctKey identifies the combination a count_distinct_properties event
// counts: its billing period and its properties (encoding/json sorts map keys,
// so key order does not matter, as with Flowglad's stable stringify).
func distinctKey(e *usageEvent) string {
	b, _ := json.Marshal(e.properties)
	bp := ""
	if e.billingPeriodID != nil {
		bp = *e.billingPeriodID
	}
	return bp + ":" + string(b)
}
