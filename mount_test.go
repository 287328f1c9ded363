package flowglad_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browserPost sends what the React SDK sends: a POST with a JSON content type (and, for
// resources/usages, no body at all) to prefix + "/" + key on a real server.
func browserPost(t *testing.T, srv *httptest.Server, prefix, key, body string, noBody bool) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if !noBody {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+prefix+"/"+key, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-User", "user_alice")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var env map[string]any
	require.NoError(t, json.Unmarshal(raw, &env), "body: %s", raw)
	return resp.StatusCode, env
}

func TestMountings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		basePath string
		prefix   string // where the React SDK's requests go
		mount    func(h http.Handler) http.Handler
	}{
		{"stdlib subtree", "", "/api/flowglad", func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/api/flowglad/", h)
			return mux
		}},
		{"stdlib method and wildcard pattern", "", "/api/flowglad", func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("POST /api/flowglad/{action...}", h)
			return mux
		}},
		{"stdlib StripPrefix", "", "/api/flowglad", func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/api/flowglad/", http.StripPrefix("/api/flowglad", h))
			return mux
		}},
		{"chi Mount", "", "/api/flowglad", func(h http.Handler) http.Handler {
			r := chi.NewRouter()
			r.Mount("/api/flowglad", h)
			return r
		}},
		{"chi Handle with a wildcard", "", "/api/flowglad", func(h http.Handler) http.Handler {
			r := chi.NewRouter()
			r.Handle("/api/flowglad/*", h)
			return r
		}},
		{"custom BasePath", "/billing/fg", "/billing/fg", func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/billing/fg/", h)
			return mux
		}},
		{"custom BasePath under chi", "/billing/fg", "/billing/fg", func(h http.Handler) http.Handler {
			r := chi.NewRouter()
			r.Mount("/billing/fg", h)
			return r
		}},
		{"custom BasePath with a trailing slash", "/billing/fg/", "/billing/fg", func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/billing/fg/", h)
			return mux
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, withConfig(func(c *flowglad.Config) { c.BasePath = tc.basePath }))
			srv := httptest.NewServer(tc.mount(env.h))
			t.Cleanup(srv.Close)

			status, body := browserPost(t, srv, tc.prefix, "customers/billing", `{}`, false)
			require.Equal(t, http.StatusOK, status, "%v", body)
			data, _ := body["data"].(map[string]any)
			cust, _ := data["customer"].(map[string]any)
			assert.Equal(t, "user_alice", cust["externalId"])
			assert.Equal(t, []string{aliceBilling}, env.calls())

			status, body = browserPost(t, srv, tc.prefix, "resources/usages/retrieve", `{"resourceSlug": "seats"}`, false)
			require.Equal(t, http.StatusOK, status, "%v", body)
			data, _ = body["data"].(map[string]any)
			usage, _ := data["usage"].(map[string]any)
			assert.Equal(t, "seats", usage["resourceSlug"])
			assert.Equal(t, []string{aliceBilling, aliceUsage + "?resourceSlug=seats"}, env.calls())

			status, body = browserPost(t, srv, tc.prefix, "resources/usages", ``, true)
			require.Equal(t, http.StatusOK, status, "%v", body)
			data, _ = body["data"].(map[string]any)
			assert.Len(t, data["resources"], 1)
			env.calls()

			status, body = browserPost(t, srv, tc.prefix, "customerDetails", `{}`, false)
			require.Equal(t, http.StatusOK, status, "%v", body)
			data, _ = body["data"].(map[string]any)
			cust, _ = data["customer"].(map[string]any)
			assert.Equal(t, "cus_alice", cust["id"])
			assert.Equal(t, []string{aliceBilling}, env.calls())

			for _, unknown := range []string{"customers/nope", "customerdetails", "resources/usages/retrieve/x"} {
				status, body = browserPost(t, srv, tc.prefix, unknown, `{}`, false)
				assert.Equal(t, http.StatusNotFound, status, unknown)
				e, _ := body["error"].(map[string]any)
				assert.Equal(t, "unknown_action", e["code"], unknown)
				assert.NotContains(t, body, "data")
			}
			assert.Empty(t, env.calls(), "unknown keys make no call")
		})
	}
}
