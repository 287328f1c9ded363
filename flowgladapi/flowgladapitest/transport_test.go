package flowgladapitest

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFaultCodes: an injected status without a Code gets the tRPC
// code Flowglad sends for it, and the status text as message (a 401 is
// plain text: TestFaultUnauthorized).
func TestFaultCodes(t *testing.T) {
	s := newPlainServer(t)
	tests := []struct {
		status   int
		wantCode string
	}{
		{0, "INTERNAL_SERVER_ERROR"}, // Status defaults to 500
		{http.StatusBadRequest, "BAD_REQUEST"},
		{http.StatusForbidden, "FORBIDDEN"},
		{http.StatusNotFound, "NOT_FOUND"},
		{http.StatusRequestTimeout, "TIMEOUT"},
		{http.StatusConflict, "CONFLICT"},
		{http.StatusUnprocessableEntity, "UNPROCESSABLE_CONTENT"},
		{http.StatusTooManyRequests, "TOO_MANY_REQUESTS"},
		{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR"},
		{http.StatusNotImplemented, "NOT_IMPLEMENTED"},
		{http.StatusBadGateway, "BAD_GATEWAY"},
		{http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE"},
		{http.StatusGatewayTimeout, "GATEWAY_TIMEOUT"},
		{http.StatusTeapot, "INTERNAL_SERVER_ERROR"}, // no tRPC code of its own
	}
	for _, tt := range tests {
		t.Run(tt.wantCode+"/"+http.StatusText(tt.status), func(t *testing.T) {
			s.FailNext(1, Fault{Status: tt.status})
			r := call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil)
			want := tt.status
			if want == 0 {
				want = http.StatusInternalServerError
			}
			assertAPIError(t, r, want, tt.wantCode, http.StatusText(want))
			assert.Empty(t, r.header.Get("Retry-After"))
		})
	}
}

// TestFaultQueue: a fault for another path is skipped over, and queued
// faults are taken in order.
func TestFaultQueue(t *testing.T) {
	s := newPlainServer(t)
	pm := "/api/v1/pricing-models/default"
	s.FailNext(1, Fault{Path: "/api/v1/customers/" + DemoCustomerAlice, Status: http.StatusBadGateway})
	s.FailNext(1, Fault{Status: http.StatusServiceUnavailable, RetryAfter: 3 * time.Second})
	r := call(t, s, http.MethodGet, pm, nil)
	assert.Equal(t, http.StatusServiceUnavailable, r.status, "the path-bound fault does not match")
	assert.Equal(t, "3", r.header.Get("Retry-After"))
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, pm, nil).status)
	assert.Equal(t, http.StatusBadGateway, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice, nil).status)
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice, nil).status)
}

// TestCloseConnectionWithoutHijacker: mounted where the connection
// cannot be taken over (a ResponseRecorder), a CloseConnection fault
// aborts the handler the way net/http drops a connection.
func TestCloseConnectionWithoutHijacker(t *testing.T) {
	f := New(WithSeed(DemoSeed()), WithClock(fixedClock))
	f.FailNext(1, Fault{CloseConnection: true})
	req := httptest.NewRequest(http.MethodGet, "http://fake.test/api/v1/pricing-models/default", nil)
	req.Header.Set("Authorization", f.APIKey())
	rec := httptest.NewRecorder()
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { f.ServeHTTP(rec, req) })

	rec = httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code, "the fault is used up")
}

type failingBody struct{}

func (failingBody) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
func (failingBody) Close() error             { return nil }

// TestUnreadableBody: a body that cannot be read is answered like
// invalid JSON, and never reaches the state.
func TestUnreadableBody(t *testing.T) {
	f := New(WithSeed(DemoSeed()), WithClock(fixedClock))
	req := httptest.NewRequest(http.MethodPost, "http://fake.test/api/v1/usage-events", nil)
	req.Body = failingBody{}
	req.Header.Set("Authorization", f.APIKey())
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)

	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.JSONEq(t, `{"error":"Invalid JSON in request body","request_id":"`+rec.Header().Get("X-Request-Id")+`"}`, rec.Body.String())
	assert.Empty(t, f.UsageEvents())
	require.Len(t, f.Requests(), 1, "the request is still logged")
	assert.Equal(t, "/api/v1/usage-events", f.Requests()[0].Path)
}

// TestTLSURLs: a Fake mounted on TLS hands out https URLs.
func TestTLSURLs(t *testing.T) {
	f := New(WithSeed(DemoSeed()), WithClock(fixedClock))
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	s := &Server{Fake: f, URL: srv.URL, HTTPServer: srv}
	require.True(t, strings.HasPrefix(srv.URL, "https://"))

	m := ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions",
		checkoutBody(CheckoutProduct, map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly})))
	assert.Equal(t, srv.URL+"/checkout/"+dig(t, m, "checkoutSession", "id").(string), m["url"])
	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerBob+"/billing", nil))
	assert.Equal(t, srv.URL+"/billing-portal/"+DemoBobCustomerID, billing["billingPortalUrl"])
}

// TestUnrenderableState: a seeded value JSON cannot carry (NaN
// metadata) is reported loudly as a 500 naming the fake, not as a silent
// empty body.
func TestUnrenderableState(t *testing.T) {
	s := newPlainServer(t)
	sub, err := s.AddSubscription(DemoCustomerBob, Subscription{Metadata: map[string]any{"ratio": math.NaN()}, Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
	require.NoError(t, err)
	r := call(t, s, http.MethodGet, "/api/v1/subscriptions/"+sub.ID, nil)
	assertAPIError(t, r, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "flowgladapitest: marshal: json: unsupported value: NaN")
}

// TestCurrentSubscriptionOrder: billing lists current
// subscriptions newest first (by createdAt, then updatedAt, then creation
// order), and currentSubscription is the first of them.
func TestCurrentSubscriptionOrder(t *testing.T) {
	clock := testclock.New(testNow)
	s := newSpecServer(t, WithClock(clock.Now))
	current := func() []string {
		billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerBob+"/billing", nil))
		var ids []string
		for _, sub := range billing["currentSubscriptions"].([]any) {
			ids = append(ids, dig(t, sub, "id").(string))
		}
		assert.Equal(t, ids[0], dig(t, billing, "currentSubscription", "id"))
		return ids
	}

	same, err := s.AddSubscription(DemoCustomerBob, Subscription{ID: "sub_same", Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
	require.NoError(t, err)
	assert.Equal(t, []string{same.ID, DemoBobSubscriptionID}, current(), "same instant: the later one first")

	clock.Advance(time.Hour)
	ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoBobSubscriptionID+"/cancel",
		map[string]any{"cancellation": map[string]any{"timing": "at_end_of_current_billing_period"}}))
	assert.Equal(t, []string{DemoBobSubscriptionID, same.ID}, current(), "same createdAt: the more recently updated first")

	clock.Advance(time.Hour)
	later, err := s.AddSubscription(DemoCustomerBob, Subscription{ID: "sub_later", Items: []SubscriptionItem{{PriceSlug: DemoPriceTeamMonthly}}})
	require.NoError(t, err)
	assert.Equal(t, []string{later.ID, DemoBobSubscriptionID, same.ID}, current(), "the newest by createdAt first")
}
