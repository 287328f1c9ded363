package flowglad

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blPending is one billing read the stub received and holds until the test releases it.
type blPending struct {
	version int // the billing version when the read arrived
	release chan struct{}
	// canceled is closed when the client gave up on the read before its release.
	canceled chan struct{}
}

// blServer is a stand-in for Flowglad's billing endpoint that the test controls: in gated
// mode every read waits for the test's release; the body tells which version of billing it
// is (the version current when the read arrived).
type blServer struct {
	srv      *httptest.Server
	arrivals chan *blPending

	mu      sync.Mutex
	gated   bool
	version int
	gets    int
	posts   int
	missing bool // the customer does not exist until created
}

func newBLServer(t *testing.T, gated bool) *blServer {
	t.Helper()
	s := &blServer{arrivals: make(chan *blPending, 100), gated: gated, version: 1}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *blServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/customers" {
		s.posts++
		s.missing = false
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data": {"customer": {"id": "cus_1", "externalId": "u1"}}}`))
		return
	}
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/billing") {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	s.gets++
	p := &blPending{version: s.version, release: make(chan struct{}), canceled: make(chan struct{})}
	gated, missing := s.gated, s.missing
	s.mu.Unlock()
	if gated {
		s.arrivals <- p
		select {
		case <-p.release:
		case <-r.Context().Done():
			close(p.canceled)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if missing {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error": "Customer not found", "code": "NOT_FOUND"}`))
		return
	}
	_, _ = fmt.Fprintf(w, `{"customer": {"id": "cus_1", "externalId": "u1", "name": "v%d"}, "currentSubscriptions": []}`, p.version)
}

func (s *blServer) counts() (gets, posts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.posts
}

// arrival waits for the next read to reach the stub.
func (s *blServer) arrival(t *testing.T) *blPending {
	t.Helper()
	select {
	case p := <-s.arrivals:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no billing read reached Flowglad")
		return nil
	}
}

func newBLService(t *testing.T, s *blServer, opts serviceOptions) *Service {
	t.Helper()
	client, err := flowgladapi.NewClient("sk_test_bl",
		flowgladapi.WithBaseURL(s.srv.URL),
		flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{MaxRetries: 0}))
	require.NoError(t, err)
	return newService(client, opts)
}

var blCustomer = Customer{ExternalID: "u1", Name: "User One", Email: "u1@example.com"}

// waiters returns how many callers wait on the customer's current flight (0 when none).
func waiters(svc *Service, ext string) int { return svc.billing.loader.Waiting(ext) }

// blResult is what one Billing call returned.
type blResult struct {
	name string
	err  error
}

func (r blResult) version(t *testing.T) string {
	t.Helper()
	require.NoError(t, r.err)
	return r.name
}

// goBilling starts a Billing call and returns where its result will arrive.
func goBilling(ctx context.Context, svc *Service) <-chan blResult {
	out := make(chan blResult, 1)
	go func() {
		b, err := svc.Billing(ctx, blCustomer)
		if err != nil {
			out <- blResult{err: err}
			return
		}
		out <- blResult{name: b.Customer.Name}
	}()
	return out
}

func receive(t *testing.T, ch <-chan blResult) blResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Billing did not return")
		return blResult{}
	}
}

// The loader's own tests are internal/billingread's; these are the Service's billing reads
// where the root's part shows: the customer created on a first visit, a lookup's panic.

// TestBillingLoaderFirstVisit: concurrent first visits share one read, which finds the
// customer missing, creates it once and reads billing again: two reads and one creation
// for all of them. (TestConcurrentFirstVisits shares creations across different reads.)
func TestBillingLoaderFirstVisit(t *testing.T) {
	t.Parallel()
	s := newBLServer(t, true)
	s.missing = true
	svc := newBLService(t, s, serviceOptions{})
	results, first := joinOneRead(t, s, svc, 10)
	close(first.release) // 404: the customer is created, billing read again
	close(s.arrival(t).release)
	for _, ch := range results {
		assert.NoError(t, receive(t, ch).err)
	}
	gets, posts := s.counts()
	assert.Equal(t, 1, posts, "the customer is created once")
	assert.Equal(t, 2, gets)
}

// TestFirstVisitBillingIsCached: creating the customer on a first visit does not make the
// read that created it stale: its answer is cached like any other.
func TestFirstVisitBillingIsCached(t *testing.T) {
	t.Parallel()
	s := newBLServer(t, false)
	s.missing = true
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour})
	for range 2 {
		_, err := svc.Billing(t.Context(), blCustomer)
		require.NoError(t, err)
	}
	gets, posts := s.counts()
	assert.Equal(t, 1, posts)
	assert.Equal(t, 2, gets, "404, then the read after the creation; the second call is a cache hit")
}

// TestLookupPanicIsAnError: a Config.LookupCustomer that panics (it runs on a goroutine of
// ours, shared by concurrent first visits) fails the read with an error that names the
// panic's type only; the process survives and the next read creates the customer.
func TestLookupPanicIsAnError(t *testing.T) {
	t.Parallel()
	s := newBLServer(t, false)
	s.missing = true
	var lookups atomic.Int32
	svc := newBLService(t, s, serviceOptions{lookupCustomer: func(_ context.Context, id string) (Customer, error) {
		if lookups.Add(1) == 1 {
			panic("lookup failed for u1@example.com")
		}
		return Customer{ExternalID: id, Email: "u1@example.com"}, nil
	}})
	_, err := svc.Billing(t.Context(), Customer{ExternalID: "u1"})
	var pe *panicError
	require.ErrorAs(t, err, &pe)
	assert.NotContains(t, err.Error(), "example.com")
	_, err = svc.Billing(t.Context(), Customer{ExternalID: "u1"})
	require.NoError(t, err)
	_, posts := s.counts()
	assert.Equal(t, 1, posts)
}

// joinOneRead starts n Billing calls at once and waits until they all wait for the one read
// that reached the (gated) stub, which it returns unreleased.
func joinOneRead(t *testing.T, s *blServer, svc *Service, n int) ([]<-chan blResult, *blPending) {
	t.Helper()
	results := make([]<-chan blResult, n)
	for i := range results {
		results[i] = goBilling(t.Context(), svc)
	}
	p := s.arrival(t)
	require.Eventually(t, func() bool { return waiters(svc, "u1") == n }, 10*time.Second, time.Millisecond,
		"every caller joins the one read")
	return results, p
}

// TestEarlyRefusals: the route's named refusals keep their cause and echo the key clipped.
func TestEarlyRefusals(t *testing.T) {
	cause := errors.New("connection reset")
	assert.ErrorIs(t, errUnreadableBody(cause), cause, "the cause is kept for the log")
	assert.Contains(t, errUnknownAction("x/y").Message, `"x/y"`)
	long := ActionKey(strings.Repeat("k", 500))
	assert.Less(t, len(errUnknownAction(long).Message), 200, "an unknown key is echoed clipped")
}
