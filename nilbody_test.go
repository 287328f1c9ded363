package flowglad_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNilRequestBody: a request built by hand with no Body (nil) is served as an empty
// body, not a panic.
func TestNilRequestBody(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	for _, tc := range []struct {
		key    string
		status int
	}{
		{"customers/billing", http.StatusOK},
		{"resources/usages", http.StatusOK},
		{"subscriptions/cancel", http.StatusBadRequest},
	} {
		t.Run(tc.key, func(t *testing.T) {
			r, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "/api/flowglad/"+tc.key, nil)
			require.NoError(t, err)
			require.Nil(t, r.Body)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Test-User", userAlice)
			w := httptest.NewRecorder()
			assert.NotPanics(t, func() { env.h.ServeHTTP(w, r) })
			assert.Equal(t, tc.status, w.Code, "body: %s", w.Body)
		})
	}
}

// TestUnreadableRequestBody: a body that fails while being read (a client gone mid-upload)
// is a 400 invalid_json, and nothing reaches Flowglad.
func TestUnreadableRequestBody(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	r := httptest.NewRequest(http.MethodPost, "/api/flowglad/customers/billing", iotest.ErrReader(errors.New("connection reset")))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Test-User", userAlice)
	w := httptest.NewRecorder()
	env.h.ServeHTTP(w, r)
	res := &response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
	res.assertError(t, http.StatusBadRequest, "invalid_json")
	assert.Empty(t, env.calls())
}
