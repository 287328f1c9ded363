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

// browserData is browserPost for an action that must succeed: it checks the 200 and
// returns the answer's data.
func browserData(t *testing.T, srv *httptest.Server, prefix, key, body string, noBody bool) map[string]any {
	t.Helper()
	status, env := browserPost(t, srv, prefix, key, body, noBody)
	require.Equal(t, http.StatusOK, status, "%v", env)
	data, _ := env["data"].(map[string]any)
	return data
}

// onMux mounts a handler on a new http.ServeMux at pattern.
func onMux(pattern string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle(pattern, h)
		return mux
	}
}

// onChiMount mounts a handler on a new chi router at path.
func onChiMount(path string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		r := chi.NewRouter()
		r.Mount(path, h)
		return r
	}
}

func TestMountings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		basePath string
		prefix   string // where the React SDK's requests go
		mount    func(h http.Handler) http.Handler
	}{
		{"stdlib subtree", "", "/api/flowglad", onMux("/api/flowglad/")},
		{"stdlib method and wildcard pattern", "", "/api/flowglad", onMux("POST /api/flowglad/{action...}")},
		{"stdlib StripPrefix", "", "/api/flowglad", func(h http.Handler) http.Handler {
			return onMux("/api/flowglad/")(http.StripPrefix("/api/flowglad", h))
		}},
		{"chi Mount", "", "/api/flowglad", onChiMount("/api/flowglad")},
		{"chi Handle with a wildcard", "", "/api/flowglad", func(h http.Handler) http.Handler {
			r := chi.NewRouter()
			r.Handle("/api/flowglad/*", h)
			return r
		}},
		{"custom BasePath", "/billing/fg", "/billing/fg", onMux("/billing/fg/")},
		{"custom BasePath under chi", "/billing/fg", "/billing/fg", onChiMount("/billing/fg")},
		{"custom BasePath with a trailing slash", "/billing/fg/", "/billing/fg", onMux("/billing/fg/")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, withConfig(func(c *flowglad.Config) { c.BasePath = tc.basePath }))
			srv := httptest.NewServer(tc.mount(env.h))
			t.Cleanup(srv.Close)

			data := browserData(t, srv, tc.prefix, "customers/billing", `{}`, false)
			cust, _ := data["customer"].(map[string]any)
			assert.Equal(t, "user_alice", cust["externalId"])
			assert.Equal(t, []string{aliceBilling}, env.calls())

			data = browserData(t, srv, tc.prefix, "resources/usages/retrieve", `{"resourceSlug": "seats"}`, false)
			usage, _ := data["usage"].(map[string]any)
			assert.Equal(t, "seats", usage["resourceSlug"])
			assert.Equal(t, []string{aliceBilling, aliceUsage + "?resourceSlug=seats"}, env.calls())

			data = browserData(t, srv, tc.prefix, "resources/usages", ``, true)
			assert.Len(t, data["resources"], 1)
			env.calls()

			data = browserData(t, srv, tc.prefix, "customerDetails", `{}`, false)
			cust, _ = data["customer"].(map[string]any)
			assert.Equal(t, "cus_alice", cust["id"])
			assert.Equal(t, []string{aliceBilling}, env.calls())

			for _, unknown := range []string{"customers/nope", "customerdetails", "resources/usages/retrieve/x"} {
				status, body := browserPost(t, srv, tc.prefix, unknown, `{}`, false)
				assert.Equal(t, http.StatusNotFound, status, unknown)
				e, _ := body["error"].(map[string]any)
				assert.Equal(t, "unknown_action", e["code"], unknown)
				assert.NotContains(t, body, "data")
			}
			assert.Empty(t, env.calls(), "unknown keys make no call")
		})
	}
}
