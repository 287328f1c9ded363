package flowglad_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
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
