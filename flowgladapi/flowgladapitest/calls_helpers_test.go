package flowgladapitest

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// catalogIDs maps the slugs of the default pricing model's prices and
// usage meters to their ids, read through the API as a client would.
// Meters are keyed "meter:<slug>".
func catalogIDs(t *testing.T, s *Server) map[string]string {
	t.Helper()
	pm := ok(t, call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil))
	ids := map[string]string{}
	for _, p := range dig(t, pm, "pricingModel", "products").([]any) {
		for _, pr := range dig(t, p, "prices").([]any) {
			ids[dig(t, pr, "slug").(string)] = dig(t, pr, "id").(string)
		}
	}
	for _, m := range dig(t, pm, "pricingModel", "usageMeters").([]any) {
		ids["meter:"+dig(t, m, "slug").(string)] = dig(t, m, "id").(string)
		for _, pr := range dig(t, m, "prices").([]any) {
			ids[dig(t, pr, "slug").(string)] = dig(t, pr, "id").(string)
		}
	}
	return ids
}

// stateView is everything observable about the demo customers: the
// accessors' copies and the API's own bodies.
type stateView struct {
	Customers []Customer
	Events    []UsageEvent
	Sessions  []CheckoutSession
	Claims    []Claim
	Bodies    []string
}

func viewState(t *testing.T, s *Server) stateView {
	t.Helper()
	v := stateView{
		Customers: s.Customers(),
		Events:    s.UsageEvents(),
		Sessions:  s.CheckoutSessions(),
		Claims:    s.Claims(DemoAliceSubscriptionID),
	}
	for _, path := range []string{
		"/api/v1/customers/" + DemoCustomerAlice,
		"/api/v1/customers/" + DemoCustomerAlice + "/billing",
		"/api/v1/customers/" + DemoCustomerBob,
		"/api/v1/customers/" + DemoCustomerBob + "/billing",
	} {
		r := call(t, s, http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", path, r.body)
		v.Bodies = append(v.Bodies, string(r.body))
	}
	return v
}

// diffState names the first difference between two views, "" when they
// are equal; it keeps a failure readable where assert.Equal would print
// every billing body.
func diffState(a, b stateView) string {
	switch {
	case !reflect.DeepEqual(a.Customers, b.Customers):
		return fmt.Sprintf("Customers: %+v\nbecame %+v", a.Customers, b.Customers)
	case !reflect.DeepEqual(a.Events, b.Events):
		return fmt.Sprintf("UsageEvents: %+v\nbecame %+v", a.Events, b.Events)
	case !reflect.DeepEqual(a.Sessions, b.Sessions):
		return fmt.Sprintf("CheckoutSessions: %+v\nbecame %+v", a.Sessions, b.Sessions)
	case !reflect.DeepEqual(a.Claims, b.Claims):
		return fmt.Sprintf("Claims: %+v\nbecame %+v", a.Claims, b.Claims)
	}
	for i := range a.Bodies {
		x, y := a.Bodies[i], b.Bodies[i]
		if x == y {
			continue
		}
		n := 0
		for n < len(x) && n < len(y) && x[n] == y[n] {
			n++
		}
		from := max(n-60, 0)
		return fmt.Sprintf("body %d differs at byte %d: %q\nbecame %q", i, n, x[from:min(n+60, len(x))], y[from:min(n+60, len(y))])
	}
	return ""
}

// refusalCase is a request the fake refuses, with the error it answers.
type refusalCase struct {
	name        string
	method      string
	path        string
	body        any
	wantStatus  int
	wantCode    string // "" = no code key
	wantMessage string // substring
}

// assertAPIError checks the live server's error shape: JSON {"error",
// "code", "request_id"}, code absent when wantCode is "".
func assertAPIError(t *testing.T, r response, wantStatus int, wantCode, wantMessage string) {
	t.Helper()
	require.Equal(t, wantStatus, r.status, "body: %s", r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	m := r.json(t)
	assert.Contains(t, m["error"], wantMessage)
	if wantCode == "" {
		assert.NotContains(t, m, "code")
	} else {
		assert.Equal(t, wantCode, m["code"])
	}
	assert.Equal(t, r.header.Get("X-Request-Id"), m["request_id"])
}

// browserOf is a client of s that, like a browser's test driver, reports a
// redirect instead of following it.
func browserOf(s *Server) *http.Client {
	c := *s.HTTPServer.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// completeCheckout presses the complete button of the checkout page at url
// and checks the redirect to the session's successUrl.
func completeCheckout(t *testing.T, browser *http.Client, url string) {
	t.Helper()
	resp, err := browser.Post(url+"/complete", "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "https://app.example.com/success", resp.Header.Get("Location"))
}
