package usage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/google/uuid"
)

// MaxBatchSize is the most events one POST /api/v1/usage-events/bulk may carry.
const MaxBatchSize = 1000

// Defaults of a Recorder's options.
const (
	DefaultBatchSize       = 500
	DefaultFlushInterval   = time.Second
	DefaultReservationTTL  = time.Minute
	DefaultSubscriptionTTL = 30 * time.Second
)

// Recorder records usage events off the request path. Record checks an event, fixes its
// transaction id and date, and puts it in a Queue; a background flusher sends queued events
// to Flowglad in batches (POST /api/v1/usage-events/bulk, events of many customers in one
// call), and removes an event from the queue only once Flowglad has it, or once Flowglad
// refused it (then it is dead-lettered: OnDeadLetter). Failures that are not the event's
// fault (an outage, a timeout, rate limiting, a refused API key) are retried with backoff
// and the same transaction ids, so every event counts exactly once at Flowglad.
//
// While an event waits, the Service's balances (Billing, CurrentSubscriptions,
// UsageMeterBalances, and so the middleware's gates) subtract it; see
// flowglad.PendingUsage. Events a durable queue kept from an earlier process are counted
// only once they are sent (the first batches after the start): the ledger starts empty.
//
// A Recorder is safe for concurrent use. Close it on shutdown: it drains the queue.
type Recorder struct {
	svc      *flowglad.Service
	q        Queue
	ownQueue bool
	ledger   Ledger
	logger   *slog.Logger

	batchSize  int
	interval   time.Duration
	holdTTL    time.Duration
	onDead     func(context.Context, DeadLetter)
	now        func() time.Time
	backoff    func(attempt int) time.Duration
	storedTxID func(externalID, txID string) string

	// mu: Record holds it shared while it queues an event, Close exclusively to stop
	// taking events, so no event is queued after Close has begun draining.
	mu     sync.RWMutex
	closed bool

	full       chan struct{}      // a batch is waiting
	flushReq   chan flushRequest  // Flush asks the flusher to drain
	stop       chan struct{}      // closed by Close: the flusher returns after its batch
	runCtx     context.Context    // the flusher's context, canceled when Close's ends
	cancelRun  context.CancelFunc //
	done       chan struct{}      // closed when the flusher has returned
	unregister func()

	sinceDrain   atomic.Int64
	inFlight     atomic.Int64
	recorded     atomic.Int64
	deadLettered atomic.Int64
	// sendMu lets one drain at a time send: the flusher's, or Close's after it stopped.
	sendMu sync.Mutex
	// subs are the subscriptions read per customer to choose events' subscriptions, kept
	// subsTTL (guarded by sendMu).
	subs    map[string]keptSubs
	subsTTL time.Duration
	// probe is the last event Flowglad took (guarded by sendMu): sent again (a duplicate,
	// counted once) to prove Flowglad up when an event alone in its batch gets a 500.
	probe *item
	// refreshDone holds a channel per running refresh of billing after a batch landed
	// (landed), closed when it ends: Flush waits for those running when its drain ends,
	// Close for all; the flusher never does (a slow billing read must not hold usage
	// back). refreshSlots bounds them; refreshCtx is theirs, canceled by Close once it
	// has waited what it may.
	refreshSlots  chan struct{}
	refreshMu     sync.Mutex
	refreshDone   map[chan struct{}]struct{}
	refreshCtx    context.Context
	cancelRefresh context.CancelFunc
}

type keptSubs struct {
	list []flowgladapi.Subscription
	at   time.Time
}

// DeadLetter is an event Flowglad refused (an unknown meter or subscription, an archived
// customer, ...): it left the queue without being recorded. Err is Flowglad's reason, a
// *flowgladapi.Error, or the reason the event could not be sent at all (a *flowglad.Error,
// such as no_active_subscription when the customer has no current subscription).
type DeadLetter struct {
	Event Event
	Err   error
}

// Stats are a Recorder's counters.
type Stats struct {
	// Queued counts the events in the queue (those being sent included); for a queue
	// shared by several instances, all of theirs.
	Queued int
	// InFlight counts the events this recorder is sending now.
	InFlight int
	// Recorded and DeadLettered count the events this recorder has sent to Flowglad, and
	// dead-lettered, since it started.
	Recorded, DeadLettered int64
	// Oldest is the age of the oldest event in the queue; 0 when it is empty.
	Oldest time.Duration
}

// Option configures a Recorder.
type Option func(*Recorder)

// WithQueue sets the queue (default NewMemoryQueue(DefaultQueueCapacity)). The recorder does
// not close a queue it is given: close it after the Recorder.
func WithQueue(q Queue) Option { return func(r *Recorder) { r.q = q } }

// WithLedger sets where pending usage and reservations are kept (default the queue's
// SharedLedger when it is a SharedQueue, else an in-process MemoryLedger). A queue shared
// by several instances needs a ledger they share.
func WithLedger(l Ledger) Option { return func(r *Recorder) { r.ledger = l } }

// A SharedQueue is a Queue several instances record into and send from, with the Ledger
// they must share with it: an event may be sent by another instance than the one that
// recorded it, and the sender forgets its pending usage in its own ledger, so an
// in-process ledger would keep subtracting that usage for ever on the instance that
// recorded it. NewRecorder uses SharedLedger when WithLedger is not given
// (usage/redisqueue's Queue is one).
type SharedQueue interface {
	Queue
	// SharedLedger returns the ledger every recorder on the queue must use.
	SharedLedger() Ledger
}

// WithBatchSize sets the most events sent in one call (default 500; at most MaxBatchSize).
func WithBatchSize(n int) Option { return func(r *Recorder) { r.batchSize = n } }

// WithFlushInterval sets how often queued events are sent when fewer than a batch are
// waiting (default 1 s).
func WithFlushInterval(d time.Duration) Option { return func(r *Recorder) { r.interval = d } }

// WithReservationTTL sets how long a reservation lives unless committed or released
// (default 1 minute): the time after which a crashed instance's reservations lapse.
func WithReservationTTL(d time.Duration) Option { return func(r *Recorder) { r.holdTTL = d } }

// WithSubscriptionTTL sets how long the subscriptions read for a customer (to choose the
// subscription of events that name none) serve that customer's later batches (default
// 30 s): without it, every batch reads the billing of each of its customers, since sending
// a batch forgets their billing. A plan changed within that time may see a few events
// charged to the subscription it replaced; 0 reads every batch. Events recorded in a
// request that had read billing (a gate's) have their subscription already.
func WithSubscriptionTTL(d time.Duration) Option { return func(r *Recorder) { r.subsTTL = d } }

// OnDeadLetter sets the function told of each event Flowglad refused. It runs on the
// flusher's goroutine: keep it short (log, store for a person to look at). Without it, dead
// letters are logged at Error.
func OnDeadLetter(f func(context.Context, DeadLetter)) Option {
	return func(r *Recorder) { r.onDead = f }
}

// WithClock sets the recorder's clock (default time.Now): the usageDate and RecordedAt of
// events, and the expiry of reservations. For tests.
func WithClock(now func() time.Time) Option { return func(r *Recorder) { r.now = now } }

// WithBackoff sets the wait after the attempt-th failed send in a row (attempt counts from
// 0). The default doubles from 100 ms up to 30 s. For tests: func(int) time.Duration
// { return 0 } retries at once.
func WithBackoff(f func(attempt int) time.Duration) Option {
	return func(r *Recorder) { r.backoff = f }
}

// defaultBackoff doubles from 100 ms up to 30 s (reached at the 9th attempt).
func defaultBackoff(attempt int) time.Duration {
	return min(100*time.Millisecond<<min(max(attempt, 0), 9), 30*time.Second)
}

type flushRequest struct {
	ctx   context.Context
	mark  int64 // RecordedAt of the last event the flush must send
	reply chan error
}

// NewRecorder returns a Recorder sending through svc, and starts its flusher. It registers
// itself on svc (flowglad.Service.AddPendingUsage), so that svc's balances subtract what it
// holds until Close.
func NewRecorder(svc *flowglad.Service, opts ...Option) (*Recorder, error) {
	if svc == nil {
		return nil, errors.New("usage: NewRecorder: nil Service")
	}
	r := &Recorder{
		svc: svc, batchSize: DefaultBatchSize, interval: DefaultFlushInterval,
		holdTTL: DefaultReservationTTL, subsTTL: DefaultSubscriptionTTL, subs: map[string]keptSubs{},
		now: time.Now, backoff: defaultBackoff,
		storedTxID: storedTransactionID,
		full:       make(chan struct{}, 1), flushReq: make(chan flushRequest), stop: make(chan struct{}),
		refreshSlots: make(chan struct{}, maxRefreshes),
		done:         make(chan struct{}),
	}
	for _, o := range opts {
		o(r)
	}
	switch {
	case r.batchSize <= 0 || r.batchSize > MaxBatchSize:
		return nil, fmt.Errorf("usage: NewRecorder: batch size %d is not between 1 and %d", r.batchSize, MaxBatchSize)
	case r.interval <= 0:
		return nil, fmt.Errorf("usage: NewRecorder: flush interval %v is not positive", r.interval)
	case r.holdTTL <= 0:
		return nil, fmt.Errorf("usage: NewRecorder: reservation TTL %v is not positive", r.holdTTL)
	case r.subsTTL < 0:
		return nil, fmt.Errorf("usage: NewRecorder: subscription TTL %v is negative", r.subsTTL)
	case r.now == nil || r.backoff == nil:
		return nil, errors.New("usage: NewRecorder: nil clock or backoff")
	}
	if r.q == nil {
		r.q, r.ownQueue = NewMemoryQueue(DefaultQueueCapacity), true
	}
	if sq, ok := r.q.(SharedQueue); ok && r.ledger == nil {
		r.ledger = sq.SharedLedger()
	}
	if r.ledger == nil {
		r.ledger = newMemoryLedger(r.now)
	}
	if dq, ok := r.q.(DurableQueue); ok {
		if _, shared := r.q.(SharedQueue); !shared {
			if err := r.notePending(dq); err != nil {
				return nil, fmt.Errorf("usage: NewRecorder: noting the queue's events as pending: %w", err)
			}
		}
	}
	r.logger = svc.Logger()
	r.runCtx, r.cancelRun = context.WithCancel(context.Background())
	r.refreshCtx, r.cancelRefresh = context.WithCancel(context.Background())
	r.refreshDone = map[chan struct{}]struct{}{}
	r.unregister = svc.AddPendingUsage(pendingView{r})
	go r.run()
	return r, nil
}

// notePending notes as pending the events a durable queue kept from before this process
// (sent by nobody yet: their pending amounts went with the process that recorded them).
func (r *Recorder) notePending(q DurableQueue) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	byCustomer := map[string][]PendingEvent{}
	err := q.Each(ctx, func(e Event) error {
		byCustomer[e.CustomerID] = append(byCustomer[e.CustomerID], pendingOf(e, r.pendingID(e)))
		return nil
	})
	if err != nil {
		return err
	}
	for customer, events := range byCustomer {
		if err := r.ledger.AddPending(ctx, customer, events); err != nil {
			return err
		}
	}
	return nil
}

// Record checks the event with CreateUsageEvent's rules, fixes its transaction id (a new
// one when p has none) and usage date (now, when zero), and queues it: it returns the
// transaction id once the queue holds the event, having made no Flowglad call. A malformed
// event is a 400 invalid_body *flowglad.Error; a full queue ErrQueueFull (nothing queued);
// a closed recorder ErrClosed. The subscription, when p names none, is the customer's first
// current subscription that has the meter: chosen now from billing ctx's request has
// already read (flowglad.Service.KnownSubscriptions), else when the event is sent.
func (r *Recorder) Record(ctx context.Context, c flowglad.Customer, p flowglad.UsageEventParams) (string, error) {
	e, err := r.event(c, p)
	if err != nil {
		return "", err
	}
	if e.SubscriptionID == "" && meterKey(e) != "" {
		// Billing this request has read already (a gate's) chooses the subscription now,
		// so that sending the event needs no billing read.
		if subs, ok := r.svc.KnownSubscriptions(ctx, c); ok {
			e.SubscriptionID = subscriptionFor(subs, e)
		}
	}
	if err := r.put(ctx, e); err != nil {
		return "", err
	}
	return e.TransactionID, nil
}

// event checks p and returns the event to queue.
func (r *Recorder) event(c flowglad.Customer, p flowglad.UsageEventParams) (Event, error) {
	if err := c.Validate(); err != nil {
		return Event{}, err
	}
	if err := p.Validate(); err != nil {
		return Event{}, err
	}
	now := r.now()
	e := Event{
		CustomerID: c.ExternalID, UsageMeterSlug: p.UsageMeterSlug, UsageMeterID: p.UsageMeterID,
		PriceSlug: p.PriceSlug, PriceID: p.PriceID, SubscriptionID: p.SubscriptionID,
		Amount: max(p.Amount, 1), TransactionID: p.TransactionID, Properties: p.Properties,
		UsageDate: now.UnixMilli(), RecordedAt: now.UnixMilli(),
	}
	if e.TransactionID == "" {
		e.TransactionID = uuid.NewString()
	}
	if !p.UsageDate.IsZero() {
		e.UsageDate = p.UsageDate.UnixMilli()
	}
	return e, nil
}

// put notes the event as pending, then queues it: in that order, so that the flusher,
// which removes it from the ledger once sent, never sends an event the ledger has not seen.
func (r *Recorder) put(ctx context.Context, e Event) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	id := r.pendingID(e)
	noted, err := r.addPending(ctx, e.CustomerID, pendingOf(e, id))
	if err != nil {
		return fmt.Errorf("usage: noting pending usage: %w", err)
	}
	forgetView(ctx, e.CustomerID) // the request's balances show its own usage
	if err := r.q.Put(ctx, []Event{e}); err != nil {
		if noted {
			// Not an event pending already under the same id (a retry of one still
			// queued): that one stays pending until it lands.
			_ = r.ledger.RemovePending(context.WithoutCancel(ctx), e.CustomerID, []string{id})
		}
		if errors.Is(err, ErrQueueFull) || errors.Is(err, ErrClosed) {
			return err
		}
		return fmt.Errorf("usage: queueing an event: %w", err)
	}
	if r.sinceDrain.Add(1) >= int64(r.batchSize) {
		select {
		case r.full <- struct{}{}:
		default:
		}
	}
	return nil
}

// addPending notes p as pending and reports whether it noted it: false when an event was
// pending under p's id already, which only a ledger with AddPendingCount can tell (without
// it, true).
func (r *Recorder) addPending(ctx context.Context, customerID string, p PendingEvent) (noted bool, err error) {
	events := []PendingEvent{p}
	if c, ok := r.ledger.(pendingCounter); ok {
		n, err := c.AddPendingCount(ctx, customerID, events)
		return n > 0, err
	}
	return true, r.ledger.AddPending(ctx, customerID, events)
}

// pendingID is the id an event is pending under in the ledger: the transaction id Flowglad
// stores and the meter (or price) the event names, as Flowglad keeps one event per
// transaction id and meter: a job may bill two meters under one id, and each event is
// pending until it lands.
func (r *Recorder) pendingID(e Event) string {
	ref := meterKey(e)
	switch {
	case ref != "":
	case e.PriceSlug != "":
		ref = "price-slug:" + e.PriceSlug
	default:
		ref = "price-id:" + e.PriceID
	}
	return r.storedTxID(e.CustomerID, e.TransactionID) + "\x00" + ref
}

func pendingOf(e Event, id string) PendingEvent {
	return PendingEvent{
		TransactionID: id, UsageMeterSlug: e.UsageMeterSlug, UsageMeterID: e.UsageMeterID,
		PriceSlug: e.PriceSlug, PriceID: e.PriceID, SubscriptionID: e.SubscriptionID, Amount: e.Amount,
	}
}

// Flush returns once every event recorded before the call is at Flowglad or dead-lettered,
// and the billing reads that follow their landing are in (see
// flowglad.Service.RefreshBillingAfterUsage), or when ctx is done (the events not sent stay
// queued, and are sent later). Events held by another instance sharing the queue are that
// instance's to send.
func (r *Recorder) Flush(ctx context.Context) error {
	req := flushRequest{ctx: ctx, mark: r.now().UnixMilli(), reply: make(chan error, 1)}
	select {
	case r.flushReq <- req:
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("usage: flush: %w", ctx.Err())
	}
	select {
	case err := <-req.reply:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return fmt.Errorf("usage: flush: %w", ctx.Err())
	}
	// The balances are Flowglad's too once the billing reads after the batches are in.
	if err := r.waitRefreshes(ctx); err != nil {
		return fmt.Errorf("usage: flush: %w", err)
	}
	return nil
}

// Close stops taking events (Record returns ErrClosed), stops the flusher, and drains the
// queue: it returns once every queued event this recorder can claim is at Flowglad or
// dead-lettered, or when ctx is done (then the events left stay in the queue: in a durable
// one they are sent after the next start; a memory queue loses them). It unregisters the
// recorder from the Service and closes the queue if the recorder made it. Calling Close
// again returns ErrClosed.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	r.closed = true
	r.mu.Unlock()
	// The flusher finishes the batch it is sending (canceling it would send it again),
	// unless ctx ends first.
	close(r.stop)
	stopCancel := context.AfterFunc(ctx, r.cancelRun)
	<-r.done
	stopCancel()
	r.cancelRun()
	err := r.drain(ctx, true, 1<<62, nil)
	// The billing reads after the last batches: waited for until ctx ends, then
	// canceled (their customers' billing is forgotten instead), so that none outlives
	// Close.
	if werr := r.waitRefreshes(ctx); err == nil {
		err = werr
	}
	r.cancelRefresh()
	_ = r.waitRefreshes(context.Background()) // canceled: they end at once
	r.unregister()
	if r.ownQueue {
		_ = r.q.Close() // the recorder's own memory queue, whose Close cannot fail
	}
	if err != nil {
		return fmt.Errorf("usage: close: %w", err)
	}
	return nil
}

// Stats reports the recorder's counters and what its queue holds (Queued and Oldest are
// zero when the queue cannot be read).
func (r *Recorder) Stats() Stats {
	st := Stats{
		InFlight: int(r.inFlight.Load()), Recorded: r.recorded.Load(), DeadLettered: r.deadLettered.Load(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if qs, err := r.q.Stats(ctx); err == nil {
		st.Queued = qs.Queued
		if !qs.OldestRecordedAt.IsZero() {
			st.Oldest = max(r.now().Sub(qs.OldestRecordedAt), 0)
		}
	}
	return st
}

// run is the flusher: it sends a batch as soon as one is waiting, what is queued every
// interval, and everything recorded before a Flush.
func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.full:
			_ = r.drain(r.runCtx, false, 0, r.stop)
		case <-tick.C:
			_ = r.drain(r.runCtx, true, r.now().UnixMilli(), r.stop)
		case req := <-r.flushReq:
			ctx, cancel := mergeDone(req.ctx, r.runCtx)
			err := r.drain(ctx, true, req.mark, r.stop)
			cancel()
			if errors.Is(err, errStopped) || (err != nil && r.runCtx.Err() != nil) {
				// Close drains what is left; this Flush ends with the recorder.
				err = ErrClosed
			}
			req.reply <- err
		}
	}
}

// mergeDone returns a context of a's values done when a or b is.
func mergeDone(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// errStopped ends a flusher's drain when Close has begun: Close drains the rest.
var errStopped = errors.New("usage: recorder stopping")

// drain sends batches until none is left to send: with all, until the queue has no event
// recorded at or before mark (epoch ms) that this recorder can claim; without, only full
// batches. A failure that is not the events' fault is retried after a backoff until ctx is
// done; drain then returns ctx's error, the events released to the queue. It returns
// errStopped between batches once stop is closed (nil: never).
func (r *Recorder) drain(ctx context.Context, all bool, mark int64, stop <-chan struct{}) error {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	r.sinceDrain.Store(0)
	attempt := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case <-stop:
			return errStopped
		default:
		}
		claimed, err := r.q.Claim(ctx, r.batchSize)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			r.logger.WarnContext(ctx, "usage: claiming queued events failed", "error", err)
			if werr := r.wait(ctx, attempt, stop); werr != nil {
				return werr
			}
			attempt++
			continue
		}
		if len(claimed) == 0 {
			return nil
		}
		if !all && len(claimed) < r.batchSize {
			return r.release(ctx, claimed)
		}
		oldest := claimed[0].Event.RecordedAt
		for _, c := range claimed {
			oldest = min(oldest, c.Event.RecordedAt)
		}
		if all && oldest > mark {
			// Everything the caller waits for is out; these are newer.
			return r.release(ctx, claimed)
		}
		if err := r.sendBatch(ctx, claimed); err != nil {
			r.logger.WarnContext(ctx, "usage: sending usage events failed; retrying", "events", len(claimed), "error", err)
			if werr := r.wait(ctx, attempt, stop); werr != nil {
				return werr
			}
			attempt++
			continue
		}
		attempt = 0
	}
}

func (r *Recorder) release(ctx context.Context, claimed []Claimed) error {
	if err := r.q.Release(context.WithoutCancel(ctx), ids(claimed)); err != nil {
		return fmt.Errorf("usage: releasing events: %w", err)
	}
	return nil
}

// wait waits the backoff after the attempt-th failure in a row; errStopped when stop
// closes first.
func (r *Recorder) wait(ctx context.Context, attempt int, stop <-chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return err // ended: not the stop's doing, whatever else is ready
	}
	t := time.NewTimer(r.backoff(attempt)) // fires at once for 0 or less
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return errStopped
	case <-t.C:
		return nil
	}
}

func ids(c []Claimed) []string {
	out := make([]string, len(c))
	for i := range c {
		out[i] = c[i].ID
	}
	return out
}
