package flowglad_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

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
