package flowgladapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sentinels = []error{
	flowgladapi.ErrNotFound, flowgladapi.ErrUnauthorized, flowgladapi.ErrForbidden,
	flowgladapi.ErrBadRequest, flowgladapi.ErrRateLimited, flowgladapi.ErrServer,
	flowgladapi.ErrInvalidResponse,
}

// TestErrorShapes feeds every error body shape Flowglad (or a proxy in front
// of it) produces through the client and checks the decoded *Error.
func TestErrorShapes(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 200<<10)
	tests := []struct {
		name        string
		status      int
		contentType string
		header      map[string]string
		body        string
		wantCode    string
		wantMsg     string
		wantReqID   string
		wantRetry   time.Duration
		wantIs      error
		wantString  string
		wantBodyLen int // 0: len(body)
	}{
		{
			name: "live server string error", status: 404, contentType: "application/json",
			body:     `{"error":"Customer with externalId u1 not found","code":"NOT_FOUND","request_id":"req_body"}`,
			wantCode: "NOT_FOUND", wantMsg: "Customer with externalId u1 not found", wantReqID: "req_body",
			wantIs:     flowgladapi.ErrNotFound,
			wantString: "flowgladapi: GET /api/v1/customers/u1: 404 NOT_FOUND: Customer with externalId u1 not found",
		},
		{
			name: "live server object error, header request id wins", status: 400, contentType: "application/json",
			header:   map[string]string{"X-Request-Id": "req_header"},
			body:     `{"error": {"message": "bad", "path": ["x"]}, "code": "BAD_REQUEST", "request_id": "req_body"}`,
			wantCode: "BAD_REQUEST", wantMsg: `{"message":"bad","path":["x"]}`, wantReqID: "req_header",
			wantIs: flowgladapi.ErrBadRequest,
		},
		{
			name: "live server zod issues array", status: 400, contentType: "application/json",
			body:     `{"error":[{"code":"invalid_type","expected":"string","path":["customer","email"]}],"code":"BAD_REQUEST","request_id":"r1"}`,
			wantCode: "BAD_REQUEST", wantMsg: `[{"code":"invalid_type","expected":"string","path":["customer","email"]}]`, wantReqID: "r1",
			wantIs: flowgladapi.ErrBadRequest,
		},
		{
			name: "invalid JSON body error has no code", status: 400, contentType: "application/json",
			body:    `{"error":"Invalid JSON in request body","request_id":"r2"}`,
			wantMsg: "Invalid JSON in request body", wantReqID: "r2", wantIs: flowgladapi.ErrBadRequest,
			wantString: "flowgladapi: GET /api/v1/customers/u1: 400 Bad Request: Invalid JSON in request body",
		},
		{
			name: "spec shape", status: 403, contentType: "application/json",
			body:     `{"code":"FORBIDDEN","message":"Not allowed","issues":[{"message":"nope"}]}`,
			wantCode: "FORBIDDEN", wantMsg: "Not allowed", wantIs: flowgladapi.ErrForbidden,
		},
		{
			name: "message wins over error", status: 409, contentType: "application/json",
			body:     `{"message":"from message","error":"from error","code":"CONFLICT"}`,
			wantCode: "CONFLICT", wantMsg: "from message", wantIs: flowgladapi.ErrBadRequest,
		},
		{
			name: "401 text/plain", status: 401, contentType: "text/plain",
			header:  map[string]string{"X-Request-Id": "req_401"},
			body:    "Unauthorized. Authorization header is required, e.g. 'Authorization: Bearer <token>'\n",
			wantMsg: "Unauthorized. Authorization header is required, e.g. 'Authorization: Bearer <token>'", wantReqID: "req_401",
			wantIs: flowgladapi.ErrUnauthorized,
		},
		{
			name: "404 text/plain unknown route", status: 404, contentType: "text/plain",
			body: "Not Found", wantMsg: "Not Found", wantIs: flowgladapi.ErrNotFound,
			wantString: "flowgladapi: GET /api/v1/customers/u1: 404 Not Found: Not Found",
		},
		{
			name: "empty body 500", status: 500, wantIs: flowgladapi.ErrServer,
			wantString: "flowgladapi: GET /api/v1/customers/u1: 500 Internal Server Error",
		},
		{
			name: "JSON string body", status: 422, contentType: "application/json",
			body: `"unprocessable"`, wantMsg: "unprocessable", wantIs: flowgladapi.ErrBadRequest,
		},
		{
			name: "JSON null error falls back to nothing", status: 502, contentType: "application/json",
			body: `{"error":null}`, wantIs: flowgladapi.ErrServer,
		},
		{
			name: "numeric error", status: 400, contentType: "application/json",
			body: `{"error":42,"code":7}`, wantMsg: "42", wantIs: flowgladapi.ErrBadRequest,
		},
		{
			name: "broken JSON is text", status: 503, contentType: "application/json",
			body: `{"error": "unterminated`, wantMsg: `{"error": "unterminated`, wantIs: flowgladapi.ErrServer,
		},
		{
			name: "HTML from a proxy", status: 504, contentType: "text/html",
			body: "<html><body>Gateway Timeout</body></html>", wantMsg: "<html><body>Gateway Timeout</body></html>", wantIs: flowgladapi.ErrServer,
		},
		{
			name: "429 with Retry-After seconds", status: 429, contentType: "application/json",
			header:   map[string]string{"Retry-After": "4"},
			body:     `{"error":"Too many requests","code":"TOO_MANY_REQUESTS"}`,
			wantCode: "TOO_MANY_REQUESTS", wantMsg: "Too many requests", wantRetry: 4 * time.Second, wantIs: flowgladapi.ErrRateLimited,
		},
		{
			name: "408", status: 408, body: "", wantIs: flowgladapi.ErrServer,
		},
		{
			name: "huge text body is capped", status: 500, contentType: "text/plain",
			body: huge, wantIs: flowgladapi.ErrServer, wantBodyLen: 64 << 10,
			wantMsg: strings.Repeat("x", 1024) + "…",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := newStub(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}, flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{}))
			_, err := c.GetCustomer(t.Context(), "u1")
			require.Error(t, err)
			assertNoSecret(t, err)
			assert.Len(t, s.requests(), 1)

			var apiErr *flowgladapi.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.wantCode, apiErr.Code)
			assert.Equal(t, tt.wantMsg, apiErr.Message)
			assert.Equal(t, tt.wantReqID, apiErr.RequestID)
			assert.Equal(t, tt.wantRetry, apiErr.RetryAfter)
			assert.Equal(t, "GET", apiErr.Method)
			assert.Equal(t, "/api/v1/customers/u1", apiErr.Path)
			wantLen := tt.wantBodyLen
			if wantLen == 0 {
				wantLen = len(tt.body)
			}
			assert.Len(t, apiErr.Body, wantLen)
			if tt.wantString != "" {
				assert.Equal(t, tt.wantString, err.Error())
			}
			for _, s := range sentinels {
				assert.Equal(t, s == tt.wantIs, errors.Is(err, s), "errors.Is(err, %v)", s)
			}
		})
	}
}

// TestErrorIs pins the status → sentinel table, including statuses no test
// server above produces.
func TestErrorIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   error
	}{
		{400, flowgladapi.ErrBadRequest},
		{401, flowgladapi.ErrUnauthorized},
		{403, flowgladapi.ErrForbidden},
		{404, flowgladapi.ErrNotFound},
		{405, flowgladapi.ErrBadRequest},
		{408, flowgladapi.ErrServer},
		{409, flowgladapi.ErrBadRequest},
		{422, flowgladapi.ErrBadRequest},
		{429, flowgladapi.ErrRateLimited},
		{500, flowgladapi.ErrServer},
		{503, flowgladapi.ErrServer},
		{302, nil},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			err := &flowgladapi.Error{StatusCode: tt.status}
			for _, s := range sentinels {
				assert.Equal(t, s == tt.want, errors.Is(err, s), "errors.Is(%d, %v)", tt.status, s)
			}
			assert.False(t, errors.Is(err, errors.New("other")))
		})
	}
}

// TestErrorRedactsKey checks that a server echoing the key back (a
// misconfigured proxy, say) cannot leak it through Error.
func TestErrorRedactsKey(t *testing.T) {
	t.Parallel()
	c, _ := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "API key invalid: "+r.Header.Get("Authorization"))
	})
	_, err := c.GetCustomer(t.Context(), "u1")
	require.Error(t, err)
	assertNoSecret(t, err)
	var apiErr *flowgladapi.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "API key invalid: [REDACTED]", apiErr.Message)
	assert.True(t, errors.Is(err, flowgladapi.ErrUnauthorized))
}

// TestErrorRedactsKeyForms: the key is redacted from Message (and Body) in
// every form a server may echo it in, and before the message is cut to 1 KiB,
// so that no piece of it survives the cut. The keys hold characters that
// JSON, query and path escaping each write differently.
func TestErrorRedactsKeyForms(t *testing.T) {
	t.Parallel()
	keys := []string{
		testKey,
		`sk_test_q"u<o>t&e\d` + "/sl+sh=eq ual%pct",
		"sk_live_ünï😀code/?#x",
	}
	jsonEsc := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b[1 : len(b)-1])
	}
	// echoes are the texts a server could put in a body, given the key.
	echoes := []struct {
		name        string
		contentType string
		body        func(key string) string
	}{
		{"raw text", "text/plain", func(k string) string { return "invalid key " + k }},
		{"JSON string", "application/json", func(k string) string { return `{"error":"invalid key ` + jsonEsc(k) + `"}` }},
		{"JSON object error", "application/json", func(k string) string {
			return `{"error":{"message":"bad header","received":"` + jsonEsc(k) + `"},"code":"UNAUTHORIZED"}`
		}},
		{"query-escaped", "text/plain", func(k string) string { return "GET /x?key=" + url.QueryEscape(k) }},
		{"path-escaped", "text/plain", func(k string) string { return "no route /keys/" + url.PathEscape(k) }},
		{"Authorization header", "text/plain", func(k string) string { return "Authorization: Bearer " + k }},
		{"cut by the server", "application/json", func(k string) string { return `{"error":"key ` + k[:12] + `…"}` }},
		{"straddling our 1 KiB cut", "text/plain", func(k string) string { return strings.Repeat("x", 1024-10) + k }},
		{"JSON-escaped, straddling the cut", "application/json", func(k string) string {
			return `{"error":"` + strings.Repeat("y", 1024-5) + jsonEsc(k) + `"}`
		}},
	}
	for ki, key := range keys {
		for _, e := range echoes {
			t.Run(strconv.Itoa(ki)+"/"+e.name, func(t *testing.T) {
				t.Parallel()
				srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					assert.Equal(t, key, r.Header.Get("Authorization"))
					w.Header().Set("Content-Type", e.contentType)
					w.WriteHeader(http.StatusUnauthorized)
					_, _ = io.WriteString(w, e.body(r.Header.Get("Authorization")))
				}))
				c, err := flowgladapi.NewClient(key, flowgladapi.WithBaseURL(srv))
				require.NoError(t, err)
				_, err = c.GetCustomer(t.Context(), "u1")
				var apiErr *flowgladapi.Error
				require.ErrorAs(t, err, &apiErr)
				assert.Contains(t, string(apiErr.Body), "[REDACTED]")
				assert.Contains(t, apiErr.Message, "[REDA", "the mask, maybe cut itself")
				assert.LessOrEqual(t, len(apiErr.Message), 1024+len("…"))
				for _, text := range []string{err.Error(), apiErr.Message, string(apiErr.Body), fmt.Sprintf("%+v", err)} {
					assertNoKeyPiece(t, key, text)
				}
			})
		}
	}
}

// assertNoKeyPiece checks that no 8 bytes of key, in any of the forms it can
// be echoed in, are in text.
func assertNoKeyPiece(t *testing.T, key, text string) {
	t.Helper()
	b, _ := json.Marshal(key)
	var plain strings.Builder // JSON as a server that does not escape HTML writes it
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(key)
	p := strings.TrimSpace(plain.String())
	forms := []string{key, string(b[1 : len(b)-1]), p[1 : len(p)-1], url.QueryEscape(key), url.PathEscape(key)}
	for _, form := range forms {
		for i := 0; i+8 <= len(form); i++ {
			if !assert.NotContains(t, text, form[i:i+8], "a piece of the key (form %q)", form) {
				return
			}
		}
	}
}

// TestInvalidResponses checks 2xx bodies that are not the JSON a call needs.
// A body that is not JSON at all is a garbled answer, asked again when the
// call is idempotent; JSON of the wrong kind or shape is final.
func TestInvalidResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		attempts int
		call     func(c *flowgladapi.Client, t *testing.T) error
	}{
		{"non-JSON 200", "<html>hello</html>", 3, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.GetCustomer(t.Context(), "u1")
			return err
		}},
		{"empty 200", "", 3, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.GetSubscription(t.Context(), "s1")
			return err
		}},
		{"truncated JSON", `{"customer":`, 3, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.GetCustomer(t.Context(), "u1")
			return err
		}},
		{"array where object expected (final)", `[]`, 1, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.GetCustomer(t.Context(), "u1")
			return err
		}},
		{"object where array expected (final)", `{}`, 1, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.ListResourceUsages(t.Context(), "s1", flowgladapi.ResourceUsagesQuery{})
			return err
		}},
		{"usage event cut short (transactionId fixed)", `{"usageEvent":{"id":`, 3, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.CreateUsageEvent(t.Context(), flowgladapi.UsageEventParams{SubscriptionID: "s1", Amount: 1, UsageMeterSlug: "m"})
			return err
		}},
		{"checkout cut short (no dedupe key)", `{"checkoutSession":`, 1, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.CreateCheckoutSession(t.Context(), flowgladapi.CheckoutSessionParams{Type: flowgladapi.CheckoutSessionProduct, CustomerExternalID: "u1", PriceSlug: "p", SuccessURL: "https://a.example/ok", CancelURL: "https://a.example/no"})
			return err
		}},
		{"create customer without data", `{"customer":{}}`, 1, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.CreateCustomer(t.Context(), flowgladapi.CreateCustomerParams{ExternalID: "u1"})
			return err
		}},
		{"create customer with non-object data", `{"data":[1]}`, 1, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.CreateCustomer(t.Context(), flowgladapi.CreateCustomerParams{ExternalID: "u1"})
			return err
		}},
		{"billing with wrong field type", `{"customer":{"id":5}}`, 1, func(c *flowgladapi.Client, t *testing.T) error {
			_, err := c.GetBilling(t.Context(), "u1")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := newStub(t, jsonReply(http.StatusOK, tt.body))
			recordWaits(c)
			err := tt.call(c, t)
			require.Error(t, err)
			assertNoSecret(t, err)
			assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse)
			var apiErr *flowgladapi.Error
			assert.False(t, errors.As(err, &apiErr), "a 2xx is never an *Error")
			assert.Regexp(t, `^flowgladapi: (GET|POST) /api/v1/\S+: invalid response: `, err.Error())
			assert.NotContains(t, err.Error(), "flowgladapi: flowgladapi")
			assert.Len(t, s.requests(), tt.attempts)
		})
	}
}

func TestParseErrorBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, code, msg, reqID string
	}{
		{"", "", "", ""},
		{"   \n", "", "", ""},
		{`{"code":5,"message":7,"error":"e","request_id":9}`, "", "e", ""},
		{`{"message":"","error":"fallback"}`, "", "fallback", ""},
		{`{"error":{"a":1}}`, "", `{"a":1}`, ""},
		{`"quoted`, "", `"quoted`, ""},
		{`[1,2]`, "", `[1,2]`, ""},
	}
	for _, tt := range tests {
		code, msg, reqID := flowgladapi.ParseErrorBody([]byte(tt.body))
		assert.Equal(t, tt.code, code, tt.body)
		assert.Equal(t, tt.msg, msg, tt.body)
		assert.Equal(t, tt.reqID, reqID, tt.body)
	}
}
