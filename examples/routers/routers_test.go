package routers_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/examples/routers"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// newApp starts each router's server over one fake Flowglad API. X-User stands in for the
// host's session.
func newApp(t *testing.T, mount func(*flowglad.Handler, http.Handler) http.Handler) (*httptest.Server, *flowgladapitest.Server) {
	t.Helper()
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  fake.APIKey(),
		BaseURL: fake.URL,
		Auth: flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
			if id := r.Header.Get("X-User"); id != "" {
				return flowglad.Customer{ExternalID: id}, nil
			}
			return flowglad.Customer{}, flowglad.ErrUnauthenticated
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	generate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.CustomerFrom(r.Context())
		middleware.SetUsage(r.Context(), 10)
		_, _ = io.WriteString(w, "generated for "+c.ExternalID)
	})
	srv := httptest.NewServer(mount(h, generate))
	t.Cleanup(srv.Close)
	return srv, fake
}

func post(t *testing.T, srv *httptest.Server, path, user, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("X-User", user)
	}
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func TestRouters(t *testing.T) {
	mounts := map[string]func(*flowglad.Handler, http.Handler) http.Handler{
		"gin":  func(h *flowglad.Handler, g http.Handler) http.Handler { return routers.Gin(h, g) },
		"echo": func(h *flowglad.Handler, g http.Handler) http.Handler { return routers.Echo(h, g) },
	}
	for name, mount := range mounts {
		t.Run(name, func(t *testing.T) {
			srv, fake := newApp(t, mount)

			// The route, as the React SDK calls it.
			status, body := post(t, srv, "/api/flowglad/features/access", flowgladapitest.DemoCustomerAlice, `{}`)
			require.Equal(t, http.StatusOK, status, body)
			var features struct {
				Data struct {
					Features []struct{ Slug string } `json:"features"`
				} `json:"data"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &features))
			require.NotEmpty(t, features.Data.Features)
			assert.Equal(t, "premium", features.Data.Features[0].Slug)
			status, _ = post(t, srv, "/api/flowglad/customers/billing", "", `{}`)
			assert.Equal(t, http.StatusUnauthorized, status)
			status, _ = post(t, srv, "/api/flowglad/no-such-action", flowgladapitest.DemoCustomerAlice, `{}`)
			assert.Equal(t, http.StatusNotFound, status)

			// The gated, metered endpoint.
			status, body = post(t, srv, "/api/generate", flowgladapitest.DemoCustomerAlice, `{}`)
			assert.Equal(t, http.StatusOK, status)
			assert.Equal(t, "generated for user_alice", body)
			status, body = post(t, srv, "/api/generate", flowgladapitest.DemoCustomerBob, `{}`)
			assert.Equal(t, http.StatusForbidden, status)
			assert.Contains(t, body, `"code":"feature_required"`)
			status, _ = post(t, srv, "/api/generate", "", `{}`)
			assert.Equal(t, http.StatusUnauthorized, status)

			events := fake.UsageEvents()
			require.Len(t, events, 1, "only Alice's 2xx was metered")
			assert.Equal(t, int64(10), events[0].Amount)
			assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, events[0].SubscriptionID)
		})
	}
}
