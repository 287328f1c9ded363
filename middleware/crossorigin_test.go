package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trustedOrigin is a frontend on another origin that the app trusts.
const trustedOrigin = "https://app.example.com"

func withTrustedOrigin(c *flowglad.Config) { c.TrustedOrigins = []string{trustedOrigin} }

// TestCrossSiteRequests: the gates and the meter read the session cookie through
// Config.Auth, so a cross-site browser POST with that cookie must not spend the user's
// balance: they refuse it as the route does (403 cross_origin_forbidden, the route's
// envelope), before authenticating it, and record nothing. A trusted origin, a request
// from no browser, and a safe method pass; AllowCrossOrigin turns the check off.
func TestCrossSiteRequests(t *testing.T) {
	crossSite := []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example", "Cookie", "session=alice"}
	fromTrusted := []string{"Sec-Fetch-Site", "cross-site", "Origin", trustedOrigin, "Cookie", "session=alice"}
	tests := []struct {
		name    string
		method  string
		headers []string
		opts    []middleware.Option
		status  int
	}{
		{"a cross-site POST", http.MethodPost, crossSite, nil, http.StatusForbidden},
		{"a same-site POST from a subdomain", http.MethodPost, []string{"Sec-Fetch-Site", "same-site", "Origin", "https://evil.example.com"}, nil, http.StatusForbidden},
		{"an Origin that is not the Host, without Sec-Fetch-Site", http.MethodPost, []string{"Origin", "https://evil.example"}, nil, http.StatusForbidden},
		{"a trusted origin", http.MethodPost, fromTrusted, nil, http.StatusOK},
		{"same origin", http.MethodPost, []string{"Sec-Fetch-Site", "same-origin"}, nil, http.StatusOK},
		{"no browser (curl, a server)", http.MethodPost, nil, nil, http.StatusOK},
		{"a cross-site GET", http.MethodGet, crossSite, nil, http.StatusOK},
		{"a cross-site POST with AllowCrossOrigin", http.MethodPost, crossSite, []middleware.Option{middleware.AllowCrossOrigin()}, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withTrustedOrigin)
			next := &ok{}
			h := middleware.RequireFeature(e.h, "premium", tc.opts...)(middleware.MeterUsage(e.h, "api-calls", tc.opts...)(next))
			r := httptest.NewRequest(tc.method, "http://api.example.com/api/generate", strings.NewReader(`{}`))
			r.Header.Set("X-User", "alice")
			for i := 0; i+1 < len(tc.headers); i += 2 {
				r.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			e.fake.ResetRequests()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tc.status, w.Code, "body: %s", w.Body)
			if tc.status == http.StatusOK {
				assert.Equal(t, 1, next.calls)
				assert.Len(t, e.events(flowgladapitest.DemoCustomerAlice), 1)
				return
			}
			assert.Equal(t, 0, next.calls, "the handler does not run")
			assert.Empty(t, e.calls(), "no Flowglad call")
			assert.Empty(t, e.events(flowgladapitest.DemoCustomerAlice), "nothing metered")
			code, _ := errorEnvelope(t, w)
			assert.Equal(t, "cross_origin_forbidden", code)

			// The route answers the same request the same way.
			rr := httptest.NewRequest(http.MethodPost, "http://api.example.com/api/flowglad/customers/billing", strings.NewReader(`{}`))
			rr.Header = r.Header.Clone()
			rr.Header.Set("Content-Type", "application/json")
			wr := httptest.NewRecorder()
			e.h.ServeHTTP(wr, rr)
			assert.Equal(t, w.Code, wr.Code)
			assert.JSONEq(t, wr.Body.String(), w.Body.String(), "the route's envelope")
		})
	}
}

// TestCrossSiteInAChain: in a chain, the origin is checked once, by the first middleware that
// checks it; an outer AllowCrossOrigin does not open an inner gate that did not say so.
func TestCrossSiteInAChain(t *testing.T) {
	e := newEnv(t)
	next := &ok{}
	h := middleware.MeterUsage(e.h, "api-calls", middleware.AllowCrossOrigin())(middleware.RequireFeature(e.h, "premium")(next))
	w := e.serve(h, "alice", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Equal(t, 0, next.calls)
	assert.Empty(t, e.events(flowgladapitest.DemoCustomerAlice))

	h = middleware.RequireFeature(e.h, "premium", middleware.AllowCrossOrigin())(middleware.MeterUsage(e.h, "api-calls", middleware.AllowCrossOrigin())(next))
	w = e.serve(h, "alice", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	assert.Equal(t, http.StatusOK, w.Code)
}

// plainBiller is a Biller of one's own, without CheckOrigin.
type plainBiller struct{ h *flowglad.Handler }

func (b plainBiller) Authenticate(r *http.Request) (flowglad.Customer, error) {
	return b.h.Authenticate(r)
}
func (b plainBiller) Service() *flowglad.Service { return b.h.Service() }

// TestCrossSiteWithABillerOfOnesOwn: a Biller without CheckOrigin still gets the check
// (http.CrossOriginProtection's, no trusted origin), answered with the same envelope.
func TestCrossSiteWithABillerOfOnesOwn(t *testing.T) {
	e := newEnv(t, withTrustedOrigin)
	var b middleware.Biller = plainBiller{e.h}
	_, isChecker := b.(middleware.OriginChecker)
	require.False(t, isChecker)
	var _ middleware.OriginChecker = e.h // the Handler is one
	next := &ok{}
	h := middleware.MeterUsage(b, "api-calls")(next)
	w := e.serve(h, "alice", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, w.Code)
	code, _ := errorEnvelope(t, w)
	assert.Equal(t, "cross_origin_forbidden", code)
	w = e.serve(h, "alice", "Sec-Fetch-Site", "cross-site", "Origin", trustedOrigin)
	assert.Equal(t, http.StatusForbidden, w.Code, "the handler's TrustedOrigins are not known to it")
	assert.Equal(t, http.StatusOK, e.serve(h, "alice", "Sec-Fetch-Site", "same-origin").Code)
	assert.Equal(t, 1, next.calls)
}

// TestHandlerCheckOrigin: the exported check returns the route's *flowglad.Error, a copy
// each time.
func TestHandlerCheckOrigin(t *testing.T) {
	e := newEnv(t, withTrustedOrigin)
	r := httptest.NewRequest(http.MethodPost, "/api/generate", nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("Origin", "https://evil.example")
	err := e.h.CheckOrigin(r)
	var fe *flowglad.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, http.StatusForbidden, fe.Status)
	assert.Equal(t, "cross_origin_forbidden", fe.Code)
	fe.Message = "changed"
	require.ErrorAs(t, e.h.CheckOrigin(r), &fe)
	assert.NotEqual(t, "changed", fe.Message)
	r.Header.Set("Origin", trustedOrigin)
	assert.NoError(t, e.h.CheckOrigin(r))
}
