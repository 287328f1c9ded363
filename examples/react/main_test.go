package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

// testLogger sends the app's logs to the test output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startApp builds the app against a fake Flowglad API, as with a real key (no webhooks, no
// billing cache), and serves it.
func startApp(t *testing.T) (*httptest.Server, *flowgladapitest.Server) {
	t.Helper()
	app, fake, _ := startAppFull(t, 0)
	return app, fake
}

// startAppFull is startApp, and also returns the app, whose usage recorder a test may
// flush by hand; flushEvery is the recorder's interval (0: the demo's).
func startAppFull(t *testing.T, flushEvery time.Duration) (*httptest.Server, *flowgladapitest.Server, *demoApp) {
	t.Helper()
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	a, err := newApp(appConfig{FlowgladAPIKey: fake.APIKey(), FlowgladBaseURL: fake.URL, Logger: testLogger(t),
		FlushInterval: flushEvery})
	require.NoError(t, err)
	t.Cleanup(a.Close)
	app := httptest.NewServer(a)
	t.Cleanup(app.Close)
	return app, fake, a
}

// startDemo builds the app as `go run` does without a key: the embedded fake, the webhook
// endpoints registered with the app's own URL, and the billing cache. It returns the
// embedded fake, whose state and webhook deliveries the test inspects.
func startDemo(t *testing.T) (*httptest.Server, *flowgladapitest.Fake) {
	t.Helper()
	app := httptest.NewUnstartedServer(nil) // listening: its URL is known
	t.Cleanup(app.Close)
	a, err := newApp(appConfig{PublicURL: "http://" + app.Listener.Addr().String(), Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(a.Close) // runs before app.Close: no delivery outlives the app
	require.True(t, a.backend.UsesFake())
	app.Config.Handler = a
	app.Start()
	return app, a.backend.Fake
}

// signIn signs c in as a demo user.
func signIn(t *testing.T, c *http.Client, appURL, userID string) {
	t.Helper()
	r := call(t, c, "POST", appURL+"/demo/login", `{"userId":"`+userID+`"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

// newClient returns a client with a cookie jar, like a browser tab.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func call(t *testing.T, c *http.Client, method, url, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "body %s", b)
	return m
}

// assetRef matches the asset URLs in index.html.
var assetRef = regexp.MustCompile(`"(/assets/[^"]+\.(js|css))"`)

func TestStaticSite(t *testing.T) {
	app, _ := startApp(t)
	c := app.Client()

	index := call(t, c, "GET", app.URL+"/", "")
	require.Equal(t, http.StatusOK, index.status)
	assert.Equal(t, "text/html; charset=utf-8", index.header.Get("Content-Type"))
	assert.Equal(t, "no-cache", index.header.Get("Cache-Control"))
	assert.Contains(t, string(index.body), `<div id="root">`)
	assert.Contains(t, index.header.Get("Content-Security-Policy"), "default-src 'self'")

	// The page's own script and stylesheet, by the names index.html gives them.
	assets := map[string]string{}
	for _, m := range assetRef.FindAllStringSubmatch(string(index.body), -1) {
		assets[m[2]] = m[1]
	}
	require.Len(t, assets, 2, "index.html names a script and a stylesheet")

	tests := []struct {
		name, path  string
		status      int
		contentType string
		page        bool
	}{
		{"script", assets["js"], http.StatusOK, "text/javascript; charset=utf-8", false},
		{"stylesheet", assets["css"], http.StatusOK, "text/css; charset=utf-8", false},
		{"client-side route falls back to the page", "/account/billing", http.StatusOK, "text/html; charset=utf-8", true},
		{"missing asset", "/assets/missing.js", http.StatusNotFound, "", false},
		{"missing file", "/favicon.ico", http.StatusNotFound, "", false},
		{"unknown API path", "/api/other", http.StatusNotFound, "", false},
		{"unknown demo path", "/demo/nope", http.StatusNotFound, "application/json", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, c, "GET", app.URL+tt.path, "")
			assert.Equal(t, tt.status, r.status)
			if tt.contentType != "" {
				assert.Equal(t, tt.contentType, r.header.Get("Content-Type"))
			}
			assert.Equal(t, tt.page, strings.Contains(string(r.body), `<div id="root">`))
			if tt.status == http.StatusOK && !tt.page {
				assert.Contains(t, r.header.Get("Cache-Control"), "immutable")
			}
		})
	}

	t.Run("POST to a page is refused", func(t *testing.T) {
		r := call(t, c, "POST", app.URL+"/", "{}")
		assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	})
}

func TestDemoSignInAndBilling(t *testing.T) {
	app, fake := startApp(t)
	c := newClient(t)

	users := decode(t, call(t, c, "GET", app.URL+"/demo/users", "").body)["users"].([]any)
	require.Len(t, users, 3)
	assert.Equal(t, map[string]any{"id": "user_alice", "name": "Alice Example", "email": "alice@example.com", "note": "Pro plan"}, users[0])
	assert.Equal(t, "user_carol", users[2].(map[string]any)["id"])

	assert.Equal(t, map[string]any{"user": nil}, decode(t, call(t, c, "GET", app.URL+"/demo/session", "").body))

	billing := func() response {
		return call(t, c, "POST", app.URL+"/api/flowglad/customers/billing", "{}")
	}
	signedOut := billing()
	assert.Equal(t, http.StatusUnauthorized, signedOut.status)
	assert.Equal(t, "unauthenticated", decode(t, signedOut.body)["error"].(map[string]any)["code"])

	login := call(t, c, "POST", app.URL+"/demo/login", `{"userId":"user_alice"}`)
	require.Equal(t, http.StatusOK, login.status, "%s", login.body)
	assert.Equal(t, "user_alice", decode(t, login.body)["user"].(map[string]any)["id"])
	cookie := login.header.Get("Set-Cookie")
	assert.Contains(t, cookie, "HttpOnly")
	assert.Contains(t, cookie, "SameSite=Lax")
	assert.NotContains(t, cookie, "user_alice", "the cookie holds a session id, not the user id")

	assert.Equal(t, "user_alice", decode(t, call(t, c, "GET", app.URL+"/demo/session", "").body)["user"].(map[string]any)["id"])

	fake.ResetRequests()
	signedIn := billing()
	require.Equal(t, http.StatusOK, signedIn.status, "%s", signedIn.body)
	data := decode(t, signedIn.body)["data"].(map[string]any)
	assert.Equal(t, "user_alice", data["customer"].(map[string]any)["externalId"])
	require.NotEmpty(t, fake.Requests())
	assert.Equal(t, "/api/v1/customers/user_alice/billing", fake.Requests()[0].Path)

	logout := call(t, c, "POST", app.URL+"/demo/logout", "{}")
	assert.Equal(t, http.StatusOK, logout.status)
	assert.Equal(t, map[string]any{"user": nil}, decode(t, call(t, c, "GET", app.URL+"/demo/session", "").body))
	assert.Equal(t, http.StatusUnauthorized, billing().status)
}

func TestDemoLoginRejects(t *testing.T) {
	app, _ := startApp(t)
	tests := []struct {
		name   string
		body   string
		header []string
		status int
	}{
		{"unknown user", `{"userId":"user_mallory"}`, nil, http.StatusBadRequest},
		{"not JSON", `userId=user_alice`, nil, http.StatusBadRequest},
		{"cross-site browser request", `{"userId":"user_alice"}`, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, newClient(t), "POST", app.URL+"/demo/login", tt.body, tt.header...)
			assert.Equal(t, tt.status, r.status, "%s", r.body)
			assert.Empty(t, r.header.Get("Set-Cookie"))
		})
	}
}

func TestSessionCookieIsNotTheUserID(t *testing.T) {
	app, _ := startApp(t)
	// A visitor who forges a cookie holding a user id gets nobody.
	r := call(t, app.Client(), "POST", app.URL+"/api/flowglad/customers/billing", "{}",
		"Cookie", sessionCookie+"=user_alice")
	assert.Equal(t, http.StatusUnauthorized, r.status)
}

// Without a key, newApp starts the embedded fake: the whole app works offline, including a
// customer who is new to Flowglad.
func TestEmbeddedFake(t *testing.T) {
	app, _ := startDemo(t)
	c := newClient(t)

	signIn(t, c, app.URL, "user_carol")
	r := call(t, c, "POST", app.URL+"/api/flowglad/customers/billing", "{}")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "user_carol", decode(t, r.body)["data"].(map[string]any)["customer"].(map[string]any)["externalId"])

	checkout := call(t, c, "POST", app.URL+"/api/flowglad/checkout-sessions/create",
		`{"priceSlug":"pro-monthly","successUrl":"`+app.URL+`/?checkout=success","cancelUrl":"`+app.URL+`/?checkout=cancel"}`)
	require.Equal(t, http.StatusOK, checkout.status, "%s", checkout.body)
	url, _ := decode(t, checkout.body)["data"].(map[string]any)["url"].(string)
	assert.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), "checkout URL %q points at the embedded fake", url)
	page := call(t, c, "GET", url, "")
	assert.Equal(t, http.StatusOK, page.status)
	assert.Contains(t, string(page.body), "Complete checkout")
}
