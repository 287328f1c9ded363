package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

const frontend = "https://app.example.com"

func startApp(t *testing.T) (*httptest.Server, *flowgladapitest.Server) {
	t.Helper()
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	h, closeApp, err := newApp(appConfig{
		FlowgladAPIKey:  fake.APIKey(),
		FlowgladBaseURL: fake.URL,
		FrontendOrigins: []string{frontend},
		Logger:          slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	require.NoError(t, err)
	t.Cleanup(closeApp)
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)
	return app, fake
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// send makes a request; header holds name/value pairs. A JSON body is decoded.
func send(t *testing.T, method, url, body string, header ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(b) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(b, &a.body), "body %s", b)
	}
	return a
}

func errorCode(a answer) string {
	e, _ := a.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestBilling(t *testing.T) {
	app, fake := startApp(t)
	url := app.URL + "/api/flowglad/customers/billing"

	tests := []struct {
		name     string
		header   []string
		status   int
		code     string
		external string
	}{
		{"alice", []string{"Authorization", "Bearer token_alice"}, http.StatusOK, "", "user_alice"},
		{"bob", []string{"Authorization", "bearer token_bob"}, http.StatusOK, "", "user_bob"},
		{"signed out", nil, http.StatusUnauthorized, "unauthenticated", ""},
		{"unknown token", []string{"Authorization", "Bearer token_mallory"}, http.StatusUnauthorized, "unauthenticated", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.ResetRequests()
			a := send(t, http.MethodPost, url, "{}", append([]string{"Content-Type", "application/json"}, tt.header...)...)
			require.Equal(t, tt.status, a.status, "%v", a.body)
			if tt.status != http.StatusOK {
				assert.Equal(t, tt.code, errorCode(a))
				assert.Empty(t, fake.Requests(), "no Flowglad call without a session")
				return
			}
			customer, _ := a.body["data"].(map[string]any)["customer"].(map[string]any)
			assert.Equal(t, tt.external, customer["externalId"])
		})
	}
}

// The split-origin setup: the trusted frontend's preflight is answered and its POST is
// accepted (and readable, thanks to Access-Control-Allow-Origin); another origin's POST is
// refused by the handler's cross-origin check before any Flowglad call.
func TestCrossOrigin(t *testing.T) {
	app, fake := startApp(t)
	url := app.URL + "/api/flowglad/customers/billing"

	t.Run("preflight from the trusted origin", func(t *testing.T) {
		a := send(t, http.MethodOptions, url, "",
			"Origin", frontend,
			"Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type, authorization")
		assert.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, frontend, a.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "POST", a.header.Get("Access-Control-Allow-Methods"))
		assert.Contains(t, strings.ToLower(a.header.Get("Access-Control-Allow-Headers")), "authorization")
	})

	t.Run("preflight from an untrusted origin", func(t *testing.T) {
		a := send(t, http.MethodOptions, url, "",
			"Origin", "https://evil.example",
			"Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type, authorization")
		assert.Empty(t, a.header.Get("Access-Control-Allow-Origin"), "the browser will not send the POST")
	})

	tests := []struct {
		name   string
		origin string
		status int
		code   string
		acao   string
	}{
		{"POST from the trusted origin", frontend, http.StatusOK, "", frontend},
		{"POST from an untrusted origin", "https://evil.example", http.StatusForbidden, "cross_origin_forbidden", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.ResetRequests()
			// What a browser sends for a fetch from a page on another site.
			a := send(t, http.MethodPost, url, "{}",
				"Content-Type", "application/json",
				"Authorization", "Bearer token_alice",
				"Origin", tt.origin,
				"Sec-Fetch-Site", "cross-site")
			require.Equal(t, tt.status, a.status, "%v", a.body)
			assert.Equal(t, tt.code, errorCode(a))
			assert.Equal(t, tt.acao, a.header.Get("Access-Control-Allow-Origin"))
			if tt.status != http.StatusOK {
				assert.Empty(t, fake.Requests(), "no Flowglad call for a refused request")
			}
		})
	}
}

// Without a key the example starts the embedded fake and works offline.
func TestAppWithEmbeddedFake(t *testing.T) {
	h, closeApp, err := newApp(appConfig{FrontendOrigins: []string{frontend}})
	require.NoError(t, err)
	t.Cleanup(closeApp)
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)

	a := send(t, http.MethodPost, app.URL+"/api/flowglad/customers/billing", "{}",
		"Content-Type", "application/json", "Authorization", "Bearer token_alice")
	require.Equal(t, http.StatusOK, a.status, "%v", a.body)
}
