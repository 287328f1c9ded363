package flowgladapitest

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"time"
)

// Request is one request the fake received, as recorded in its log.
type Request struct {
	Method string
	Path   string // r.URL.EscapedPath(): percent-encoding as sent
	Query  string // raw query, without "?"
	Body   []byte // nil when the request had no body
}

// Requests returns a copy of every request received since the fake started
// or since the last ResetRequests, oldest first. Faulted requests and
// rejected ones (401, 404) are included.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Request, len(f.requests))
	for i, r := range f.requests {
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// ResetRequests empties the request log.
func (f *Fake) ResetRequests() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

// Fault describes an injected failure.
type Fault struct {
	// Method and Path restrict the fault to matching requests (exact match
	// on the method and on the escaped path, without query). Empty matches
	// any.
	Method string
	Path   string
	// Status is the HTTP status to answer with (default 500).
	Status int
	// Code and Message fill the JSON error body; they default to the tRPC
	// code for Status and to the status text. A 401 is plain text, as
	// Flowglad sends it for a key it refuses, a rate-limited one included:
	// Message, or Flowglad's "API key invalid" text, and no code.
	Code    string
	Message string
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds (rounded up).
	RetryAfter time.Duration
	// CloseConnection drops the connection without any response, as a
	// network failure would; Status, Code and Message are then unused.
	CloseConnection bool
	// Body, when not empty, is sent as is, as application/json, instead of
	// the JSON error (Code and Message are then unused). With Status 200 it
	// is an answer garbled or cut short on the way back, such as
	// `{"usageEvent":`.
	Body string
	// AfterApply lets the request take effect (a usage event is recorded, a
	// subscription canceled) before its answer is replaced by the fault: an
	// answer lost on the way back. A request the fake refuses (bad JSON, a
	// wrong key, a 4xx from its route) takes no effect and does not use the
	// fault up: the next matching request does.
	AfterApply bool
	// Hang holds the request without an answer until the client gives up
	// (its context ends, as with a client timeout), which is how a call
	// times out; the connection is then dropped. ClearFaults releases held
	// requests: they are served as if the fault had not been there (with
	// AfterApply, they get the answer they would have had). Closing a
	// Server drops them. Status, Code, Message and Body are unused.
	Hang bool
}

type queuedFault struct {
	left    int  // requests still to fail, unless forever
	forever bool // FailNext(0, ...): until ClearFaults
	fault   Fault
}

// FailNext makes the next n requests that match fault fail as it
// describes, instead of reaching their route. Calls queue up: a request
// takes the first queued fault it matches. The failed requests are still
// recorded in the request log, and state is not touched unless the fault
// says AfterApply.
//
// n == 0 makes every matching request fail until ClearFaults: Flowglad is
// down, for as long as the test says, however many calls the code under
// test makes (a count such as 100 only guesses at that). A fault queued
// after it for the same requests is never reached. A negative n panics: it
// is a bug in the test.
func (f *Fake) FailNext(n int, fault Fault) {
	if n < 0 {
		panic("flowgladapitest: FailNext with a negative count")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &queuedFault{left: n, forever: n == 0, fault: fault})
}

// ClearFaults removes every queued fault, those of FailNext(0, ...)
// included, and releases the requests a Hang fault holds. A request whose
// AfterApply fault is cleared while it runs gets its real answer.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
	close(f.release)
	f.release = make(chan struct{})
}

// hang waits until the client gives up or the server closes (false) or
// ClearFaults releases the request (true).
func (f *Fake) hang(r *http.Request, release <-chan struct{}) bool {
	select {
	case <-release:
		return true
	case <-r.Context().Done():
		return false
	case <-f.closed:
		return false
	}
}

// closeFaults drops the requests Hang faults hold, so that a server can
// close: httptest.Server.Close waits for every running handler.
func (f *Fake) closeFaults() {
	f.closeOnce.Do(func() { close(f.closed) })
}

// SetLatency delays every response by d (0 turns it off). The wait ends
// early, with no response, when the client gives up on the request.
func (f *Fake) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// takeFaultLocked returns the first queued fault that r matches, and consumes it unless
// it is an AfterApply fault: that one is consumed by consumeLocked once its request has
// taken effect (a request the route refuses takes none, and the fault stays owed, in its
// place in the queue).
func (f *Fake) takeFaultLocked(r *http.Request) (*queuedFault, bool) {
	for _, q := range f.faults {
		if q.fault.Method != "" && q.fault.Method != r.Method {
			continue
		}
		if q.fault.Path != "" && q.fault.Path != r.URL.EscapedPath() {
			continue
		}
		if !q.fault.AfterApply {
			f.consumeLocked(q)
		}
		return q, true
	}
	return nil, false
}

// consumeLocked uses up one of q's requests; false when q is no longer queued (a
// concurrent request used its last one).
func (f *Fake) consumeLocked(q *queuedFault) bool {
	i := slices.Index(f.faults, q)
	if i < 0 {
		return false
	}
	if q.forever {
		return true
	}
	q.left--
	if q.left == 0 {
		f.faults = slices.Delete(f.faults, i, i+1)
	}
	return true
}

func (f *Fake) writeFault(w http.ResponseWriter, fault Fault, reqID string) {
	if fault.CloseConnection {
		dropConnection(w)
		return
	}
	status := fault.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if fault.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(fault.RetryAfter))
	}
	if status == http.StatusUnauthorized && fault.Body == "" {
		msg := fault.Message
		if msg == "" {
			msg = msgKeyInvalid
		}
		writeText(w, status, msg)
		return
	}
	code := fault.Code
	if code == "" {
		code = codeForStatus(status)
	}
	msg := fault.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	if fault.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, fault.Body)
		return
	}
	writeError(w, reqID, status, code, msg)
}

// dropConnection ends the exchange without a response, as a network
// failure would. The handler must return at once.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// No hijacking (e.g. an httptest.ResponseRecorder): abort the handler,
	// which net/http turns into a dropped connection.
	panic(http.ErrAbortHandler)
}

// readAll reads the request body; nil when there is none.
func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if len(b) == 0 {
		b = nil
	}
	return b, err
}
