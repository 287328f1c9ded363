package usage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrQueueFull is returned by Queue.Put (and so by Recorder.Record) when the queue cannot
// take the events: nothing was added, and the caller decides what to do (answer 503, record
// synchronously, drop with a log line). A queue never drops an event silently.
var ErrQueueFull = errors.New("usage: queue is full")

// ErrClosed is returned by a Queue's methods after Close, and by Recorder.Record after the
// recorder was closed.
var ErrClosed = errors.New("usage: closed")

// Event is one usage event waiting in a Queue: everything the flusher needs to send it,
// fixed when it was recorded, so that sending it again (after a crash, an outage, on another
// instance) sends the same event.
//
// It holds the customer's external id only: no name or email is ever written to a queue,
// which may be a file or a shared Redis. Events are recorded for customers Flowglad already
// knows (the request that used the meter read their billing).
type Event struct {
	// CustomerID is the customer's external id (flowglad.Customer.ExternalID).
	CustomerID string `json:"customerId"`
	// UsageMeterSlug, UsageMeterID, PriceSlug and PriceID: exactly one says what was used.
	UsageMeterSlug string `json:"usageMeterSlug,omitempty"`
	UsageMeterID   string `json:"usageMeterId,omitempty"`
	PriceSlug      string `json:"priceSlug,omitempty"`
	PriceID        string `json:"priceId,omitempty"`
	// SubscriptionID is the subscription to charge; empty means it is chosen when the batch
	// is sent, from the customer's billing.
	SubscriptionID string `json:"subscriptionId,omitempty"`
	// Amount is positive.
	Amount int64 `json:"amount"`
	// TransactionID is the id the caller gave or the recorder generated, fixed before Record
	// returned. The id Flowglad stores is derived from it and the customer, so the event
	// counts once however often it is sent.
	TransactionID string `json:"transactionId"`
	// Properties feed count_distinct_properties meters.
	Properties map[string]any `json:"properties,omitempty"`
	// UsageDate is when the work happened, in epoch milliseconds.
	UsageDate int64 `json:"usageDate"`
	// RecordedAt is when Record accepted the event, in epoch milliseconds: Stats.Oldest is
	// measured from it.
	RecordedAt int64 `json:"recordedAt"`
}

// eventVersion is the first byte of an encoded Event, so that a queue written by this
// version can be read by later ones.
const eventVersion = '1'

// EncodeEvent returns the bytes a Queue stores for e: a version byte and JSON. Queues that
// store bytes (on disk, in Redis) use it and DecodeEvent, so that every queue keeps events
// in one format.
func EncodeEvent(e Event) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("usage: encoding an event: %w", err)
	}
	return append([]byte{eventVersion}, b...), nil
}

// DecodeEvent reads what EncodeEvent wrote.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	if len(b) == 0 || b[0] != eventVersion {
		return e, errors.New("usage: decoding an event: unknown format")
	}
	if err := json.Unmarshal(b[1:], &e); err != nil {
		return e, fmt.Errorf("usage: decoding an event: %w", err)
	}
	return e, nil
}

// Claimed is an event a Queue handed out by Claim, with the id that Ack and Release take.
type Claimed struct {
	// ID identifies the event in its queue (a key, a stream entry id): opaque to callers.
	ID    string
	Event Event
}

// QueueStats is what a Queue holds.
type QueueStats struct {
	// Queued counts the events in the queue, claimed ones included.
	Queued int
	// Claimed counts the events handed out by Claim and not yet acknowledged or released
	// (by this process, or by any consumer of a shared queue).
	Claimed int
	// OldestRecordedAt is the RecordedAt of the oldest event in the queue; zero when empty.
	OldestRecordedAt time.Time
}

// A Queue holds usage events between Recorder.Record and Flowglad. An event leaves it only
// by Ack, which the recorder calls once Flowglad has the event (or it was dead-lettered):
// a crash, a restart or an outage never loses an event the queue's durability covers, and
// an event sent twice counts once at Flowglad because its transaction id is fixed.
//
// Implementations: NewMemoryQueue (in-process, lost on a crash), usage/boltqueue (a file,
// survives kill -9), usage/redisqueue (Redis Streams, shared by several instances). Every
// implementation passes the conformance suite in usage/queuetest. Methods are safe for
// concurrent use.
type Queue interface {
	// Put adds events, all or none, and returns once they are stored as durably as the
	// queue promises. ErrQueueFull when they do not fit: nothing was added.
	Put(ctx context.Context, events []Event) error
	// Claim hands out up to max events that nobody holds, oldest first, without waiting:
	// none when there are none, or when max <= 0. They stay in the queue, hidden from other Claims, until
	// they are acknowledged or released, or until the holder is gone (a crashed process:
	// how long that takes is the queue's visibility timeout).
	Claim(ctx context.Context, max int) ([]Claimed, error)
	// Ack removes claimed events: Flowglad has them, or they were dead-lettered. Unknown
	// ids are ignored, so an Ack may be repeated.
	Ack(ctx context.Context, ids []string) error
	// Release gives claimed events back without removing them, to be claimed again (a
	// batch that will be retried later, a recorder that stops before sending).
	Release(ctx context.Context, ids []string) error
	// Stats reports what the queue holds.
	Stats(ctx context.Context) (QueueStats, error)
	// Close releases the queue's resources; events already Put stay where the queue keeps
	// them. Methods then return ErrClosed.
	Close() error
}

// A DurableQueue is a Queue that keeps its events across a restart of the process (a
// file, as usage/boltqueue): a Recorder started on one notes the events it already holds as
// pending in its ledger, so that balances subtract them from the start, not only once they
// are sent. A queue whose ledger is shared (SharedQueue) needs no such walk: its pending
// usage outlives the process already.
type DurableQueue interface {
	Queue
	// Each calls fn with every event the queue holds, claimed or not; an event that does
	// not decode is skipped. An error from fn ends the walk and is returned.
	Each(ctx context.Context, fn func(Event) error) error
}
