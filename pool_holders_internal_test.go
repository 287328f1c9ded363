package flowglad

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatedBodies answers as bodiesTransport, holding every billing read of customer id until
// gate is closed: the callers that ask meanwhile all join the one read that waits.
type gatedBodies struct {
	bodies bodiesTransport
	id     string
	gate   chan struct{}
}

func (t gatedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/api/v1/customers/"+t.id+"/") {
		select {
		case <-t.gate:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return t.bodies.RoundTrip(r)
}

// TestPooledReadCountsEveryHolder: one pooled read of u1's billing, held until every
// caller has joined it, is handed to callers of every kind.
//
// Kept: the route request running it, a Go caller that keeps what it reads, an ownership
// check refused with a 403 and another route request, after an ownership check that joined
// it gave up while waiting. The buffer must not go back to the pool while the Go caller
// holds it: once many reads of another customer have gone through pooled buffers, what
// the Go caller kept is still u1's billing, byte for byte (a count one holder short, from
// the caller that left or from a release in the 403's error path, lets them overwrite it).
//
// Released: the route request running it and an ownership check that joined it (which
// reads the index itself, the route's read having none): both answer u1's own, and, run
// with -race, neither reads the body once it may be given back.
func TestPooledReadCountsEveryHolder(t *testing.T) {
	bodies := poolBodies()
	require.Less(t, len(bodies["u0"]), len(bodies["u1"]), "u0's reads fit in u1's buffer")
	u1 := Customer{ExternalID: "u1"}
	answer := func(id string) string { return `{"data":` + string(bodies[id]) + `}` }
	setup := func(t *testing.T) (svc *Service, route func(id string) string, joined func(n int), gate chan struct{}) {
		gate = make(chan struct{})
		h := poolHandler(t, gatedBodies{bodies: bodies, id: "u1", gate: gate})
		svc = h.Service()
		route = func(id string) string {
			r := httptest.NewRequest(http.MethodPost, "/api/flowglad/customers/billing", strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Session", id)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			return rec.Body.String()
		}
		joined = func(n int) {
			t.Helper()
			require.Eventually(t, func() bool { return waiters(svc, "u1") == n }, 5*time.Second, time.Millisecond)
		}
		return svc, route, joined, gate
	}

	t.Run("kept by a Go caller", func(t *testing.T) {
		svc, route, joined, gate := setup(t)
		var wg sync.WaitGroup
		var first, second string
		wg.Go(func() { first = route("u1") }) // runs the read, held at the gate
		joined(1)

		leaveCtx, leave := context.WithCancel(t.Context())
		left := make(chan error, 1)
		go func() {
			_, err := svc.subscriptionStatus(leaveCtx, u1, "sub_u1")
			left <- err
		}()
		joined(2)
		leave()
		select {
		case err := <-left:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(5 * time.Second):
			require.FailNow(t, "the ownership check that gave up did not return")
		}
		base := waiters(svc, "u1")

		var kept *billingEntry
		var keptErr, refusedErr error
		wg.Go(func() { kept, keptErr = svc.billingEntry(t.Context(), u1) })
		wg.Go(func() { _, refusedErr = svc.subscriptionStatus(t.Context(), u1, "sub_u2") })
		wg.Go(func() { second = route("u1") })
		joined(base + 3)
		close(gate)
		wg.Wait()

		require.NoError(t, keptErr)
		assert.Equal(t, answer("u1"), first)
		assert.Equal(t, answer("u1"), second)
		var fe *Error
		if assert.True(t, errors.As(refusedErr, &fe), "%v", refusedErr) {
			assert.Equal(t, http.StatusForbidden, fe.Status)
		}
		for range 20 {
			require.Equal(t, answer("u0"), route("u0"), "u0's own billing")
		}
		assert.Equal(t, string(bodies["u1"]), string(kept.Raw()), "what the Go caller kept is still u1's")
	})

	t.Run("released by every holder", func(t *testing.T) {
		for range 10 {
			svc, route, joined, gate := setup(t)
			var wg sync.WaitGroup
			var got, status string
			var err error
			wg.Go(func() { got = route("u1") })
			joined(1)
			wg.Go(func() { status, err = svc.subscriptionStatus(t.Context(), u1, "sub_u1") })
			joined(2)
			close(gate)
			wg.Wait()
			assert.Equal(t, answer("u1"), got)
			if assert.NoError(t, err) {
				assert.Equal(t, poolStatuses[1], status)
			}
		}
	})
}
