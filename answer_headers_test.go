package flowglad_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAnswerHeadersOwnedByEachAnswer: the route's headers are set without a slice per value
// (the constant ones are shared by every answer; the request id and Content-Length share
// one), yet a host's middleware that adds to or sets a header of one answer, in the very
// map the handler wrote, changes that answer only: not the next answer's, nor another
// header of its own.
func TestAnswerHeadersOwnedByEachAnswer(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	serve := func(user string) http.Header {
		r := httptest.NewRequest(http.MethodPost, "/api/flowglad/customers/billing", strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/json")
		if user != "" {
			r.Header.Set("X-Test-User", user)
		}
		w := httptest.NewRecorder()
		env.h.ServeHTTP(w, r)
		return w.Header() // the handler's own map, not a copy
	}
	first := serve(userAlice)
	id, length := first.Get("X-Request-Id"), first.Get("Content-Length")
	require.NotEmpty(t, id)
	require.NotEmpty(t, length)

	// What a host's middleware may do to the answer's header after the handler.
	first.Add("X-Request-Id", "proxy-7")
	first.Add("Cache-Control", "private")
	first.Add("Content-Type", "charset=utf-8")
	first.Set("X-Content-Type-Options", "changed")
	assert.Equal(t, []string{id, "proxy-7"}, first.Values("X-Request-Id"))
	assert.Equal(t, []string{length}, first.Values("Content-Length"), "an append to the request id left the length alone")

	for _, user := range []string{userAlice, ""} { // "": a 401, the error answer's headers
		next := serve(user)
		assert.Equal(t, []string{"application/json"}, next.Values("Content-Type"))
		assert.Equal(t, []string{"no-store"}, next.Values("Cache-Control"))
		assert.Equal(t, []string{"nosniff"}, next.Values("X-Content-Type-Options"))
		assert.Len(t, next.Values("X-Request-Id"), 1)
		assert.NotEqual(t, id, next.Get("X-Request-Id"))
		assert.Len(t, next.Values("Content-Length"), 1)
	}
}
