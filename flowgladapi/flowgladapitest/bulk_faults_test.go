package flowgladapitest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBulkFaults: the bulk call fails as a usage recorder must survive it:
// a 5xx, a rate-limited key's 401, a dropped connection (nothing recorded),
// or an answer lost after the events landed (AfterApply). Sent again with
// the same transactionIds, the batch counts each event once, and the answer
// lists only what the retry inserted.
func TestBulkFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int // 0: no response
		applied    bool
	}{
		{"503", Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Second}, http.StatusServiceUnavailable, false},
		{"401", Fault{Status: http.StatusUnauthorized}, http.StatusUnauthorized, false},
		{"dropped", Fault{CloseConnection: true}, 0, false},
		{"502 after apply", Fault{Status: http.StatusBadGateway, AfterApply: true}, http.StatusBadGateway, true},
		{"dropped after apply", Fault{CloseConnection: true, AfterApply: true}, 0, true},
	}
	batch := bulkBody(bulkEvent(DemoAliceSubscriptionID, "r1", 10), bulkEvent(DemoBobSubscriptionID, "r2", 5))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newPlainServer(t)
			f := tt.fault
			f.Method, f.Path = http.MethodPost, bulkPath
			s.FailNext(1, f)
			r, err := send(t.Context(), s, http.MethodPost, bulkPath, batch)
			if tt.wantStatus == 0 {
				require.Error(t, err, "no response")
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantStatus, r.status, "body: %s", r.body)
			}
			if tt.applied {
				assert.Len(t, s.UsageEvents(), 2, "the events landed before the answer was lost")
			} else {
				assert.Empty(t, s.UsageEvents())
			}

			m := ok(t, call(t, s, http.MethodPost, bulkPath, batch))
			if tt.applied {
				assert.Empty(t, answered(t, m), "the retry inserts nothing")
			} else {
				assert.Equal(t, []string{"r1", "r2"}, answered(t, m))
			}
			assert.Len(t, s.UsageEvents(), 2)
			assert.InDelta(t, 990, balance(t, s, DemoAliceSubscriptionID, DemoUsageMeterAPICalls), 0)
			assert.InDelta(t, 95, balance(t, s, DemoBobSubscriptionID, DemoUsageMeterAPICalls), 0)
		})
	}
}

// TestFaultUnauthorized: a 401 fault is plain text like Flowglad's refusal
// of a key (a rate-limited one too), not a JSON error.
func TestFaultUnauthorized(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t)
	s.FailNext(1, Fault{Status: http.StatusUnauthorized})
	s.FailNext(1, Fault{Status: http.StatusUnauthorized, Message: "Unauthorized"})
	for _, want := range []string{msgKeyInvalid, "Unauthorized"} {
		r := call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil)
		require.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
		assert.Equal(t, want, string(r.body))
	}
}

// TestFailNextZeroFailsUntilCleared: FailNext(0, ...) fails every matching
// request, however many, until ClearFaults; requests it does not match pass.
func TestFailNextZeroFailsUntilCleared(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t)
	s.FailNext(0, Fault{Method: http.MethodPost, Path: bulkPath, Status: http.StatusBadGateway})
	s.FailNext(1, Fault{Method: http.MethodPost, Path: bulkPath, Status: http.StatusTeapot})
	batch := bulkBody(bulkEvent(DemoAliceSubscriptionID, "z1", 1))
	for range 150 {
		require.Equal(t, http.StatusBadGateway, call(t, s, http.MethodPost, bulkPath, batch).status)
	}
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil).status)
	assert.Empty(t, s.UsageEvents())

	s.ClearFaults()
	ok(t, call(t, s, http.MethodPost, bulkPath, batch))
	assert.Len(t, s.UsageEvents(), 1, "the teapot fault queued behind it was cleared too")
}

// TestFailNextZeroAfterApply: every matching request takes effect and loses
// its answer until ClearFaults.
func TestFailNextZeroAfterApply(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t)
	s.FailNext(0, Fault{Path: bulkPath, Status: http.StatusBadGateway, AfterApply: true})
	for i, tx := range []string{"x1", "x2", "x3"} {
		r := call(t, s, http.MethodPost, bulkPath, bulkBody(bulkEvent(DemoAliceSubscriptionID, tx, 1)))
		require.Equal(t, http.StatusBadGateway, r.status)
		assert.Len(t, s.UsageEvents(), i+1)
	}
	s.ClearFaults()
	m := ok(t, call(t, s, http.MethodPost, bulkPath, bulkBody(bulkEvent(DemoAliceSubscriptionID, "x3", 1), bulkEvent(DemoAliceSubscriptionID, "x4", 1))))
	assert.Equal(t, []string{"x4"}, answered(t, m))
}

// TestFailNextNegativePanics: a negative count is a bug in the test.
func TestFailNextNegativePanics(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t)
	assert.PanicsWithValue(t, "flowgladapitest: FailNext with a negative count", func() { s.FailNext(-1, Fault{}) })
}

// TestClearFaults: queued faults are gone, counted ones included, and
// faults queued afterwards work as usual.
func TestClearFaults(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t)
	pm := "/api/v1/pricing-models/default"
	s.FailNext(3, Fault{Status: http.StatusServiceUnavailable})
	s.FailNext(1, Fault{CloseConnection: true})
	assert.Equal(t, http.StatusServiceUnavailable, call(t, s, http.MethodGet, pm, nil).status)
	s.ClearFaults()
	for range 4 {
		assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, pm, nil).status)
	}
	s.FailNext(1, Fault{Status: http.StatusBadGateway})
	assert.Equal(t, http.StatusBadGateway, call(t, s, http.MethodGet, pm, nil).status)
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, pm, nil).status)
}

// TestHangTimesOut: a Hang fault holds the bulk call until the client's
// deadline; with AfterApply the events landed first. Either way the retry
// counts each event once.
func TestHangTimesOut(t *testing.T) {
	t.Parallel()
	for _, applied := range []bool{false, true} {
		name := "before apply"
		if applied {
			name = "after apply"
		}
		t.Run(name, func(t *testing.T) {
			s := newPlainServer(t)
			s.FailNext(1, Fault{Path: bulkPath, Hang: true, AfterApply: applied})
			batch := bulkBody(bulkEvent(DemoAliceSubscriptionID, "h1", 10))
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			_, err := send(ctx, s, http.MethodPost, bulkPath, batch)
			require.Error(t, err)
			assert.True(t, errors.Is(err, context.DeadlineExceeded), "err: %v", err)
			if applied {
				assert.Len(t, s.UsageEvents(), 1)
			} else {
				assert.Empty(t, s.UsageEvents())
			}
			ok(t, call(t, s, http.MethodPost, bulkPath, batch))
			assert.InDelta(t, 990, balance(t, s, DemoAliceSubscriptionID, DemoUsageMeterAPICalls), 0)
		})
	}
}

// TestClearFaultsReleasesHeldRequests: a request a Hang fault holds is
// served when ClearFaults runs, with the answer it would have had.
func TestClearFaultsReleasesHeldRequests(t *testing.T) {
	t.Parallel()
	for _, applied := range []bool{false, true} {
		t.Run(map[bool]string{false: "before apply", true: "after apply"}[applied], func(t *testing.T) {
			s := newPlainServer(t)
			s.FailNext(0, Fault{Path: bulkPath, Hang: true, AfterApply: applied})
			done := make(chan response, 1)
			go func() {
				r, err := send(t.Context(), s, http.MethodPost, bulkPath, bulkBody(bulkEvent(DemoAliceSubscriptionID, "h1", 10)))
				if err != nil {
					r.status = -1
				}
				done <- r
			}()
			// The fault is taken under the lock that logs the request.
			require.Eventually(t, func() bool { return len(s.Requests()) == 1 }, 10*time.Second, time.Millisecond)
			select {
			case <-done:
				t.Fatal("answered while the fault holds it")
			default:
			}
			s.ClearFaults()
			select {
			case r := <-done:
				require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				assert.Equal(t, []string{"h1"}, answered(t, r.json(t)))
			case <-time.After(10 * time.Second):
				t.Fatal("still held after ClearFaults")
			}
			assert.Len(t, s.UsageEvents(), 1)
		})
	}
}

// TestServerCloseDropsHeldRequests: closing the server does not wait for a
// request a Hang fault holds.
func TestServerCloseDropsHeldRequests(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithSeed(DemoSeed()))
	s.FailNext(0, Fault{Hang: true})
	errc := make(chan error, 1)
	go func() {
		_, err := send(context.Background(), s, http.MethodGet, "/api/v1/pricing-models/default", nil)
		errc <- err
	}()
	require.Eventually(t, func() bool { return len(s.Requests()) == 1 }, 10*time.Second, time.Millisecond)
	closed := make(chan struct{})
	go func() {
		s.closeFaults()
		s.HTTPServer.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for the held request")
	}
	assert.Error(t, <-errc, "the held request gets no answer")
}
