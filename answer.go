package flowglad

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/redact"
	"github.com/google/uuid"
)

// WriteError answers err as the route would: the status, the {"error": {"code", "message",
// "json": {"message", ...}}} envelope and the route's headers. An *Error answers its own
// status and code (a 400 with its issues, a 403, a 402 from the middleware); a Flowglad
// failure (*flowgladapi.Error, a timeout, an outage) the route's 4xx, 502, 503 or 504 with a
// generic message; anything else 500 "internal error". A 500 *Error (invalid_customer, say)
// keeps its code but is answered with the message "internal error": its own message names
// the fix for the operator. The message of a 5xx never says more than that; log err
// yourself (WriteError does not log). Use it to answer errors of
// [Service] methods from your own handlers.
//
// The answer carries an X-Request-Id header, as every answer of the route does: the one
// already set on w, else the request's own X-Request-Id when it looks like an id (at most
// 64 letters, digits, '-', '_' or '.'), else a new UUID. A 5xx repeats it in
// error.json.requestId, so a user's report can be found in your logs.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, classify(r.Context(), err), responseID(w, r, nil))
}

// requestIDHeader names the request id, in requests and answers.
const requestIDHeader = "X-Request-Id"

// responseID returns the request id of the answer to be written on w: the one already set
// on w (by the host's middleware), else the request's own X-Request-Id when it looks like
// an id, else a new one from ids (a handler's), or a new UUID when ids is nil (WriteError,
// which has no handler). The answer's headers carry it (setJSONHeaders).
func responseID(w http.ResponseWriter, r *http.Request, ids *requestIDs) string {
	if id := headerValue(w.Header(), requestIDHeader); isRequestID(id) {
		return id
	}
	if id := headerValue(r.Header, requestIDHeader); isRequestID(id) {
		return id
	}
	if ids == nil {
		return uuid.NewString()
	}
	return ids.next()
}

// headerValue is h.Get(key) for a key in canonical form, as every key named here is: it
// skips the canonicalization of key that Header.Get does on every call. (Get canonicalizes
// the key it looks up, never the map's keys: the two find the same values.)
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// requestIDs makes a handler's request ids, for requests that bring none: random version 4
// UUIDs, as uuid.NewString makes, drawn from the runtime's random source (ChaCha8, seeded
// by the system; no lock, no system call) and formatted into one allocation, where
// uuid.NewString cost two and a read of crypto/rand. Random rather than counted: an id
// must not tell a client how many requests the handler answered in between.
type requestIDs struct{}

func newRequestIDs() *requestIDs { return &requestIDs{} }

// next returns a new request id.
func (*requestIDs) next() string {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], mrand.Uint64())
	binary.LittleEndian.PutUint64(u[8:], mrand.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return string(buf[:])
}

// writeError writes e as the error envelope. A 5xx carries requestID so a user's report can
// be found in the logs.
func writeError(w http.ResponseWriter, e *statusError, requestID string) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	jsonPart := make(map[string]any, len(e.Details)+2)
	for k, v := range e.Details {
		jsonPart[k] = v
	}
	jsonPart["message"] = e.Message
	if e.Status >= 500 {
		jsonPart["requestId"] = requestID
	}
	body, err := json.Marshal(map[string]any{"error": map[string]any{
		"code":    e.Code,
		"message": e.Message,
		"json":    jsonPart,
	}})
	if err != nil {
		body = []byte(`{"error":{"code":"` + CodeInternalError + `","message":"` + msgInternal + `","json":{"message":"` + msgInternal + `"}}}`)
	}
	if len(body) > maxErrorAnswer {
		body = boundedErrorBody(e, jsonPart)
	}
	writeJSON(w, e.Status, body, requestID)
}

// Bounds of an error answer: whatever error it is made from, at most maxErrorAnswer bytes.
const (
	maxErrorAnswer = 64 << 10
	// maxErrorMessage caps the message of an answer that came out too large.
	maxErrorMessage = 1024
	// maxErrorDetail caps the JSON of each detail kept in such an answer.
	maxErrorDetail = 1024
)

// boundedErrorBody rebuilds an envelope that came out larger than maxErrorAnswer (an
// *Error built with a huge message or details): the code and message cut, and only the
// small details kept (a transaction id, a request id, a count), so what a retry needs
// survives and the answer stays small.
func boundedErrorBody(e *statusError, jsonPart map[string]any) []byte {
	msg := cutRunes(e.Message, maxErrorMessage)
	kept := map[string]any{"message": msg, "detailsOmitted": true}
	for k, v := range jsonPart {
		if k == "message" || len(k) > maxEcho {
			continue
		}
		if b, err := json.Marshal(v); err == nil && len(b) <= maxErrorDetail {
			kept[k] = json.RawMessage(b)
		}
	}
	// At most about 2 KiB for the code and message (escaped up to 6 bytes a rune: 12 KiB),
	// and 1 KiB per detail: jsonPart's keys are the details of one error, few in practice;
	// a host's map of thousands would still be cut below.
	body, err := json.Marshal(map[string]any{"error": map[string]any{
		"code": cutRunes(e.Code, maxEcho), "message": msg, "json": kept,
	}})
	if err != nil || len(body) > maxErrorAnswer {
		body, _ = json.Marshal(map[string]any{"error": map[string]any{
			"code": cutRunes(e.Code, maxEcho), "message": msg,
			"json": map[string]any{"message": msg, "detailsOmitted": true},
		}})
	}
	return body
}

// writeJSON writes a JSON answer with the route's headers.
func writeJSON(w http.ResponseWriter, status int, body []byte, requestID string) {
	setJSONHeaders(w, len(body), requestID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// The values of the headers every answer of the route carries unchanged. They are assigned
// to the answer's header map as they are: Header.Set would allocate a slice for each, on
// every answer. Their length is their capacity, so a caller's Header.Add copies them
// rather than append in place; Set and Del replace or drop them. (Nothing in net/http
// writes into a header's values.)
var (
	headerJSON    = []string{"application/json"}
	headerNoStore = []string{"no-store"}
	headerNosniff = []string{"nosniff"}
)

// setJSONHeaders sets the headers of every answer of the route: the constant ones, the
// request id and the Content-Length. The keys are canonical already, as Header.Set would
// make them.
func setJSONHeaders(w http.ResponseWriter, length int, requestID string) {
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["X-Content-Type-Options"] = headerNosniff
	// The two values that vary share one allocation; each slice is capped at its one value,
	// so an append to one cannot write over the other.
	v := make([]string, 2)
	v[0], v[1] = requestID, strconv.Itoa(length)
	h[requestIDHeader] = v[0:1:1]
	h["Content-Length"] = v[1:2:2]
}

// maxRequestID bounds an accepted request id: it is repeated in a header, a body and logs.
const maxRequestID = 64

// isRequestID reports whether id is safe to repeat: not empty, short, and made of
// characters that need no escaping anywhere (no spaces, quotes or line breaks to forge a log
// line or a header with).
func isRequestID(id string) bool {
	return id != "" && len(id) <= maxRequestID && isToken(id)
}

func isToken(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// isInvalidCustomer reports whether err says the Customer itself is unusable.
func isInvalidCustomer(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeInvalidCustomer
}

// msgInternal is the message of every 500 answer.
const msgInternal = "internal error"

// codeFlowgladAuthFailed answers a 401 or 403 from Flowglad: our API key was refused.
const codeFlowgladAuthFailed = CodeFlowgladAuthFailed

// codeFlowgladBusy answers Flowglad rate limiting the key: a 429, or a 401 to a key that
// has worked.
const codeFlowgladBusy = CodeFlowgladBusy

// msgAuthFailed is the message of a flowglad_auth_failed answer.
const msgAuthFailed = "billing is unavailable: the server's Flowglad credentials were refused"

// statusError is an error as it reaches the browser.
type statusError struct {
	Status     int
	Code       string
	Message    string
	Details    map[string]any
	RetryAfter time.Duration
}

// classify maps an error to what the browser sees (CONTRACT.md §1 and §3). Messages of 5xx
// answers are generic: the real error goes to the log.
func classify(ctx context.Context, err error) *statusError {
	e := classifyCause(ctx, err)
	var ue *UsageEventError
	if errors.As(err, &ue) {
		// The event may have been recorded: the browser retries with this id to count it once.
		details := make(map[string]any, len(e.Details)+1)
		for k, v := range e.Details {
			details[k] = v
		}
		details["transactionId"] = ue.TransactionID
		e.Details = details
	}
	return e.sane()
}

// sane makes e answerable whatever error it came from (an *Error a host built by hand):
// an error status, a code and a message. A status that is not one (0, 200, 302) is a
// bug of whoever built the error: 500, with the generic message of a 5xx.
func (e *statusError) sane() *statusError {
	if e.Status < 400 || e.Status > 599 {
		return &statusError{Status: http.StatusInternalServerError, Code: CodeInternalError, Message: msgInternal}
	}
	if e.Code == "" {
		e.Code = CodeError
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
		if e.Message == "" {
			e.Message = "error"
		}
	}
	return e
}

func classifyCause(ctx context.Context, err error) *statusError {
	var ae *Error
	if errors.As(err, &ae) {
		msg := ae.Message
		if ae.Status == http.StatusInternalServerError {
			// A 500 is the server's bug (an unusable Customer, a failed lookup): its message
			// names the fix for the operator, who reads it in the log; the browser gets the
			// request id to find that line.
			msg = msgInternal
		}
		return &statusError{Status: ae.Status, Code: ae.Code, Message: msg, Details: ae.Details,
			RetryAfter: ae.RetryAfter}
	}
	var api *flowgladapi.Error
	if errors.As(err, &api) {
		switch api.StatusCode {
		case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
			msg := api.Message
			if msg == "" {
				msg = "Flowglad rejected the request"
			}
			return &statusError{Status: api.StatusCode, Code: CodeFlowgladRejected, Message: msg,
				Details: map[string]any{"flowgladCode": api.Code}}
		case http.StatusNotFound:
			msg := api.Message
			if msg == "" {
				msg = "not found"
			}
			return &statusError{Status: http.StatusNotFound, Code: CodeNotFound, Message: msg}
		}
		if api.RateLimited() {
			// A 429, or a 401 to a key that has worked (live Flowglad's answer to a
			// rate-limited key): worth retrying shortly.
			wait := api.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			return &statusError{Status: http.StatusServiceUnavailable, Code: codeFlowgladBusy,
				Message: "Flowglad is busy; try again shortly", RetryAfter: wait}
		}
		if api.StatusCode == http.StatusUnauthorized || api.StatusCode == http.StatusForbidden {
			// Our API key is wrong or lacks access: the operator's problem, not the user's,
			// and retrying will not help (no Retry-After).
			return &statusError{Status: http.StatusBadGateway, Code: codeFlowgladAuthFailed,
				Message: msgAuthFailed}
		}
		return &statusError{Status: http.StatusBadGateway, Code: CodeFlowgladUnavailable, Message: "Flowglad is unavailable"}
	}
	switch {
	case ctx.Err() != nil:
		// The browser went away; nobody reads this answer.
		return &statusError{Status: http.StatusServiceUnavailable, Code: CodeCanceled, Message: "the request was canceled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &statusError{Status: http.StatusGatewayTimeout, Code: CodeFlowgladTimeout, Message: "Flowglad did not answer in time"}
	case errors.Is(err, flowgladapi.ErrInvalidResponse), errors.Is(err, flowgladapi.ErrUnavailable):
		return &statusError{Status: http.StatusBadGateway, Code: CodeFlowgladUnavailable, Message: "Flowglad is unavailable"}
	}
	return &statusError{Status: http.StatusInternalServerError, Code: CodeInternalError, Message: msgInternal}
}

// succeed writes {"data": ...}. Relayed Flowglad JSON is written as it came, not re-encoded.
func (rq *request) succeed(data any) {
	var payload []byte
	switch v := data.(type) {
	case json.RawMessage:
		payload = v
	case *json.RawMessage:
		payload = *v
	case *billingEntry:
		payload = v.Raw()
		// Once answered, the route reads the entry no more: its share of a pooled body is
		// given back (unless the request keeps the entry for a reader after the handler).
		defer v.Done(rq.r.Context())
	default:
		b, err := json.Marshal(v)
		if err != nil {
			rq.fail(fmt.Errorf("encoding the result: %w", err))
			return
		}
		payload = b
	}
	if len(payload) == 0 {
		payload = []byte("null")
	}
	// Written in three parts: relayed bytes are not copied into a new buffer.
	setJSONHeaders(rq.w, len(dataPrefix)+len(payload)+1, rq.id)
	if age, ok := rq.stale.ageHeader(); ok {
		// Last-known billing, served through a Flowglad outage (Config.StaleIfError).
		rq.w.Header().Set("Age", age)
	}
	rq.w.WriteHeader(http.StatusOK)
	_, _ = rq.w.Write(dataPrefix)
	_, _ = rq.w.Write(payload)
	_, _ = rq.w.Write(dataSuffix)
}

var dataPrefix, dataSuffix = []byte(`{"data":`), []byte(`}`)

// isJSONContentType reports whether a Content-Type header says application/json (with any
// parameters, such as a charset).
func isJSONContentType(ct string) bool {
	if ct == "application/json" { // what the React SDK sends, without parsing
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// fail maps err to a status, writes the error envelope and logs the failure.
func (rq *request) fail(err error) {
	e := classify(rq.r.Context(), err)
	writeError(rq.w, e, rq.id)
	if e.Status >= 500 {
		rq.log(slog.LevelError, e, err)
	} else {
		rq.log(slog.LevelDebug, e, err)
	}
}

// Log messages of Flowglad refusing the key. Flowglad answers a rate-limited key as it
// answers a wrong one (401, plain text); the client tells them apart by whether the key
// has worked before (flowgladapi.Error.KeyWorked).
const (
	// msgKeyRefused: a 401 or 403 to a key that never worked in this process: it is
	// wrong, revoked or lacks access (or belongs to another environment).
	msgKeyRefused = "flowglad: Flowglad refused the API key: it is wrong or lacks access; check FLOWGLAD_SECRET_KEY (Config.APIKey)"
	// msgRateLimited: a 429, or a 401 to a key that has worked.
	msgRateLimited = "flowglad: Flowglad is rate limiting this API key (a 429, or a 401 to a key that has worked); if it lasts, the key may have been revoked"
)

// log writes one line about a failed request, with the request id and, when Flowglad
// failed, Flowglad's own request id for a support ticket.
func (rq *request) log(level slog.Level, e *statusError, err error) {
	ctx := rq.r.Context()
	if !rq.h.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("action", string(rq.key)),
		slog.Int("status", e.Status),
		slog.String("code", e.Code),
		slog.String("request_id", rq.id),
	}
	if rq.cust.ExternalID != "" {
		attrs = append(attrs, slog.String("customer", rq.cust.ExternalID))
	}
	attrs = rq.errorAttrs(attrs, err)
	msg := "flowglad: request failed"
	switch e.Code {
	case codeFlowgladAuthFailed:
		msg = msgKeyRefused
	case codeFlowgladBusy:
		msg = msgRateLimited
	}
	rq.h.logger.LogAttrs(ctx, level, msg, attrs...)
}

// logAnonymous warns that the authenticator failed on the hybrid route, which then serves
// the visitor as anonymous.
func (rq *request) logAnonymous(err error) {
	ctx := rq.r.Context()
	if !rq.h.logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	attrs := []slog.Attr{
		slog.String("action", string(rq.key)),
		slog.String("request_id", rq.id),
	}
	rq.h.logger.LogAttrs(ctx, slog.LevelWarn, "flowglad: authentication failed; serving as anonymous",
		rq.errorAttrs(attrs, err)...)
}

// errorAttrs appends what a log line tells of err: its text, redacted; the stack of a
// recovered panic; Flowglad's request id.
func (rq *request) errorAttrs(attrs []slog.Attr, err error) []slog.Attr {
	if err == nil {
		return attrs
	}
	attrs = append(attrs, slog.String("error", rq.redact(err.Error())))
	var api *flowgladapi.Error
	if errors.As(err, &api) && api.RequestID != "" {
		attrs = append(attrs, slog.String("flowglad_request_id", clip(api.RequestID)))
	}
	var pe *panicError
	if errors.As(err, &pe) {
		attrs = append(attrs, slog.String("stack", string(pe.stack)))
	}
	return attrs
}

// redact removes the customer's email and name from s. Error texts can quote Flowglad's
// messages, which may repeat them, escaped inside its JSON or in a URL: every such form is
// removed. (An authenticator's error, before there is a customer, is logged by its type
// only: see authFailure.)
func (rq *request) redact(s string) string {
	if rq.cust == (Customer{}) {
		return s
	}
	return redact.Customer(s, rq.cust.Email, rq.cust.Name)
}

// The route's refusals before any action runs.
var (
	errMethodNotAllowed = &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
		Message: "only POST is allowed"}
	errUnsupportedMediaType = &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
		Message: "the request body must be application/json"}
	errCrossOrigin = &Error{Status: http.StatusForbidden, Code: CodeCrossOriginForbidden,
		Message: "cross-origin requests are not allowed from this origin"}
	errNotAnObject = &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON,
		Message: "the request body must be a JSON object"}
)

func errUnknownAction(key ActionKey) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeUnknownAction,
		Message: fmt.Sprintf("%q is not a Flowglad action", clip(string(key)))}
}

func errBodyTooLarge(max int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
		Message: fmt.Sprintf("the request body exceeds %d bytes", max)}
}

func errUnreadableBody(err error) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON,
		Message: "the request body could not be read", Err: err}
}
