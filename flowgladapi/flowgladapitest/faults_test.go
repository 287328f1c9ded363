package flowgladapitest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFailNext(t *testing.T) {
	s := newPlainServer(t)
	billing := "/api/v1/customers/" + DemoCustomerAlice + "/billing"
	s.FailNext(2, Fault{Status: http.StatusServiceUnavailable, RetryAfter: 1500 * time.Millisecond})
	for range 2 {
		r := call(t, s, http.MethodGet, billing, nil)
		require.Equal(t, http.StatusServiceUnavailable, r.status)
		assert.Equal(t, "2", r.header.Get("Retry-After"), "rounded up to whole seconds")
		m := r.json(t)
		assert.Equal(t, "SERVICE_UNAVAILABLE", m["code"])
		assert.Equal(t, "Service Unavailable", m["error"])
		assert.Equal(t, r.header.Get("X-Request-Id"), m["request_id"])
	}
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, billing, nil).status, "the fault is used up")
	assert.Len(t, s.Requests(), 3, "faulted requests are logged")
}

func TestFailNextMatching(t *testing.T) {
	s := newPlainServer(t)
	s.FailNext(1, Fault{Method: http.MethodPost, Path: "/api/v1/usage-events", Status: http.StatusTooManyRequests, Code: "TOO_MANY_REQUESTS", Message: "slow down"})

	// A request that does not match passes untouched.
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil).status)

	r := call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-1", 5))
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "slow down", r.json(t)["error"])
	assert.Empty(t, s.UsageEvents(), "a faulted request does not reach the state")

	assert.Equal(t, http.StatusOK, call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-1", 5)).status)
	assert.Len(t, s.UsageEvents(), 1)
}

func TestFailNextGarbledBody(t *testing.T) {
	s := newPlainServer(t)
	s.FailNext(1, Fault{Method: http.MethodPost, Path: "/api/v1/usage-events", Status: http.StatusOK, Body: `{"usageEvent":`, AfterApply: true})
	r := call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-1", 5))
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, `{"usageEvent":`, string(r.body), "sent as is")
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.Len(t, s.UsageEvents(), 1, "the event was recorded before its answer was garbled")

	r = call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-1", 5))
	assert.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.json(t), "usageEvent")
	assert.Len(t, s.UsageEvents(), 1, "the repeat with the same transactionId is deduplicated")
}

func TestFailNextCloseConnection(t *testing.T) {
	s := newPlainServer(t)
	s.FailNext(1, Fault{CloseConnection: true})
	req, err := http.NewRequest(http.MethodGet, s.URL+"/api/v1/pricing-models/default", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", s.APIKey())
	resp, err := s.HTTPServer.Client().Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the connection is dropped without a response")
	assert.Len(t, s.Requests(), 1)
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil).status)
}

func TestSetLatency(t *testing.T) {
	s := newPlainServer(t)
	s.SetLatency(100 * time.Millisecond)

	start := time.Now()
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil).status)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	s.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/pricing-models/default", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", s.APIKey())
	start = time.Now()
	resp, err := s.HTTPServer.Client().Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err: %v", err)
	assert.Less(t, time.Since(start), 10*time.Second)
	// The server side must give up too, or Cleanup's Close would hang for
	// a minute; SetLatency(0) does not rescue a request already waiting.
	s.SetLatency(0)
}

func TestRequestLog(t *testing.T) {
	s := newPlainServer(t)
	call(t, s, http.MethodGet, "/api/v1/customers/user%20x/billing", nil)
	call(t, s, http.MethodGet, "/api/v1/resource-claims/sub_1/usages?resourceSlugs=a&resourceSlugs=b", nil)
	body := `{"usageEvent":{"amount":1}}`
	call(t, s, http.MethodPost, "/api/v1/usage-events", body)
	callAuth(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil, "")

	reqs := s.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, Request{Method: http.MethodGet, Path: "/api/v1/customers/user%20x/billing"}, reqs[0])
	assert.Equal(t, "resourceSlugs=a&resourceSlugs=b", reqs[1].Query)
	assert.Equal(t, body, string(reqs[2].Body))
	assert.Equal(t, http.MethodPost, reqs[2].Method)
	assert.Equal(t, "/api/v1/pricing-models/default", reqs[3].Path, "unauthorized requests are logged")

	reqs[2].Body[0] = 'X'
	assert.True(t, strings.HasPrefix(string(s.Requests()[2].Body), "{"), "Requests returns copies")

	s.ResetRequests()
	assert.Empty(t, s.Requests())
}

// TestAfterApplyOwedToAnAppliedRequest: an AfterApply fault is not spent on a request the
// fake refuses (here, bad JSON): that request took no effect.
func TestAfterApplyOwedToAnAppliedRequest(t *testing.T) {
	s := newPlainServer(t)
	s.FailNext(1, Fault{Method: http.MethodPost, Path: "/api/v1/usage-events", Status: http.StatusBadGateway, AfterApply: true})

	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v1/usage-events", strings.NewReader(`{"usageEvent":`))
	require.NoError(t, err)
	req.Header.Set("Authorization", s.APIKey())
	res, err := s.HTTPServer.Client().Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, "invalid JSON is refused as usual, not faulted")

	r := call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-1", 5))
	assert.Equal(t, http.StatusBadGateway, r.status, "the fault still applies to the next request")
	assert.Len(t, s.UsageEvents(), 1, "after that request took effect")
}

// TestAfterApplyKeepsItsPlace: an AfterApply fault a refused request matched stays where it
// was queued, so a fault queued before it still comes first.
func TestAfterApplyKeepsItsPlace(t *testing.T) {
	s := newPlainServer(t)
	s.FailNext(1, Fault{Method: http.MethodPost, Path: "/api/v1/customers", Status: http.StatusTeapot})
	s.FailNext(1, Fault{Status: http.StatusBadGateway, AfterApply: true}) // any request

	r := call(t, s, http.MethodPost, "/api/v1/usage-events", `{"usageEvent": {}}`)
	assert.Equal(t, http.StatusBadRequest, r.status, "refused: the AfterApply fault stays owed")
	r = call(t, s, http.MethodPost, "/api/v1/customers", `{"customer": {"externalId": "u9", "email": "u9@example.com"}}`)
	assert.Equal(t, http.StatusTeapot, r.status, "the fault queued first comes first")
	for _, c := range s.Customers() {
		assert.NotEqual(t, "u9", c.ExternalID, "the teapot fault applied nothing")
	}
}
