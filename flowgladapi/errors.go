package flowgladapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowglad-go/flowglad/internal/redact"
)

// Sentinel errors for branching with errors.Is. An *Error matches the one
// for its status class; ErrInvalidResponse is wrapped by other errors.
var (
	// ErrNotFound: Flowglad answered 404 (unknown customer, subscription,
	// pricing model, or route).
	ErrNotFound = errors.New("flowgladapi: not found")
	// ErrUnauthorized: Flowglad answered 401, i.e. the API key is missing,
	// wrong or expired. It is the operator's problem, not the end user's. A
	// 401 to a key that has worked before (Error.KeyWorked) matches
	// ErrRateLimited too, and is most likely that: check ErrRateLimited first.
	ErrUnauthorized = errors.New("flowgladapi: unauthorized")
	// ErrForbidden: Flowglad answered 403, i.e. the key may not do this.
	ErrForbidden = errors.New("flowgladapi: forbidden")
	// ErrBadRequest: Flowglad rejected the request (400, 409, 422, and any
	// other 4xx without a more specific sentinel, except 408). The message is
	// usually fit to show to the user.
	ErrBadRequest = errors.New("flowgladapi: bad request")
	// ErrRateLimited: Flowglad answered 429, or 401 to a key that had worked
	// before in this Client (Error.KeyWorked): live Flowglad answers a
	// rate-limited key with 401, so a key proven valid that is refused is most
	// likely being rate limited. Both are retried (idempotent calls only) with
	// backoff, as 429 is; the error is what remains after the retries.
	ErrRateLimited = errors.New("flowgladapi: rate limited")
	// ErrServer: Flowglad answered 5xx or 408 (after any retries): try later.
	ErrServer = errors.New("flowgladapi: server error")
	// ErrInvalidResponse: a 2xx response whose body is not the JSON the call
	// needs (after any retries: a body that is not JSON at all is retried
	// like a 5xx on calls that are safe to repeat; valid JSON of the wrong
	// shape is final). It is wrapped, never returned as an *Error.
	ErrInvalidResponse = errors.New("flowgladapi: invalid response")
	// ErrUnavailable: no response could be had at all (connection refused or
	// reset, DNS or TLS failure, a body cut short), after any retries. The
	// error also wraps the cause. A call ended by its context reports the
	// context's error instead.
	ErrUnavailable = errors.New("flowgladapi: unavailable")
)

// invalidResponseError is a 2xx body that is not the JSON a call needs. It
// matches ErrInvalidResponse without repeating the sentinel's prefix.
type invalidResponseError struct {
	where  string // "GET /api/v1/...", "" outside a call (DecodeBilling)
	detail string
	// garbled marks a body that is not JSON at all (empty, cut short, an HTML page): an
	// answer damaged on the way, worth asking again for on a call safe to repeat. Valid
	// JSON of the wrong kind, or a body over the size cap, would come back the same.
	garbled bool
}

func invalidResponse(where, detail string) error {
	return &invalidResponseError{where: where, detail: detail}
}

func (e *invalidResponseError) Error() string {
	if e.where == "" {
		return "flowgladapi: invalid response: " + e.detail
	}
	return "flowgladapi: " + e.where + ": invalid response: " + e.detail
}

func (e *invalidResponseError) Unwrap() error { return ErrInvalidResponse }

// maxMessage caps Error.Message: a text/plain error page can be long, and the
// message ends up in logs and user-facing errors.
const maxMessage = 1024

// Error is a non-2xx response from Flowglad. Use errors.As to read it and
// errors.Is with the sentinels to branch on its status class.
//
// Flowglad's error bodies vary: the live server sends {"error", "code",
// "request_id"} (where "error" may be a string, an object or an array), the
// OpenAPI spec documents {"code", "message", "issues"}, and 401s and unknown
// routes are plain text. Error decodes all of them and keeps the raw body.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is Flowglad's error code ("NOT_FOUND", "BAD_REQUEST", …), "" when
	// absent.
	Code string
	// Message is the human-readable message: the body's "message", else its
	// "error" (a string as is, an object or array re-marshalled compactly),
	// else the trimmed text body, capped at 1 KiB. The API key is redacted
	// (before the cap, so no part of it survives a cut) in every form a server
	// may echo it in: raw, JSON- or URL-escaped, or any 8 bytes or more of it.
	Message string
	// RequestID is Flowglad's request id (X-Request-Id header, else the body's
	// request_id), for support tickets.
	RequestID string
	// RetryAfter is the parsed Retry-After header, 0 when absent, capped at
	// the retry policy's MaxRetryAfter: the longest wait the client honours
	// itself, so whoever relays it (the handler's 503 Retry-After) never asks
	// for more than that.
	RetryAfter time.Duration
	// Method and Path are the request's method and escaped path (no host, no
	// query).
	Method string
	Path   string
	// Body is the raw response body, capped at 64 KiB, with the API key
	// redacted as in Message.
	Body []byte
	// KeyWorked reports that the Client had had a 2xx answer with its API key
	// before this response. A 401 with KeyWorked is most likely rate limiting
	// (it matches ErrRateLimited); without it, the key is wrong.
	KeyWorked bool
}

// RateLimited reports whether e says Flowglad is rate limiting the key: a 429,
// or a 401 to a key that has worked (KeyWorked).
func (e *Error) RateLimited() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusUnauthorized && e.KeyWorked
}

// Error returns e.g. "flowgladapi: GET /api/v1/customers/x: 404 NOT_FOUND:
// Customer not found".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("flowgladapi: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteByte(' ')
		b.WriteString(e.Code)
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is reports whether target is the sentinel for e's status class, so
// errors.Is(err, ErrNotFound) works through any wrapping.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.RateLimited()
	case ErrServer:
		return e.StatusCode >= 500 || e.StatusCode == http.StatusRequestTimeout
	case ErrBadRequest:
		switch e.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusRequestTimeout, http.StatusTooManyRequests:
			return false
		}
		return e.StatusCode >= 400 && e.StatusCode < 500
	}
	return false
}

// newError builds an *Error from a non-2xx response whose body (already
// capped) is raw, with every form of the secret removed and the server's
// Retry-After capped at maxWait (what the client honours).
func newError(r request, resp *http.Response, raw []byte, secret *redact.Secret, now time.Time, maxWait time.Duration) *Error {
	e := &Error{
		StatusCode: resp.StatusCode,
		Method:     r.method,
		Path:       r.path,
		// The body is parsed before it is redacted: a mask cut into an
		// escape sequence could make it invalid JSON.
		Body:       secret.RedactBytes(raw),
		RequestID:  resp.Header.Get("X-Request-Id"),
		RetryAfter: min(parseRetryAfter(resp.Header.Get("Retry-After"), now), maxWait),
	}
	code, msg, reqID := parseErrorBody(raw)
	e.Code = capMessage(secret.Redact(code))
	if e.RequestID == "" {
		e.RequestID = reqID
	}
	e.RequestID = capMessage(secret.Redact(e.RequestID))
	// Redact first, then cut: a cut through the key would leave a piece of it
	// that no longer matches the whole key.
	e.Message = capMessage(secret.Redact(msg))
	return e
}

// parseErrorBody extracts code, message and request id from any of
// Flowglad's error shapes; a non-JSON body becomes the message.
func parseErrorBody(raw []byte) (code, msg, reqID string) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return "", "", ""
	}
	switch trimmed[0] {
	case '{':
		var body struct {
			Code      json.RawMessage `json:"code"`
			Message   json.RawMessage `json:"message"`
			Error     json.RawMessage `json:"error"`
			RequestID json.RawMessage `json:"request_id"`
		}
		if json.Unmarshal(trimmed, &body) == nil {
			code = jsonString(body.Code)
			reqID = jsonString(body.RequestID)
			if m := jsonString(body.Message); m != "" {
				return code, m, reqID
			}
			return code, jsonText(body.Error), reqID
		}
	case '"':
		var s string
		if json.Unmarshal(trimmed, &s) == nil {
			return "", s, ""
		}
	}
	return "", string(trimmed), ""
}

// jsonString returns raw's value when it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonText renders any JSON value as a message: a string as is, null as "",
// anything else (object, array, number) compacted.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		return jsonString(raw)
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// capMessage trims s and cuts it to maxMessage bytes on a rune boundary.
func capMessage(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// unwrapURLError drops *url.Error's "Get \"https://…\":" prefix: our own
// prefix already names the method and path, and the query could be long.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// transportError is a failure to get a response at all (connection refused,
// reset, TLS failure, truncated body). It wraps the cause.
type transportError struct {
	method, path string
	err          error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("flowgladapi: %s %s: %v", e.method, e.path, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

// Is makes every transport failure match ErrUnavailable.
func (e *transportError) Is(target error) bool { return target == ErrUnavailable }
