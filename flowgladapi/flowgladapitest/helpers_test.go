package flowgladapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/internal/spectest"
)

// testNow is the fixed clock of the tests: 2026-01-01T00:00:00Z.
var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

// newSpecServer starts a demo-seeded fake whose every /api exchange is
// validated against the OpenAPI document when it is available (the
// behaviour under test is checked either way).
func newSpecServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	spec := spectest.LoadOptional(t)
	base := []Option{WithSeed(DemoSeed()), WithClock(fixedClock), WithMiddleware(spec.Middleware(t))}
	return NewServer(t, append(base, opts...)...)
}

// newPlainServer starts a demo-seeded fake without spec validation, for
// requests the spec forbids (no auth, unknown routes, invalid bodies).
func newPlainServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	base := []Option{WithSeed(DemoSeed()), WithClock(fixedClock)}
	return NewServer(t, append(base, opts...)...)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// call sends method path with body (a string, or anything marshalled as
// JSON; nil = none) and the fake's key.
func call(t *testing.T, s *Server, method, path string, body any) response {
	t.Helper()
	return callAuth(t, s, method, path, body, s.APIKey())
}

func callAuth(t *testing.T, s *Server, method, path string, body any, auth string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	require.NoError(t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.HTTPServer.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// ok asserts a 200 and returns the decoded body.
func ok(t *testing.T, r response) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	return r.json(t)
}

// errOf returns the error of a call's two results.
func errOf[T any](_ T, err error) error { return err }

// dig walks a decoded JSON value by keys and indexes.
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, isMap := v.(map[string]any)
			require.True(t, isMap, "at %q: not an object: %v", k, v)
			v = m[k]
		case int:
			a, isArr := v.([]any)
			require.True(t, isArr, "at [%d]: not an array: %v", k, v)
			require.Less(t, k, len(a))
			v = a[k]
		}
	}
	return v
}

// balanceOf finds the available balance of meter slug in a current
// subscription's experimental.usageMeterBalances.
func balanceOf(t *testing.T, sub any, slug string) float64 {
	t.Helper()
	for _, b := range dig(t, sub, "experimental", "usageMeterBalances").([]any) {
		if b.(map[string]any)["slug"] == slug {
			return b.(map[string]any)["availableBalance"].(float64)
		}
	}
	t.Fatalf("no balance for %q", slug)
	return 0
}

// featureSlugs lists the slugs of a subscription's experimental.featureItems.
func featureSlugs(t *testing.T, sub any) []string {
	t.Helper()
	var out []string
	for _, fi := range dig(t, sub, "experimental", "featureItems").([]any) {
		out = append(out, fi.(map[string]any)["slug"].(string))
	}
	return out
}

func checkoutBody(typ string, fields map[string]any) map[string]any {
	cs := map[string]any{
		"type":       typ,
		"successUrl": "https://app.example.com/success",
		"cancelUrl":  "https://app.example.com/cancel",
	}
	for k, v := range fields {
		cs[k] = v
	}
	return map[string]any{"checkoutSession": cs}
}

// send is call with ctx, returning the client's error instead of failing the
// test: for faults that leave no response. It may run off the test
// goroutine.
func send(ctx context.Context, s *Server, method, path string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", s.APIKey())
	resp, err := s.HTTPServer.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: raw}, err
}
