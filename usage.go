package flowglad

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// maxBulkUsageEvents bounds one BulkCreateUsageEvents call.
const maxBulkUsageEvents = 1000

// UsageEventParams record usage for the customer: usage-events/create.
type UsageEventParams struct {
	// Exactly one of UsageMeterSlug, UsageMeterID, PriceSlug and PriceID says what was
	// used.
	UsageMeterSlug, UsageMeterID, PriceSlug, PriceID string
	// Amount defaults to 1.
	Amount int64
	// TransactionID makes the event idempotent: Flowglad records one event per id, so a
	// retried job (or a retried request) cannot count twice. Derive it from the work (a job
	// id, a request id you stored) to make retries safe end to end. Empty means a new
	// random id, fixed before the first attempt so the library's own retries cannot count
	// twice. At most 255 characters.
	//
	// An id is unique per customer and per source. From Go code (the Service, the
	// middleware, the usage recorder) Flowglad stores ServerTransactionID(customer, id):
	// the same id given for two customers records two events, and no browser can send an
	// id that collides with it. From a browser (the route's usage-events/create) the id is
	// sent as the browser gave it, unique across the browsers' ids of the whole
	// organization; one starting with "fgs:", the server's reserved form, is refused.
	TransactionID string
	// SubscriptionID must be one of the customer's current subscriptions (403 otherwise);
	// empty means the customer's current subscription (400 no_active_subscription when
	// there is none).
	SubscriptionID string
	// Properties are the event's properties (for count_distinct_properties meters).
	Properties map[string]any
	// UsageDate is when the usage happened; zero means now.
	UsageDate time.Time
}

func (p UsageEventParams) check(is *issueList) { p.checkAt(is, "") }

func (p UsageEventParams) checkAt(is *issueList, at string) {
	is.exactlyOne(at, []string{"priceId", "priceSlug", "usageMeterId", "usageMeterSlug"},
		p.PriceID != "", p.PriceSlug != "", p.UsageMeterID != "", p.UsageMeterSlug != "")
	is.id(at+"priceId", p.PriceID, false)
	is.id(at+"priceSlug", p.PriceSlug, false)
	is.id(at+"usageMeterId", p.UsageMeterID, false)
	is.id(at+"usageMeterSlug", p.UsageMeterSlug, false)
	is.count(at+"amount", p.Amount, maxSafeInteger)
	is.ownedID(at+"subscriptionId", p.SubscriptionID, false)
	is.name(at+"transactionId", p.TransactionID, false)
	if !p.UsageDate.IsZero() && p.UsageDate.Before(time.UnixMilli(0)) {
		is.rule(at+"usageDate", "must be a time in epoch milliseconds")
	}
}

// decodeUsageEvent decodes and validates a usage-events/create body.
func decodeUsageEvent(body []byte) (UsageEventParams, error) {
	var p UsageEventParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	f.oneString([]string{"priceId", "priceSlug", "usageMeterId", "usageMeterSlug"},
		&p.PriceID, &p.PriceSlug, &p.UsageMeterID, &p.UsageMeterSlug)
	if a, ok := f.posInt("amount"); ok {
		p.Amount = a
	}
	if f.has("subscriptionId") {
		p.SubscriptionID = f.reqStr("subscriptionId")
	}
	if f.has("transactionId") {
		// An empty id is reported whatever else is wrong with the body (every issue at once).
		switch tx, ok := f.maxLenStr("transactionId", maxIDLength); {
		case ok && tx == "":
			f.add("transactionId", "must not be empty")
		case ok && isServerTxID(tx):
			// The server's ids are out of a browser's reach: one sent here could claim an
			// event a server job records later, which Flowglad would then skip.
			f.add("transactionId", `must not start with "`+serverTxPrefix+`", reserved for ids chosen by the server`)
		default:
			p.TransactionID = tx
		}
	}
	p.Properties, _ = f.object("properties")
	if d, ok := f.integer("usageDate", 0, "must be a time in epoch milliseconds"); ok {
		p.UsageDate = time.UnixMilli(d)
	}
	return p, f.checked(p)
}

// CreateUsageEvent records usage for the customer. It reads billing (to default and check
// the subscription), then calls POST /api/v1/usage-events, which is retried safely on
// failures because the transaction id is fixed first. Flowglad stores the id as
// ServerTransactionID(c.ExternalID, p.TransactionID) (the event returned shows it). When
// every attempt fails, the error is a *UsageEventError that carries p's transaction id
// (the generated one when p had none): call again with it and Flowglad counts the event
// once, whether or not an attempt had reached it.
func (s *Service) CreateUsageEvent(ctx context.Context, c Customer, p UsageEventParams) (*flowgladapi.UsageEvent, error) {
	return s.createUsageEvent(ctx, c, p, false)
}

// createUsageEventFromBrowser is the route's usage-events/create: the browser's
// transaction id is sent as it is (the React SDK and the contract rely on it), in the key
// space of browsers' ids, apart from the server's.
func (s *Service) createUsageEventFromBrowser(ctx context.Context, c Customer, p UsageEventParams) (*flowgladapi.UsageEvent, error) {
	return s.createUsageEvent(ctx, c, p, true)
}

func (s *Service) createUsageEvent(ctx context.Context, c Customer, p UsageEventParams, fromBrowser bool) (*flowgladapi.UsageEvent, error) {
	if err := validateInput(c, p); err != nil {
		return nil, err
	}
	if p.TransactionID == "" {
		// Fixed before the first attempt, and returned in a *UsageEventError, so a
		// failed event can be recorded again under the same id.
		p.TransactionID = s.newTxID()
	}
	ev, err := withFreshBilling(ctx, s, c, func(b *billingIndex) (flowgladapi.UsageEventParams, error) {
		return s.usageEvent(b, c, p, fromBrowser)
	})
	if err != nil {
		return nil, err
	}
	body, err := s.client.CreateUsageEvent(ctx, ev)
	s.wrote(ctx, c.ExternalID, err)
	if err == nil {
		var out *flowgladapi.UsageEvent
		if out, err = flowgladapi.DecodeUsageEvent(body); err == nil {
			return out, nil
		}
	}
	return nil, usageEventError(p.TransactionID, err)
}

// usageEventError wraps the failure of a usage event in a *UsageEventError when its outcome
// is unknown; a refusal by Flowglad recorded nothing and is returned as it is.
func usageEventError(txID string, err error) error {
	if refused(err) {
		return err
	}
	return &UsageEventError{TransactionID: txID, Err: err}
}

// usageEvent turns p into the event sent: the subscription checked against billing (or
// defaulted), the amount defaulted, the transaction id fixed (and, from server code, put in
// the server's key space for the customer).
func (s *Service) usageEvent(b *billingIndex, c Customer, p UsageEventParams, fromBrowser bool) (flowgladapi.UsageEventParams, error) {
	subID, err := currentSubscription(b, p.SubscriptionID)
	if err != nil {
		return flowgladapi.UsageEventParams{}, err
	}
	ev := flowgladapi.UsageEventParams{
		SubscriptionID: subID,
		Amount:         max(p.Amount, 1),
		TransactionID:  p.TransactionID,
		Properties:     p.Properties,
		PriceID:        p.PriceID,
		PriceSlug:      p.PriceSlug,
		UsageMeterID:   p.UsageMeterID,
		UsageMeterSlug: p.UsageMeterSlug,
	}
	if !fromBrowser {
		ev.TransactionID = ServerTransactionID(c.ExternalID, ev.TransactionID)
	}
	if !p.UsageDate.IsZero() {
		ms := p.UsageDate.UnixMilli()
		ev.UsageDate = &ms
	}
	return ev, nil
}

// UsageEventError is the failure of a usage event whose outcome is unknown: every attempt
// failed (an outage, a timeout, an unreadable answer), but one may have reached Flowglad.
// Retrying with TransactionID counts the event once either way. It unwraps to the last
// attempt's error. The route answers it with json.transactionId beside the usual error.
type UsageEventError struct {
	// TransactionID is the event's transaction id as the caller gave it, or as it was
	// generated (several, comma-separated, for a bulk call): give it again as
	// UsageEventParams.TransactionID for the same customer and Flowglad counts the event
	// once. (For a Go caller, Flowglad stores ServerTransactionID of it.)
	TransactionID string
	// Err is why the last attempt failed.
	Err error
}

// Error implements error.
func (e *UsageEventError) Error() string {
	return "flowglad: recording usage (transactionId " + e.TransactionID + "): " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *UsageEventError) Unwrap() error { return e.Err }

// BulkCreateUsageEvents records several usage events for the customer in one call (at
// most 1000): each subscription id must be one of the customer's current subscriptions,
// and each event is defaulted as in CreateUsageEvent. Issues name the event
// (usageEvents[2].amount). It reads billing, then calls POST /api/v1/usage-events/bulk,
// retried safely because every transaction id is fixed first. Each is stored as
// ServerTransactionID(c.ExternalID, id), as in CreateUsageEvent.
func (s *Service) BulkCreateUsageEvents(ctx context.Context, c Customer, events []UsageEventParams) ([]flowgladapi.UsageEvent, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	is := &issueList{}
	switch {
	case len(events) == 0:
		is.rule("usageEvents", "must not be empty")
	case len(events) > maxBulkUsageEvents:
		is.rule("usageEvents", "must have at most "+strconv.Itoa(maxBulkUsageEvents)+" events")
	}
	for i, p := range events {
		p.checkAt(is, "usageEvents["+strconv.Itoa(i)+"].")
	}
	if err := is.err(); err != nil {
		return nil, err
	}
	events = slices.Clone(events)
	txIDs := ""
	for i := range events {
		if events[i].TransactionID == "" {
			events[i].TransactionID = s.newTxID()
		}
		if i > 0 {
			txIDs += ","
		}
		txIDs += events[i].TransactionID
	}
	sent, err := withFreshBilling(ctx, s, c, func(b *billingIndex) ([]flowgladapi.UsageEventParams, error) {
		sent := make([]flowgladapi.UsageEventParams, len(events))
		for i, p := range events {
			var err error
			if sent[i], err = s.usageEvent(b, c, p, false); err != nil {
				return nil, err
			}
		}
		return sent, nil
	})
	if err != nil {
		return nil, err
	}
	body, err := s.client.BulkCreateUsageEvents(ctx, sent)
	s.wrote(ctx, c.ExternalID, err)
	if err == nil {
		var out []flowgladapi.UsageEvent
		if out, err = flowgladapi.DecodeUsageEvents(body); err == nil {
			return out, nil
		}
	}
	return nil, usageEventError(txIDs, err)
}

// UsageMeterBalancesParams filter UsageMeterBalances.
type UsageMeterBalancesParams struct {
	// SubscriptionID keeps the balances of one of the customer's subscriptions, whatever
	// its status; another customer's id (or an unknown one) is a 403.
	SubscriptionID string
}

func (p UsageMeterBalancesParams) check(is *issueList) {
	is.ownedID("subscriptionId", p.SubscriptionID, false)
}

// decodeUsageMeterBalances decodes a strict {subscriptionId?} body, the input of
// usage-meters/balances.
func decodeUsageMeterBalances(body []byte) (UsageMeterBalancesParams, error) {
	id, err := decodeSubscriptionFilter(body)
	return UsageMeterBalancesParams{SubscriptionID: id}, err
}

// decodeSubscriptionFilter decodes a strict {subscriptionId?} body.
func decodeSubscriptionFilter(body []byte) (string, error) {
	f, err := parseBody(body)
	if err != nil {
		return "", err
	}
	f.strict("subscriptionId")
	var id string
	if f.has("subscriptionId") {
		id = f.reqStr("subscriptionId")
	}
	return id, f.err()
}

// UsageMeterBalances returns the customer's usage meter balances: those of its current
// subscriptions, or of the one p names. AvailableBalance has usage recorded and not yet at
// Flowglad subtracted, as Billing's (see AddPendingUsage), on the subscription it will be
// charged to (for usage recorded without one while several subscriptions have its meter, or
// with p naming a subscription: found in the customer's billing, the request's or the
// cache's read, else one more read); Raw is as Flowglad sent it. It calls
// GET /api/v1/customers/{externalId}/usage-balances, once. Without a subscription id, a
// customer Flowglad does not know yet is created first (then the same GET again). With
// one, Flowglad answers 404 NOT_FOUND when the subscription is not the customer's, and
// when it does not know the customer (who then has no subscription): both are the 403 of
// an id that is not the customer's, and nothing is created.
func (s *Service) UsageMeterBalances(ctx context.Context, c Customer, p UsageMeterBalancesParams) ([]flowgladapi.UsageMeterBalance, error) {
	if err := validateInput(c, p); err != nil {
		return nil, err
	}
	read := func() ([]byte, error) {
		return s.client.GetUsageBalances(ctx, c.ExternalID, p.SubscriptionID)
	}
	var body []byte
	var err error
	if p.SubscriptionID == "" {
		// On the customer's own path, with nothing the user wrote: 404 NOT_FOUND means the
		// customer.
		body, err = withCustomer(ctx, s, c, true, read)
	} else if body, err = read(); isCustomerNotFound(err) {
		return nil, errForbidden("subscription " + p.SubscriptionID)
	}
	if err != nil {
		return nil, err
	}
	balances, err := flowgladapi.DecodeUsageMeterBalances(body)
	if err != nil || s.pending.Load() == nil {
		return balances, err
	}
	return s.balancesWithPending(ctx, c, balances, p.SubscriptionID != ""), nil
}
