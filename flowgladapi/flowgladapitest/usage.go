package flowgladapitest

import (
	"net/http"
)

// POST /api/v1/usage-events
func (f *Fake) createUsageEvent(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		in, err := bodyObject(r, "usageEvent")
		if err != nil {
			return nil, err
		}
		ev, err := f.usageEventInput(in, now)
		if err != nil {
			return nil, err
		}
		return map[string]any{"usageEvent": f.usageEventJSON(f.recordUsageLocked(ev))}, nil
	})
}

// POST /api/v1/usage-events/bulk: all events are validated before any is
// recorded.
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
		evs := make([]*usageEvent, 0, len(arr))
		for i, e := range arr {
			item, err := body.element("usageEvents", i, e)
			if err != nil {
				return nil, err
			}
			ev, err := f.usageEventInput(item, now)
			if err != nil {
				return nil, err
			}
			evs = append(evs, ev)
		}
		out := []usageEventJSON{}
		for _, ev := range evs {
			out = append(out, f.usageEventJSON(f.recordUsageLocked(ev)))
		}
		return map[string]any{"usageEvents": out}, nil
	})
}

// usageEventInput validates one UsageEventInput and resolves its
// subscription, meter and price. The event is not recorded.
func (f *Fake) usageEventInput(in obj, now int64) (*usageEvent, *apiError) {
	subID, _, err := in.str("subscriptionId", true)
	if err != nil {
		return nil, err
	}
	amount, _, err := in.integer("amount", true, 1)
	if err != nil {
		return nil, err
	}
	txID, _, err := in.str("transactionId", true)
	if err != nil {
		return nil, err
	}
	usageDate, hasDate, err := in.integer("usageDate", false, 0)
	if err != nil {
		return nil, err
	}
	props, err := in.record("properties")
	if err != nil {
		return nil, err
	}
	key, ref, err := in.oneOf("priceId", "priceSlug", "usageMeterId", "usageMeterSlug")
	if err != nil {
		return nil, err
	}
	s, err := f.subOr404(subID)
	if err != nil {
		return nil, err
	}
	if !isCurrent(s.status) {
		return nil, badRequest("Subscription %s is %s; usage can only be recorded on a current subscription", s.id, s.status)
	}
	ev := &usageEvent{sub: s, amount: amount, transactionID: txID, properties: props, usageDate: now, createdAt: now}
	if hasDate {
		ev.usageDate = usageDate
	}
	if s.renews {
		ev.billingPeriodID = ptr(s.billingPeriodID)
	}
	switch key {
	case "priceId", "priceSlug":
		p, err := f.resolvePriceRef(key, ref)
		if err != nil {
			return nil, err
		}
		if p.typ != PriceUsage {
			return nil, badRequest("Price %s is not a usage price", p.id)
		}
		ev.price, ev.meter = p, p.meter
	default:
		var m *usageMeter
		if key == "usageMeterId" {
			m = f.meterByID(ref)
		} else {
			m = f.meterBySlug(ref)
		}
		if m == nil {
			return nil, notFound("Usage meter %s not found", ref)
		}
		ev.meter = m
		for _, p := range m.prices {
			if p.isDefault {
				ev.price = p
			}
		}
	}
	if ev.meter.aggregation == AggregationCountDistinctProperties && len(props) == 0 {
		return nil, badRequest("properties are required for usage meter %s, which counts distinct properties", ev.meter.slug)
	}
	return ev, nil
}

// recordUsageLocked stores ev, unless an event with the same transactionId
// exists: then that one is returned and nothing is counted again.
func (f *Fake) recordUsageLocked(ev *usageEvent) *usageEvent {
	for _, e := range f.st.events {
		if e.transactionID == ev.transactionID {
			return e
		}
	}
	ev.id = f.newIDLocked("usage")
	f.st.events = append(f.st.events, ev)
	return ev
}
