package flowglad_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonEscaped returns s as it appears inside a JSON string written by encoding/json.
func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// logValues returns every string value of every log line, decoded: what a reader of the
// log sees, whatever the handler's own escaping.
func logValues(t *testing.T, env *testEnv) []string {
	t.Helper()
	var out []string
	for _, l := range logLines(t, env) {
		for _, v := range l {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestLogRedactsEscapedPII: Flowglad's error bodies quote what they were sent, escaped
// inside their JSON or a URL, or lower-cased; the customer's name and email are kept out of
// the log line in every such form, on a 5xx (Error) and a 4xx (Debug) alike.
func TestLogRedactsEscapedPII(t *testing.T) {
	t.Parallel()
	quoted := flowglad.Customer{ExternalID: "user_quoted", Name: `Zoë "Z" O'Neil <CEO> & Co`, Email: "Zoe.ONeil+bills@Example.com"}
	forms := []string{
		quoted.Name, jsonEscaped(quoted.Name), `Zoë \"Z\" O'Neil <CEO> & Co`, url.QueryEscape(quoted.Name), url.PathEscape(quoted.Name),
		quoted.Email, url.QueryEscape(quoted.Email), url.PathEscape(quoted.Email),
	}
	bodies := []struct{ name, body string }{
		{"JSON-escaped name in an error object", `{"error":{"message":"customer ` + jsonEscaped(quoted.Name) + ` is invalid"},"code":"BAD_REQUEST"}`},
		{"name escaped as JSON.stringify does", `{"error":{"message":"customer Zoë \"Z\" O'Neil <CEO> & Co","path":["name"]},"code":"BAD_REQUEST"}`},
		{"query-escaped email", `{"error":{"message":"no match","url":"/customers?email=` + url.QueryEscape(quoted.Email) + `"}}`},
		{"path-escaped name and email", `{"error":["/c/` + url.PathEscape(quoted.Name) + `/` + url.PathEscape(quoted.Email) + `"]}`},
		{"lower-cased email", `{"error":"` + strings.ToLower(quoted.Email) + ` is taken","code":"CONFLICT"}`},
		{"as is, in a string error", `{"error":"` + jsonEscaped(quoted.Name+" <"+quoted.Email+">") + `"}`},
	}
	statuses := []struct {
		status, attempts int
		level            string
	}{{http.StatusInternalServerError, 3, "ERROR"}, {http.StatusConflict, 1, "DEBUG"}}
	for _, b := range bodies {
		for _, st := range statuses {
			t.Run(fmt.Sprintf("%s/%d", b.name, st.status), func(t *testing.T) {
				env := newEnv(t, withConfig(func(c *flowglad.Config) {
					c.Auth = flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) { return quoted, nil })
				}))
				env.fake.FailNext(st.attempts, flowgladapitest.Fault{Method: "GET", Path: "/api/v1/customers/user_quoted/billing",
					Status: st.status, Body: b.body})
				env.post("", "customers/billing", "{}")

				lines := logLines(t, env)
				require.NotEmpty(t, lines)
				assert.Equal(t, st.level, lines[len(lines)-1]["level"])
				assert.Contains(t, lines[len(lines)-1]["error"], "[REDACTED]")
				for _, v := range logValues(t, env) {
					for _, f := range forms {
						assert.NotContains(t, strings.ToLower(v), strings.ToLower(f))
					}
				}
			})
		}
	}
}

// sessionError is an authenticator's own error type, whose text holds an email.
type sessionError struct{ email string }

func (e *sessionError) Error() string { return "no session for " + e.email }

// TestAuthenticatorFailureLoggedByType: an authenticator's error or panic may quote an email
// or a token; the log says its type (and a panic's stack), never its text, on the 401, 500
// and hybrid (anonymous) paths alike. The error keeps its cause for errors.Is / errors.As.
func TestAuthenticatorFailureLoggedByType(t *testing.T) {
	t.Parallel()
	const secret = "bob.secret@example.com"
	tests := []struct {
		name     string
		auth     func() (flowglad.Customer, error)
		key      string
		status   int
		level    string
		wantType string
		panics   bool
	}{
		{"error", func() (flowglad.Customer, error) { return flowglad.Customer{}, errors.New("store down for " + secret) },
			"customers/billing", 500, "ERROR", "authenticator failed: *errors.errorString", false},
		{"typed error", func() (flowglad.Customer, error) { return flowglad.Customer{}, &sessionError{secret} },
			"customers/billing", 500, "ERROR", "authenticator failed: *flowglad_test.sessionError", false},
		{"no session, wrapped", func() (flowglad.Customer, error) {
			return flowglad.Customer{}, fmt.Errorf("no cookie for %s: %w", secret, flowglad.ErrUnauthenticated)
		}, "customers/billing", 401, "DEBUG", `authenticator failed: *fmt.wrapError wrapping "flowglad: unauthenticated"`, false},
		{"panic with a string", func() (flowglad.Customer, error) { panic("lookup failed for " + secret) },
			"customers/billing", 500, "ERROR", "recovered panic of type string", true},
		{"panic with an error", func() (flowglad.Customer, error) { panic(&sessionError{secret}) },
			"usage-events/create", 500, "ERROR", "recovered panic of type *flowglad_test.sessionError", true},
		{"hybrid route, error", func() (flowglad.Customer, error) { return flowglad.Customer{}, &sessionError{secret} },
			"pricing-models/retrieve", 200, "WARN", "authenticator failed: *flowglad_test.sessionError", false},
		{"hybrid route, panic", func() (flowglad.Customer, error) { panic("lookup failed for " + secret) },
			"pricing-models/retrieve", 200, "WARN", "recovered panic of type string", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, withConfig(func(c *flowglad.Config) {
				c.Auth = flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) { return tc.auth() })
			}))
			res := env.do(request{key: tc.key, body: "{}", headers: map[string]string{"X-Request-Id": "req-auth-1"}})
			assert.Equal(t, tc.status, res.Status, "body: %s", res.Body)
			assert.NotContains(t, string(res.Body), secret)

			logs := env.logs.String()
			assert.NotContains(t, logs, secret)
			found := false
			for _, l := range logLines(t, env) {
				if l["level"] != tc.level || l["action"] != tc.key {
					continue
				}
				found = true
				assert.Contains(t, l["error"], tc.wantType)
				assert.Equal(t, "req-auth-1", l["request_id"])
				if tc.panics {
					assert.Contains(t, l["stack"], "goroutine ", "a panic is logged with its stack")
				}
			}
			assert.True(t, found, "no %s line for %s in:\n%s", tc.level, tc.key, logs)

			// Handler.Authenticate, for middleware: the same text, the cause kept.
			_, err := env.h.Authenticate(httptest.NewRequest(http.MethodPost, "/x", nil))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), secret)
			var se *sessionError
			assert.Equal(t, strings.Contains(tc.wantType, "sessionError") && !tc.panics, errors.As(err, &se))
			assert.Equal(t, tc.status == 401, errors.Is(err, flowglad.ErrUnauthenticated))
		})
	}
}

// TestRequestIDHeader: every answer of the handler carries X-Request-Id: the request's own
// when it is a short token, else a new one of the handler's (newHandlerID); a 5xx repeats
// it in json.requestId, and the log line of a failure carries it.
func TestRequestIDHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		incoming string
		req      request
		status   int
		keep     bool // the incoming id is answered
	}{
		{"success", "req-abc_1.2", request{user: "user_alice", key: "customers/billing", body: "{}"}, 200, true},
		{"hybrid success, anonymous", "req-abc", request{key: "pricing-models/retrieve", body: "{}"}, 200, true},
		{"401", "req-abc", request{key: "customers/billing", body: "{}"}, 401, true},
		{"404 unknown action", "req-abc", request{user: "user_alice", key: "nope", body: "{}"}, 404, true},
		{"405", "req-abc", request{method: http.MethodGet, user: "user_alice", key: "customers/billing", noBody: true}, 405, true},
		{"400 invalid body", "req-abc", request{user: "user_alice", key: "usage-events/create", body: `{"amount": -1}`}, 400, true},
		{"500", "req-abc", request{user: "db-down", key: "customers/billing", body: "{}"}, 500, true},
		{"no id: a new one", "", request{user: "user_alice", key: "customers/billing", body: "{}"}, 200, false},
		{"no id on a 500: a new one", "", request{user: "db-down", key: "customers/billing", body: "{}"}, 500, false},
		{"too long: a new one", strings.Repeat("a", 65), request{user: "user_alice", key: "customers/billing", body: "{}"}, 200, false},
		{"unsafe characters: a new one", `req"1 <b>`, request{user: "db-down", key: "customers/billing", body: "{}"}, 500, false},
		{"non-ASCII: a new one", "réq-1", request{user: "user_alice", key: "customers/billing", body: "{}"}, 200, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			if tc.incoming != "" {
				tc.req.headers = map[string]string{"X-Request-Id": tc.incoming}
			}
			res := env.do(tc.req)
			require.Equal(t, tc.status, res.Status, "body: %s", res.Body)
			id := res.Header.Get("X-Request-Id")
			if tc.keep {
				assert.Equal(t, tc.incoming, id)
			} else {
				assert.Regexp(t, newHandlerID, id, "a new id: a random UUID")
			}
			if tc.status >= 500 {
				assert.Equal(t, id, res.assertError(t, tc.status, "internal_error")["requestId"])
			}
			handlerLines := 0
			for _, l := range logLines(t, env) {
				if l["action"] != nil { // the handler's lines, not the client's
					handlerLines++
					assert.Equal(t, id, l["request_id"], "the log line names the answer's id")
				}
			}
			if tc.status >= 400 {
				assert.Positive(t, handlerLines, "a failure is logged")
			}
		})
	}
}

// TestRequestIDWithUpstreamID: when Flowglad fails, the log line carries both our request id
// and Flowglad's own, for a support ticket; a refused key says so in its message.
func TestRequestIDWithUpstreamID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		code    string
		message string
	}{
		{"5xx", http.StatusServiceUnavailable, `{"error":"down","code":"SERVICE_UNAVAILABLE"}`, "flowglad_unavailable", "flowglad: request failed"},
		{"4xx relayed", http.StatusBadRequest, `{"error":"Price not active","code":"BAD_REQUEST"}`, "flowglad_rejected", "flowglad: request failed"},
		{"401 in plain text to a key that never worked", http.StatusUnauthorized, "Unauthorized", "flowglad_auth_failed",
			"flowglad: Flowglad refused the API key: it is wrong or lacks access; check FLOWGLAD_SECRET_KEY (Config.APIKey)"},
		{"403", http.StatusForbidden, `{"error":"Forbidden","code":"FORBIDDEN"}`, "flowglad_auth_failed",
			"flowglad: Flowglad refused the API key: it is wrong or lacks access; check FLOWGLAD_SECRET_KEY (Config.APIKey)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stub := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Request-Id", "flowglad-req-42")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			env := newEnv(t, withStub(stub))
			res := env.do(request{user: "user_alice", key: "customers/billing", body: "{}",
				headers: map[string]string{"X-Request-Id": "ours-7"}})
			assert.Equal(t, "ours-7", res.Header.Get("X-Request-Id"))
			var line logLine
			for _, l := range logLines(t, env) {
				if l["code"] == tc.code {
					line = l
				}
			}
			require.NotNil(t, line, "no log line with code %s in:\n%s", tc.code, env.logs.String())
			assert.Equal(t, "ours-7", line["request_id"])
			assert.Equal(t, "flowglad-req-42", line["flowglad_request_id"])
			assert.Equal(t, tc.message, line["msg"])
		})
	}
}

// TestKeyRefusedLogged: a key that never worked and is refused is logged at Error as a wrong
// key, naming the setting to fix.
func TestKeyRefusedLogged(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withConfig(func(c *flowglad.Config) { c.APIKey = "sk_test_revoked_key" }))
	res := env.post("user_alice", "customers/billing", "{}")
	res.assertError(t, http.StatusBadGateway, "flowglad_auth_failed")
	found := false
	for _, l := range logLines(t, env) {
		if l["code"] == "flowglad_auth_failed" {
			found = true
			assert.Equal(t, "ERROR", l["level"])
			assert.Equal(t, "flowglad: Flowglad refused the API key: it is wrong or lacks access; check FLOWGLAD_SECRET_KEY (Config.APIKey)", l["msg"])
			assert.NotEmpty(t, l["flowglad_request_id"], "the fake's id of the refused request")
		}
	}
	assert.True(t, found, env.logs.String())
	assert.NotContains(t, env.logs.String(), "sk_test_revoked_key")
}

// newHandlerID is the form of the request ids a Handler makes for requests that bring none
// (README: "else a new UUID"): a random version 4 UUID.
var newHandlerID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestRequestIDsUnique: the ids a handler makes for requests that bring none are unique,
// among concurrent requests and between handlers, and not in order (they must not count the
// requests a handler answered): a user's report names one request.
func TestRequestIDsUnique(t *testing.T) {
	t.Parallel()
	const handlers, goroutines, perGoroutine = 2, 8, 200
	seen := make(map[string]bool, handlers*goroutines*perGoroutine)
	var malformed []string
	var last string
	ordered := 0
	for range handlers {
		h, err := flowglad.NewHandler(flowglad.Config{
			APIKey:  "sk_test_ids",
			BaseURL: "https://flowglad.invalid",
			// Every request is a 401: no Flowglad call, an id all the same.
			Auth: flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
				return flowglad.Customer{}, flowglad.ErrUnauthenticated
			}),
		})
		require.NoError(t, err)
		ids := make([][]string, goroutines)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for range perGoroutine {
					w := httptest.NewRecorder()
					r := httptest.NewRequest(http.MethodPost, "/api/flowglad/customers/billing", strings.NewReader("{}"))
					r.Header.Set("Content-Type", "application/json")
					h.ServeHTTP(w, r)
					ids[g] = append(ids[g], w.Header().Get("X-Request-Id"))
				}
			})
		}
		wg.Wait()
		for _, batch := range ids {
			for _, id := range batch {
				if !newHandlerID.MatchString(id) {
					malformed = append(malformed, id)
					continue
				}
				assert.False(t, seen[id], "id %q given twice", id)
				seen[id] = true
				if id > last {
					ordered++
				}
				last = id
			}
		}
	}
	assert.Empty(t, malformed[:min(len(malformed), 3)], "ids not of the handler's form (%d in all)", len(malformed))
	assert.Len(t, seen, handlers*goroutines*perGoroutine)
	// Random ids rise about half the time in a row; counted ones always do.
	assert.Less(t, ordered, len(seen)*3/4, "ids in order")
}

// TestWriteErrorRequestID: WriteError answers with X-Request-Id too: the one already set on
// the response (by the host's middleware), else the request's, else a new one; a 5xx
// repeats it in the body.
func TestWriteErrorRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		onResponse, inReq string
		err               error
		want              string // "": a new UUID
	}{
		{"from the request", "", "host-1", errors.New("boom"), "host-1"},
		{"already on the response", "mw-7", "host-1", errors.New("boom"), "mw-7"},
		{"invalid on the response: the request's", "bad id", "host-1", errors.New("boom"), "host-1"},
		{"none: a new one", "", "", errors.New("boom"), ""},
		{"a 4xx too", "", "host-2", &flowglad.Error{Status: 403, Code: "forbidden", Message: "no"}, "host-2"},
		{"a Flowglad failure", "", "host-3", &flowgladapi.Error{StatusCode: 502}, "host-3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/generate", nil)
			if tc.inReq != "" {
				r.Header.Set("X-Request-Id", tc.inReq)
			}
			w := httptest.NewRecorder()
			if tc.onResponse != "" {
				w.Header().Set("X-Request-Id", tc.onResponse)
			}
			flowglad.WriteError(w, r, tc.err)
			id := w.Header().Get("X-Request-Id")
			if tc.want != "" {
				assert.Equal(t, tc.want, id)
			} else {
				_, err := uuid.Parse(id)
				assert.NoError(t, err, "a new id is a UUID: %q", id)
			}
			var env struct {
				Error struct {
					JSON map[string]any `json:"json"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &env))
			if w.Code >= 500 {
				assert.Equal(t, id, env.Error.JSON["requestId"])
			} else {
				assert.NotContains(t, env.Error.JSON, "requestId")
			}
		})
	}
}
