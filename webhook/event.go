package webhook

import (
	"encoding/json"
	"errors"
	"time"
)

// EventType is a Flowglad webhook event type. Flowglad's body does not say
// which type it is: the types an endpoint receives are chosen when the
// endpoint is registered (its filterTypes), so the receiving side knows the
// type only from the endpoint it mounted (see [WithEventType]).
type EventType string

// The event types a Flowglad webhook endpoint can subscribe to.
const (
	CustomerCreated      EventType = "customer.created"
	CustomerUpdated      EventType = "customer.updated"
	PurchaseCompleted    EventType = "purchase.completed"
	PaymentFailed        EventType = "payment.failed"
	PaymentSucceeded     EventType = "payment.succeeded"
	SubscriptionCreated  EventType = "subscription.created"
	SubscriptionUpdated  EventType = "subscription.updated"
	SubscriptionCanceled EventType = "subscription.canceled"
	// SyncEventsAvailable says new events wait in the organization's sync
	// stream; its body names the stream (object "sync_stream") and carries
	// scopeId and latestSequence, which are left in [Event.Raw].
	SyncEventsAvailable EventType = "sync.events_available"
)

// Object is the kind of record an event is about: the body's "object".
type Object string

// The objects Flowglad's events name. Other values (Flowglad's list of
// nouns is longer) are passed through as they come.
const (
	ObjectCustomer     Object = "customer"
	ObjectPurchase     Object = "purchase"
	ObjectPayment      Object = "payment"
	ObjectSubscription Object = "subscription"
	ObjectSyncStream   Object = "sync_stream"
)

// Event is one verified delivery. Flowglad's body is thin: it names the
// record that changed and its customer, nothing else; read the current
// state from Flowglad (billing, the subscription) when you need it.
type Event struct {
	// ID is the delivery's svix-id: Svix's message id, the same on every
	// retry of the message, and so the key for handling it once.
	ID string
	// Type is the event type set with [WithEventType], or "" when the
	// handler was not told.
	Type EventType
	// Object and ObjectID name the record the event is about: the
	// customer, purchase, payment or subscription id (Flowglad's own id).
	Object   Object
	ObjectID string
	// CustomerID and CustomerExternalID identify the record's customer:
	// Flowglad's id, and the id your application gave it. Both are empty
	// when the body names no customer (sync events).
	CustomerID         string
	CustomerExternalID string
	// PricingModelID is the pricing model the event belongs to.
	PricingModelID string
	// Timestamp is when this delivery attempt was signed (svix-timestamp).
	Timestamp time.Time
	// Raw is the body exactly as received, for fields this type does not
	// decode.
	Raw json.RawMessage
}

// errMalformed is a verified body that is not an event.
var errMalformed = errors.New("webhook: malformed event body")

// eventBody is the body Flowglad sends (its eventPayloadSchema plus the
// pricingModelId added when the message is handed to Svix).
type eventBody struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Customer *struct {
		ID         string `json:"id"`
		ExternalID string `json:"externalId"`
	} `json:"customer"`
	PricingModelID string `json:"pricingModelId"`
}

// decodeEvent builds the Event of a verified delivery. The body must be a
// JSON object with a non-empty id and object, as Flowglad's schema requires.
func decodeEvent(s signed, typ EventType, body []byte) (Event, error) {
	var b eventBody
	if err := json.Unmarshal(body, &b); err != nil {
		return Event{}, errMalformed
	}
	if b.ID == "" || b.Object == "" {
		return Event{}, errMalformed
	}
	e := Event{
		ID:             s.id,
		Type:           typ,
		Object:         Object(b.Object),
		ObjectID:       b.ID,
		PricingModelID: b.PricingModelID,
		Timestamp:      s.ts,
		Raw:            json.RawMessage(body),
	}
	if b.Customer != nil {
		e.CustomerID, e.CustomerExternalID = b.Customer.ID, b.Customer.ExternalID
	}
	return e, nil
}
