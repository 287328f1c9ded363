// Package usage records usage events off the request path: Record puts an event in a
// Queue and returns; a background flusher sends queued events to Flowglad in batches, and
// an event leaves the queue only once Flowglad has it.
//
// # When to use it
//
// flowglad.Service.CreateUsageEvent (and the middleware's MeterUsage without a recorder)
// waits for Flowglad on every event: one round trip per metered request, one call per
// event, and an event whose retries fail is the application's to keep. A Recorder instead:
//
//   - answers Record in microseconds, with no Flowglad call: the event is checked with
//     CreateUsageEvent's rules (a malformed one is an error now, never a dead letter
//     later), its transaction id and usage date are fixed, and it is queued;
//   - sends up to 500 events (WithBatchSize, at most 1000) of any number of customers in
//     one POST /api/v1/usage-events/bulk: 10,000 events cost about 22 Flowglad calls;
//   - retries what is not the events' fault (an outage, a timeout, rate limiting, a
//     refused key) with backoff and the same transaction ids, so every event counts
//     exactly once, and dead-letters (OnDeadLetter) only what Flowglad refuses: a refused
//     batch is split until the refused events are alone, the others recorded;
//   - keeps balances honest while events wait: the Service's Billing and
//     CurrentSubscriptions (and so the middleware's gates) subtract pending usage, and
//     Reserve holds an amount for work in progress so that concurrent requests cannot
//     spend one balance twice.
//
// # Queues
//
//   - NewMemoryQueue, the default: fastest; bounded (a full queue is ErrQueueFull from
//     Record, never a silent drop); lost on a crash. Close drains it on shutdown.
//   - usage/boltqueue: a file on one machine; survives kill -9 (what Put returned is on
//     disk); the next start sends what was left.
//   - usage/redisqueue: Redis Streams shared by several instances; an instance's claimed
//     events are taken over by the others after a visibility timeout; pending usage and
//     reservations are shared (its Ledger), so every instance's gates see them.
//
// Every queue passes the conformance suite in usage/queuetest.
//
// # Shutting down
//
// Close stops taking events (Record returns ErrClosed), lets the batch being sent finish,
// and sends what is queued, until its context ends: give it the time your platform allows
// between SIGTERM and SIGKILL. Events it could not send stay in a durable queue for the
// next start; a memory queue loses them.
package usage
