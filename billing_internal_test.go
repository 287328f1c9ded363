package flowglad

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/billingstub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newBLService(t *testing.T, s *billingstub.Server, opts serviceOptions) *Service {
	t.Helper()
	client, err := flowgladapi.NewClient("sk_test_bl",
		flowgladapi.WithBaseURL(s.URL),
		flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{MaxRetries: 0}))
	require.NoError(t, err)
	return newService(client, opts)
}

var blCustomer = Customer{ExternalID: "u1", Name: "User One", Email: "u1@example.com"}

// waiters returns how many callers wait on the customer's current flight (0 when none).
func waiters(svc *Service, ext string) int { return svc.billing.loader.Waiting(ext) }

// goBilling starts a Billing call and returns where its result will arrive.
func goBilling(ctx context.Context, svc *Service) <-chan billingstub.Result {
	return billingstub.Go(func() (*flowgladapi.Billing, error) { return svc.Billing(ctx, blCustomer) })
}

// The loader's own tests are internal/billingread's; these are the Service's billing reads
// where the root's part shows: the customer created on a first visit, a lookup's panic.

// TestBillingLoaderFirstVisit: concurrent first visits share one read, which finds the
// customer missing, creates it once and reads billing again: two reads and one creation
// for all of them. (TestConcurrentFirstVisits shares creations across different reads.)
func TestBillingLoaderFirstVisit(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, true)
	s.SetMissing()
	svc := newBLService(t, s, serviceOptions{})
	results, first := joinOneRead(t, s, svc, 10)
	close(first.Release) // 404: the customer is created, billing read again
	close(s.Arrival(t).Release)
	for _, ch := range results {
		assert.NoError(t, billingstub.Receive(t, ch).Err)
	}
	gets, posts := s.Counts()
	assert.Equal(t, 1, posts, "the customer is created once")
	assert.Equal(t, 2, gets)
}

// TestFirstVisitBillingIsCached: creating the customer on a first visit does not make the
// read that created it stale: its answer is cached like any other.
func TestFirstVisitBillingIsCached(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, false)
	s.SetMissing()
	svc := newBLService(t, s, serviceOptions{cacheTTL: time.Hour})
	for range 2 {
		_, err := svc.Billing(t.Context(), blCustomer)
		require.NoError(t, err)
	}
	gets, posts := s.Counts()
	assert.Equal(t, 1, posts)
	assert.Equal(t, 2, gets, "404, then the read after the creation; the second call is a cache hit")
}

// TestLookupPanicIsAnError: a Config.LookupCustomer that panics (it runs on a goroutine of
// ours, shared by concurrent first visits) fails the read with an error that names the
// panic's type only; the process survives and the next read creates the customer.
func TestLookupPanicIsAnError(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, false)
	s.SetMissing()
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
	_, posts := s.Counts()
	assert.Equal(t, 1, posts)
}

// joinOneRead starts n Billing calls at once and waits until they all wait for the one read
// that reached the (gated) stub, which it returns unreleased.
func joinOneRead(t *testing.T, s *billingstub.Server, svc *Service, n int) ([]<-chan billingstub.Result, *billingstub.Pending) {
	t.Helper()
	results := make([]<-chan billingstub.Result, n)
	for i := range results {
		results[i] = goBilling(t.Context(), svc)
	}
	p := s.Arrival(t)
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
