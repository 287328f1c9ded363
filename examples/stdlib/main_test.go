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

// post sends a JSON POST with an optional session cookie and decodes the answer.
func post(t *testing.T, url, body, session string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: session})
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "body %s", b)
	return resp.StatusCode, m
}

func TestApp(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	h, closeApp, err := newApp(appConfig{
		FlowgladAPIKey:  fake.APIKey(),
		FlowgladBaseURL: fake.URL,
		Logger:          slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	require.NoError(t, err)
	t.Cleanup(closeApp)
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)

	tests := []struct {
		name     string
		session  string
		status   int
		external string // the customer billing is for, when 200
	}{
		{"alice", "sess_alice", http.StatusOK, "user_alice"},
		{"bob", "sess_bob", http.StatusOK, "user_bob"},
		{"signed out", "", http.StatusUnauthorized, ""},
		{"unknown session", "sess_mallory", http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.ResetRequests()
			status, body := post(t, app.URL+"/api/flowglad/customers/billing", "{}", tt.session)
			require.Equal(t, tt.status, status, "%v", body)
			if tt.status != http.StatusOK {
				assert.Equal(t, "unauthenticated", body["error"].(map[string]any)["code"])
				assert.Empty(t, fake.Requests(), "no Flowglad call without a session")
				return
			}
			customer := body["data"].(map[string]any)["customer"].(map[string]any)
			assert.Equal(t, tt.external, customer["externalId"])
			require.NotEmpty(t, fake.Requests())
			assert.Equal(t, "/api/v1/customers/"+tt.external+"/billing", fake.Requests()[0].Path)
		})
	}
}

// Without a key the example starts the embedded fake and works offline.
func TestAppWithEmbeddedFake(t *testing.T) {
	h, closeApp, err := newApp(appConfig{})
	require.NoError(t, err)
	t.Cleanup(closeApp)
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)

	status, body := post(t, app.URL+"/api/flowglad/customers/billing", "{}", "sess_alice")
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, "user_alice", body["data"].(map[string]any)["customer"].(map[string]any)["externalId"])
}
