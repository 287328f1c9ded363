package usage

// StoredTransactionID is the transaction id Flowglad stores for an event, for tests that
// count the fake's events.
var StoredTransactionID = storedTransactionID

// Done is closed when the recorder's flusher has returned.
func (r *Recorder) Done() <-chan struct{} { return r.done }
