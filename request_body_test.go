package flowglad_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/flowglad-go/flowglad"
	"github.com/stretchr/testify/assert"
)

// TestRequestBodyLengths: the body is read whole and bounded whatever its declared length
// says. A body of declared length is read into one buffer of that length (the handler's
// fast path); one longer than declared (a request built by hand: net/http's server stops a
// body at its length) is read on to its end, one shorter to its end as well; one declared
// or found longer than MaxBodyBytes is a 413; a read that fails is a 400. No Flowglad call
// for any refused body.
func TestRequestBodyLengths(t *testing.T) {
	t.Parallel()
	const maxBody = 64
	big := `{"k":"` + strings.Repeat("x", maxBody) + `"}`
	tests := []struct {
		name   string
		body   io.Reader
		length int64 // the declared Content-Length; -1 unknown
		status int
		code   string
	}{
		{"declared, as sent", strings.NewReader(`{}`), 2, 200, ""},
		{"declared, the empty body of a server", http.NoBody, 0, 200, ""},
		// Read as declared only, `{"a` would not be an object.
		{"declared shorter than sent: read to the end", strings.NewReader(`{"a":1}`), 3, 200, ""},
		{"declared longer than sent: read to the end", strings.NewReader(`{}`), 10, 200, ""},
		{"declared, not an object", strings.NewReader(`[1]`), 3, 400, "invalid_json"},
		{"declared, the read fails", io.MultiReader(strings.NewReader(`{`), iotest.ErrReader(errors.New("connection reset"))), 2, 400, "invalid_json"},
		{"declared, the read fails after the whole body", io.MultiReader(strings.NewReader(`{}`), iotest.ErrReader(errors.New("connection reset"))), 2, 400, "invalid_json"},
		{"declared too long", strings.NewReader(big), int64(len(big)), 413, "body_too_large"},
		{"declared within the bound, longer than it", strings.NewReader(big), 2, 413, "body_too_large"},
		// {"k":"…"} is 8 bytes and the x's.
		{"declared at the bound, as sent", strings.NewReader(`{"k":"` + strings.Repeat("x", maxBody-8) + `"}`), maxBody, 200, ""},
		{"declared at the bound, one byte more sent", strings.NewReader(`{"k":"` + strings.Repeat("x", maxBody-7) + `"}`), maxBody, 413, "body_too_large"},
		{"unknown length", iotest.OneByteReader(strings.NewReader(`{}`)), -1, 200, ""},
		{"unknown length, too long", iotest.OneByteReader(strings.NewReader(big)), -1, 413, "body_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, withConfig(func(c *flowglad.Config) { c.MaxBodyBytes = maxBody }))
			r := httptest.NewRequest(http.MethodPost, "/api/flowglad/customers/billing", nil)
			r.Body, r.ContentLength = io.NopCloser(tc.body), tc.length
			if tc.body == http.NoBody {
				r.Body = http.NoBody
			}
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Test-User", userAlice)
			w := httptest.NewRecorder()
			env.h.ServeHTTP(w, r)
			res := &response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
			if tc.code == "" {
				assert.Equal(t, tc.status, res.Status, "body: %s", res.Body)
				assert.True(t, bytes.HasPrefix(res.Body, []byte(`{"data":`)), "body: %.80s", res.Body)
				return
			}
			res.assertError(t, tc.status, tc.code)
			assert.Empty(t, env.calls(), "no Flowglad call for a refused body")
		})
	}
}
