package spectest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const billingPath = "/api/v1/customers/user_alice/billing"

// billingFixture returns testdata/billing.json decoded, so each case can
// break it in one place.
func billingFixture(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/billing.json")
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func firstSubscription(m map[string]any) map[string]any {
	return m["subscriptions"].([]any)[0].(map[string]any)
}

func TestValidateResponseBilling(t *testing.T) {
	s := Load(t)
	tests := []struct {
		name    string
		mutate  func(m map[string]any)
		wantErr string // substring of the error; "" = valid
	}{
		{name: "valid", mutate: func(map[string]any) {}},
		{name: "valid with current subscription", mutate: func(m map[string]any) {
			m["currentSubscription"] = firstSubscription(m)
			m["currentSubscriptions"] = []any{firstSubscription(m)}
		}},
		{name: "extra key", wantErr: "additional properties 'nickname'", mutate: func(m map[string]any) {
			m["customer"].(map[string]any)["nickname"] = "al"
		}},
		{name: "missing required key", wantErr: "billingPortalUrl", mutate: func(m map[string]any) {
			delete(m, "billingPortalUrl")
		}},
		{name: "bad status enum", wantErr: "status", mutate: func(m map[string]any) {
			firstSubscription(m)["status"] = "sleeping"
		}},
		{name: "renews false on a renewing shape", wantErr: "renews", mutate: func(m map[string]any) {
			firstSubscription(m)["renews"] = false
		}},
		{name: "null currentSubscription", wantErr: "currentSubscription", mutate: func(m map[string]any) {
			m["currentSubscription"] = nil
		}},
		{name: "string timestamp", wantErr: "createdAt", mutate: func(m map[string]any) {
			m["customer"].(map[string]any)["createdAt"] = "2026-01-01T00:00:00Z"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := billingFixture(t)
			tt.mutate(m)
			body, err := json.Marshal(m)
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodGet, billingPath, nil)
			err = s.ValidateResponse(req, http.StatusOK, nil, body)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestValidateResponseSkipsErrors(t *testing.T) {
	s := Load(t)
	req := httptest.NewRequest(http.MethodGet, billingPath, nil)
	// The live server's error shape, which the spec's error schemas reject.
	body := []byte(`{"error":"Customer not found","code":"NOT_FOUND","request_id":"req_1"}`)
	assert.NoError(t, s.ValidateResponse(req, http.StatusNotFound, nil, body))
}

func TestValidateRequest(t *testing.T) {
	s := Load(t)
	const checkout = `{"checkoutSession":{"type":%q,"customerExternalId":"user_alice","successUrl":"https://app.example.com/ok","cancelUrl":"https://app.example.com/no","priceSlug":"pro-monthly","anonymous":false}}`
	tests := []struct {
		name    string
		method  string
		path    string
		auth    string
		body    string
		wantErr string
	}{
		{name: "checkout product", method: http.MethodPost, path: "/api/v1/checkout-sessions", auth: "sk_test",
			body: strings.Replace(checkout, "%q", `"product"`, 1)},
		{name: "checkout bad type", method: http.MethodPost, path: "/api/v1/checkout-sessions", auth: "sk_test",
			body: strings.Replace(checkout, "%q", `"subscription"`, 1), wantErr: "request body"},
		{name: "no authorization", method: http.MethodPost, path: "/api/v1/checkout-sessions",
			body: strings.Replace(checkout, "%q", `"product"`, 1), wantErr: "Authorization"},
		{name: "cancel bad timing", method: http.MethodPost, path: "/api/v1/subscriptions/sub_1/cancel", auth: "sk_test",
			body: `{"cancellation":{"timing":"tomorrow"}}`, wantErr: "request body"},
		{name: "usages repeated keys", method: http.MethodGet, path: "/api/v1/resource-claims/sub_1/usages?resourceSlugs=a&resourceSlugs=b", auth: "sk_test"},
		{name: "unknown route", method: http.MethodGet, path: "/api/v1/nope", auth: "sk_test", wantErr: "no operation"},
		{name: "checkout without its required body", method: http.MethodPost, path: "/api/v1/checkout-sessions", auth: "sk_test", wantErr: "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req := httptest.NewRequest(tt.method, tt.path, body)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			err := s.ValidateRequest(req)
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			}
			// The body must still be readable by whoever serves the request.
			if tt.body != "" {
				got, err := io.ReadAll(req.Body)
				require.NoError(t, err)
				assert.Equal(t, tt.body, string(got))
			}
		})
	}
}

// recordingTB captures Errorf calls so the middleware's reports can be
// asserted on without failing the enclosing test.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}

func TestMiddleware(t *testing.T) {
	s := Load(t)
	valid, err := os.ReadFile("testdata/billing.json")
	require.NoError(t, err)
	tests := []struct {
		name     string
		path     string
		auth     string
		status   int
		body     string
		wantErrs int
	}{
		{name: "valid", path: billingPath, auth: "k", status: 200, body: string(valid)},
		{name: "invalid 2xx body", path: billingPath, auth: "k", status: 200, body: `{"customer":{}}`, wantErrs: 1},
		{name: "error body not checked", path: billingPath, auth: "k", status: 404, body: `{"error":"Customer not found"}`},
		{name: "missing auth", path: billingPath, status: 200, body: string(valid), wantErrs: 1},
		{name: "non-api path passes through", path: "/checkout/cs_1", status: 200, body: "<html></html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rtb := &recordingTB{TB: t}
			h := s.Middleware(rtb)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			assert.Len(t, rtb.errs, tt.wantErrs)
			assert.Equal(t, tt.status, rr.Code)
			assert.Equal(t, tt.body, rr.Body.String(), "the response must reach the client unchanged")
		})
	}
}

func TestLoadFile(t *testing.T) {
	_, err := loadFile("testdata/does-not-exist.json")
	assert.ErrorIs(t, err, os.ErrNotExist)

	raw, err := json.Marshal(map[string]any{"a": map[string]any{"pattern": emailPattern}, "b": []any{map[string]any{"pattern": emailPattern}}, "c": "x"})
	require.NoError(t, err)
	out, n, err := patchPatterns(raw)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.NotContains(t, string(out), "(?!")
}

// A 2xx answer must have a status and a Content-Type the operation documents.
func TestValidateResponseStatusAndContentType(t *testing.T) {
	s := Load(t)
	body, err := json.Marshal(billingFixture(t))
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, billingPath, nil)
	assert.NoError(t, s.ValidateResponse(req, http.StatusOK, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body))
	err = s.ValidateResponse(req, http.StatusOK, http.Header{"Content-Type": {"text/plain"}}, body)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Content-Type")
	err = s.ValidateResponse(req, http.StatusPartialContent, nil, body)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "206")
	err = s.ValidateResponse(req, http.StatusOK, nil, []byte(`{"customer":`))
	require.Error(t, err)
}
