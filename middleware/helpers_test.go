package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/require"
)

// route sends a request for the action key to the handler's route, as user, as the React
// SDK does (a JSON POST), with headers (name, value, ...).
func (e *env) route(key, user, body string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/flowglad/"+key, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if user != "" {
		r.Header.Set("X-User", user)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// addFree gives Alice, on Pro, a newer Free subscription and returns its id.
func (e *env) addFree() string {
	sub, err := e.fake.AddSubscription(flowgladapitest.DemoCustomerAlice, flowgladapitest.Subscription{
		Items: []flowgladapitest.SubscriptionItem{{PriceSlug: flowgladapitest.DemoPriceFreeMonthly}},
	})
	require.NoError(e.t, err)
	return sub.ID
}

// countCalls counts the fake's calls "METHOD /path" in calls.
func countCalls(calls []string, call string) int {
	n := 0
	for _, c := range calls {
		if c == call {
			n++
		}
	}
	return n
}

// errorMessage returns error.message of an error envelope.
func errorMessage(t *testing.T, body []byte) string {
	t.Helper()
	var env struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &env))
	return env.Error.Message
}

// containsStr reports whether v is a string containing sub.
func containsStr(v any, sub string) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, sub)
}
