// Package usage records usage events off the request path: Record puts an event in a
// Queue and returns; a background flusher sends queued events to Flowglad in batches, and
// an event leaves the queue only once Flowglad has it.
package usage
