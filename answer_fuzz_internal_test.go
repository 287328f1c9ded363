package flowglad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// FuzzWriteError: whatever error WriteError is given (an *Error a host built by hand, with
// any status, code, message and details; Flowglad's error with any text; a failed usage
// event; anything else), the answer is one JSON object of at most maxErrorAnswer bytes, an
// error status, the route's headers, {"error": {"code", "message", "json": {"message"}}}
// with the same message twice, and no "data" key. Its seeds are the f.Add calls below.
func FuzzWriteError(f *testing.F) {
	// Inputs stay small (so the fuzzer minimizes quickly); grow repeats the message and
	// detailValue up to about 1 MB to reach answers over the bound.
	f.Add(uint8(0), 400, "invalid_body", "invalid request body", "issues", "successUrl", 3, uint8(0), int64(0))
	f.Add(uint8(0), 0, "", "", "", "", 0, uint8(0), int64(0))
	f.Add(uint8(0), 200, "ok", "a success status on an error", "data", "x", 0, uint8(0), int64(0))
	f.Add(uint8(0), 402, "pay", "long", "blob", "0123456789", 0, uint8(17), int64(0))
	f.Add(uint8(1), 404, "NOT_FOUND", "Customer not found", "", "", 0, uint8(0), int64(0))
	f.Add(uint8(1), 429, "TOO_MANY_REQUESTS", "slow down", "", "", 0, uint8(0), int64(3600))
	f.Add(uint8(2), 503, "", "outage", "", "tx_1", 0, uint8(12), int64(0))
	f.Add(uint8(3), 0, "", "boom", "", "", 0, uint8(0), int64(0))
	f.Add(uint8(4), 400, "invalid_body", "mmmmmmmmmm", "path", "pppppppppp", 2000, uint8(7), int64(0))
	f.Add(uint8(5), 400, "", "é", "", "\u2028", 2000, uint8(10), int64(0))
	f.Fuzz(func(t *testing.T, kind uint8, status int, code, message, detailKey, detailValue string, n int, grow uint8, retryAfter int64) {
		times := 1 << (grow % 21)
		message = strings.Repeat(message, max(1, min(times, (1<<20)/(len(message)+1))))
		detailValue = strings.Repeat(detailValue, max(1, min(times, (1<<20)/(len(detailValue)+1))))
		// Keep each run fast: the issues repeat detailValue and code n times.
		n = max(0, min(n, 2000, (4<<20)/(len(detailValue)+len(code)+1)))
		var err error
		switch kind % 6 {
		case 0: // an *Error built by hand, with one detail
			err = &Error{Status: status, Code: code, Message: message, Details: map[string]any{detailKey: detailValue}}
		case 1: // Flowglad refused
			err = fmt.Errorf("wrapped: %w", &flowgladapi.Error{StatusCode: status, Code: code, Message: message,
				RetryAfter: time.Duration(retryAfter) * time.Second, Body: []byte(detailValue)})
		case 2: // a usage event of unknown outcome
			err = &UsageEventError{TransactionID: detailValue, Err: &flowgladapi.Error{StatusCode: status, Message: message}}
		case 3: // anything else
			err = errors.New(message)
		case 4: // an *Error with many issues, as a host might build one
			issues := make([]Issue, n)
			for i := range issues {
				issues[i] = Issue{Path: detailValue, Message: code}
			}
			err = &Error{Status: status, Code: code, Message: message, Details: map[string]any{"issues": issues, detailKey: detailValue}}
		case 5: // the validation of a body with n problems
			is := &issueList{}
			for range n {
				is.add(detailValue, message)
			}
			if err = is.err(); err == nil {
				err = invalidBody(nil)
			}
		}

		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/api/flowglad/x", nil).WithContext(context.Background())
		WriteError(w, r, err)

		res := w.Result()
		body := w.Body.Bytes()
		if len(body) > maxErrorAnswer {
			t.Fatalf("answer of %d bytes (> %d)", len(body), maxErrorAnswer)
		}
		if res.StatusCode < 400 || res.StatusCode > 599 {
			t.Fatalf("status %d is not an error status", res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control %q", cc)
		}
		if !isRequestID(res.Header.Get(requestIDHeader)) {
			t.Fatalf("X-Request-Id %q", res.Header.Get(requestIDHeader))
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("answer is not a JSON object: %v: %.200s", err, body)
		}
		if _, ok := env["data"]; ok {
			t.Fatalf("answer carries data: %.200s", body)
		}
		var e struct {
			Code    string                     `json:"code"`
			Message string                     `json:"message"`
			JSON    map[string]json.RawMessage `json:"json"`
		}
		if err := json.Unmarshal(env["error"], &e); err != nil {
			t.Fatalf("no error object: %v: %.200s", err, body)
		}
		var jsonMessage string
		if err := json.Unmarshal(e.JSON["message"], &jsonMessage); err != nil || jsonMessage != e.Message {
			t.Fatalf("json.message %q differs from message %q", jsonMessage, e.Message)
		}
		if e.Code == "" || e.Message == "" {
			t.Fatalf("empty code %q or message %q", e.Code, e.Message)
		}
	})
}
