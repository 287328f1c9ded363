package billingread

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/billingstub"
	"github.com/flowglad-go/flowglad/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLastKnownNotFromReadBeforeMutation: a billing read that was running when a
// mutation invalidated the customer may carry billing from before the mutation, and it can
// finish after a read that began after it. It must not become the last-known billing, or
// an outage would serve the pre-mutation billing (a balance the write had already spent).
func TestLastKnownNotFromReadBeforeMutation(t *testing.T) {
	t.Parallel()
	const (
		before = `{"customer": {"id": "cus_1"}, "note": "before the write"}`
		after  = `{"customer": {"id": "cus_1"}, "note": "after the write"}`
	)
	clock := testclock.New(time.Unix(1_700_000_000, 0))
	arrived, release := make(chan struct{}), make(chan struct{})
	var reads atomic.Int32
	l := NewLoader(Config[Customer, *Entry]{New: NewEntry, Now: clock.Now,
		LastKnown: NewLocalLastKnown[*Entry](0, clock.Now), StaleFor: time.Hour,
		Fetch: func(context.Context, Customer) (*flowgladapi.BillingBody, error) {
			switch reads.Add(1) {
			case 1: // began before the write, answers after the next read
				close(arrived)
				<-release
				return flowgladapi.ParseBillingBody([]byte(before))
			case 2:
				return flowgladapi.ParseBillingBody([]byte(after))
			default: // then Flowglad goes down
				return nil, &flowgladapi.Error{StatusCode: http.StatusServiceUnavailable}
			}
		}})

	first := make(chan error, 1)
	go func() {
		_, err := load(context.Background(), l, blCustomer)
		first <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first read did not start")
	}
	require.NoError(t, l.Invalidate(t.Context(), blCustomer.ExternalID), "a usage event was recorded")
	e, err := load(t.Context(), l, blCustomer)
	require.NoError(t, err)
	require.Equal(t, after, string(e.raw))
	clock.Advance(time.Second)
	close(release)
	select {
	case err := <-first:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the first read did not end")
	}

	e, err = load(t.Context(), l, blCustomer)
	require.NoError(t, err, "Flowglad is down: last-known billing is served")
	assert.True(t, e.stale)
	assert.Equal(t, after, string(e.raw), "the last-known billing is the one read after the write")
}

// TestStaleIfErrorNotKeptFromInvalidatedRead: a read that began before an invalidation and
// ends after the read that followed it is not kept as last-known billing over that newer
// read: an outage then serves what was known after the change (past_due, a spent balance),
// not what was known before it.
func TestStaleIfErrorNotKeptFromInvalidatedRead(t *testing.T) {
	t.Parallel()
	s := billingstub.New(t, true)
	svc := newBLService(t, s, serviceOptions{staleIfError: time.Hour})
	before := goBilling(t.Context(), svc)
	old := s.Arrival(t)
	require.Eventually(t, func() bool { return waiters(svc, "u1") == 1 }, 10*time.Second, time.Millisecond)

	s.Bump() // the mutation happened at Flowglad
	require.NoError(t, svc.InvalidateBilling(t.Context(), "u1"))
	after := goBilling(t.Context(), svc)
	fresh := s.Arrival(t)
	close(fresh.Release)
	require.Equal(t, "v2", billingstub.Receive(t, after).Version(t))
	close(old.Release) // the old read ends last
	require.Equal(t, "v1", billingstub.Receive(t, before).Version(t))

	s.Close() // Flowglad is unreachable
	b, err := svc.Billing(t.Context(), blCustomer)
	require.NoError(t, err)
	assert.True(t, b.Stale)
	assert.Equal(t, "v2", b.Customer.Name, "the last-known billing is the read after the change")
}

// lastKnownMap is a LastKnownCache in a map that keeps last-known billing for ever (as a
// shared store with a coarse expiry may): the loader judges its age itself.
type lastKnownMap struct {
	*mapCache
	body   []byte
	readAt time.Time
}

func (c *lastKnownMap) SetLastKnown(_ context.Context, _ string, body []byte, readAt time.Time, _ time.Duration) error {
	c.body, c.readAt = body, readAt
	return nil
}

func (c *lastKnownMap) GetLastKnown(context.Context, string) ([]byte, time.Time, bool, error) {
	return c.body, c.readAt, c.body != nil, nil
}

// TestLastKnownServedWhileRecent: through an outage, last-known billing is served marked
// stale and kept (it predates this call), and only while it is at most StaleFor old, even
// when the store still has it.
func TestLastKnownServedWhileRecent(t *testing.T) {
	t.Parallel()
	clock := testclock.New(time.Unix(1_700_000_000, 0))
	var down atomic.Bool
	cache := &lastKnownMap{mapCache: newMapCache()}
	l := NewLoader(Config[Customer, *Entry]{New: NewEntry, Now: clock.Now,
		LastKnown: NewSharedLastKnown(cache, time.Second, NewEntry), StaleFor: time.Minute,
		Fetch: func(context.Context, Customer) (*flowgladapi.BillingBody, error) {
			if down.Load() {
				return nil, &flowgladapi.Error{StatusCode: http.StatusBadGateway}
			}
			return flowgladapi.ParseBillingBody([]byte(`{"customer": {"id": "cus_1"}}`))
		}})
	e, kept, err := l.Load(t.Context(), "u1", blCustomer)
	require.NoError(t, err)
	assert.False(t, kept, "read from Flowglad for this call")
	assert.False(t, e.Stale())
	require.NotNil(t, cache.body, "kept as last known")

	down.Store(true)
	clock.Advance(time.Minute)
	e, kept, err = l.Load(t.Context(), "u1", blCustomer)
	require.NoError(t, err)
	assert.True(t, e.Stale())
	assert.True(t, kept, "last-known billing predates the call")
	assert.Equal(t, time.Minute, l.Age(e))

	clock.Advance(time.Second)
	_, _, err = l.Load(t.Context(), "u1", blCustomer)
	assert.Error(t, err, "older than StaleFor: not served")
}
