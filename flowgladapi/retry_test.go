package flowgladapi_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func failWith(status int) http.HandlerFunc {
	return jsonReply(status, `{"error":"boom","code":"INTERNAL_SERVER_ERROR"}`)
}

func TestRetryIdempotentCalls(t *testing.T) {
	t.Parallel()
	policy := flowgladapi.RetryPolicy{MaxRetries: 2, MinBackoff: 10 * time.Millisecond, MaxBackoff: 15 * time.Millisecond, MaxRetryAfter: time.Second}
	tests := []struct {
		name      string
		replies   []http.HandlerFunc
		wantN     int
		wantWaits []time.Duration
		wantIs    error // nil: success
	}{
		{"500 then success", []http.HandlerFunc{failWith(500), jsonReply(200, `{"customer":{}}`)}, 2, []time.Duration{10 * time.Millisecond}, nil},
		{"408 then 429 then success", []http.HandlerFunc{failWith(408), failWith(429), jsonReply(200, `{"customer":{}}`)}, 3, []time.Duration{10 * time.Millisecond, 15 * time.Millisecond}, nil},
		{"three failures give up", []http.HandlerFunc{failWith(503)}, 3, []time.Duration{10 * time.Millisecond, 15 * time.Millisecond}, flowgladapi.ErrServer},
		{"429 gives up as rate limited", []http.HandlerFunc{failWith(429)}, 3, []time.Duration{10 * time.Millisecond, 15 * time.Millisecond}, flowgladapi.ErrRateLimited},
		{"404 is final", []http.HandlerFunc{failWith(404)}, 1, nil, flowgladapi.ErrNotFound},
		{"400 is final", []http.HandlerFunc{failWith(400)}, 1, nil, flowgladapi.ErrBadRequest},
		{"401 is final", []http.HandlerFunc{failWith(401)}, 1, nil, flowgladapi.ErrUnauthorized},
		// A garbled 2xx (cut short, a proxy's page) is a lost answer: asked again.
		{"bad JSON 200 then success", []http.HandlerFunc{jsonReply(200, `{"customer":`), jsonReply(200, `{"customer":{}}`)}, 2, []time.Duration{10 * time.Millisecond}, nil},
		{"bad JSON 200 gives up as invalid", []http.HandlerFunc{jsonReply(200, `nope`)}, 3, []time.Duration{10 * time.Millisecond, 15 * time.Millisecond}, flowgladapi.ErrInvalidResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := newStub(t, sequence(tt.replies...), flowgladapi.WithRetryPolicy(policy))
			w := recordWaits(c)
			_, err := c.GetCustomer(t.Context(), "u1")
			assert.Len(t, s.requests(), tt.wantN)
			assert.Equal(t, tt.wantWaits, w.all())
			if tt.wantIs == nil {
				assert.NoError(t, err)
				return
			}
			assertNoSecret(t, err)
			assert.ErrorIs(t, err, tt.wantIs)
		})
	}
}

// TestNoRetryWithoutDedupeKey: writes Flowglad cannot deduplicate are sent
// exactly once, whatever the failure.
func TestNoRetryWithoutDedupeKey(t *testing.T) {
	t.Parallel()
	calls := []struct {
		name string
		call func(ctx context.Context, c *flowgladapi.Client) error
	}{
		{"checkout", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{Type: flowgladapi.CheckoutSessionProduct, CustomerExternalID: "u1", PriceSlug: "p"})
			return err
		}},
		{"cancel", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.CancelSubscription(ctx, "s1", flowgladapi.CancelImmediately)
			return err
		}},
		{"uncancel", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.UncancelSubscription(ctx, "s1")
			return err
		}},
		{"adjust", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.AdjustSubscription(ctx, "s1", flowgladapi.AdjustSubscriptionParams{Timing: flowgladapi.AdjustAuto})
			return err
		}},
		{"claim", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.ClaimResource(ctx, "s1", flowgladapi.ClaimParams{ResourceSlug: "seats", Quantity: 1})
			return err
		}},
		{"release", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.ReleaseResource(ctx, "s1", flowgladapi.ReleaseParams{ResourceSlug: "seats", Quantity: 1})
			return err
		}},
		{"create customer", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.CreateCustomer(ctx, flowgladapi.CreateCustomerParams{ExternalID: "u1"})
			return err
		}},
		{"update customer", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.UpdateCustomer(ctx, "u1", flowgladapi.UpdateCustomerParams{})
			return err
		}},
		{"archive customer", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.ArchiveCustomer(ctx, "u1")
			return err
		}},
		{"create subscription", func(ctx context.Context, c *flowgladapi.Client) error {
			_, err := c.CreateSubscription(ctx, flowgladapi.CreateSubscriptionParams{CustomerExternalID: "u1", PriceSlug: "p"})
			return err
		}},
	}
	for _, status := range []int{500, 503, 429, 408} {
		for _, tt := range calls {
			t.Run(tt.name+"/"+strconv.Itoa(status), func(t *testing.T) {
				t.Parallel()
				c, s := newStub(t, failWith(status))
				w := recordWaits(c)
				err := tt.call(t.Context(), c)
				require.Error(t, err)
				assertNoSecret(t, err)
				assert.Len(t, s.requests(), 1)
				assert.Empty(t, w.all())
			})
		}
	}
	t.Run("checkout on connection refused", func(t *testing.T) {
		t.Parallel()
		counter := &countingTransport{}
		c, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL(closedURL(t)), flowgladapi.WithHTTPClient(&http.Client{Transport: counter}))
		require.NoError(t, err)
		recordWaits(c)
		_, err = c.CreateCheckoutSession(t.Context(), flowgladapi.CheckoutSessionParams{Type: flowgladapi.CheckoutSessionProduct, CustomerExternalID: "u1"})
		require.Error(t, err)
		assertNoSecret(t, err)
		assert.EqualValues(t, 1, counter.n.Load())
	})
}

// TestUsageEventRetriesKeepTransactionID: every attempt carries the same
// transactionId, generated once.
func TestUsageEventRetriesKeepTransactionID(t *testing.T) {
	t.Parallel()
	txIDs := func(t *testing.T, reqs []recorded) []string {
		var ids []string
		for _, r := range reqs {
			var body struct {
				UsageEvent  *struct{ TransactionID string }  `json:"usageEvent"`
				UsageEvents []struct{ TransactionID string } `json:"usageEvents"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.Body), &body))
			if body.UsageEvent != nil {
				ids = append(ids, body.UsageEvent.TransactionID)
			}
			for _, e := range body.UsageEvents {
				ids = append(ids, e.TransactionID)
			}
		}
		return ids
	}
	t.Run("single", func(t *testing.T) {
		t.Parallel()
		c, s := newStub(t, sequence(failWith(500), failWith(502), jsonReply(200, `{"usageEvent":{"id":"ue_1"}}`)))
		recordWaits(c)
		_, err := c.CreateUsageEvent(t.Context(), flowgladapi.UsageEventParams{SubscriptionID: "s1", Amount: 1, UsageMeterSlug: "m"})
		require.NoError(t, err)
		ids := txIDs(t, s.requests())
		require.Len(t, ids, 3)
		assert.NotEmpty(t, ids[0])
		assert.Equal(t, []string{ids[0], ids[0], ids[0]}, ids)
	})
	t.Run("bulk", func(t *testing.T) {
		t.Parallel()
		c, s := newStub(t, sequence(failWith(503), jsonReply(200, `{"usageEvents":[]}`)))
		recordWaits(c)
		events := []flowgladapi.UsageEventParams{{SubscriptionID: "s1", Amount: 1, UsageMeterSlug: "m"}, {SubscriptionID: "s1", Amount: 2, UsageMeterSlug: "m", TransactionID: "mine"}}
		_, err := c.BulkCreateUsageEvents(t.Context(), events)
		require.NoError(t, err)
		ids := txIDs(t, s.requests())
		require.Len(t, ids, 4)
		assert.NotEmpty(t, ids[0])
		assert.Equal(t, []string{ids[0], "mine", ids[0], "mine"}, ids)
		assert.Empty(t, events[0].TransactionID, "the caller's slice is not modified")
	})
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	withRA := func(status int, ra string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", ra)
			w.WriteHeader(status)
		}
	}
	ok := jsonReply(200, `{"customer":{}}`)
	tests := []struct {
		name      string
		policy    flowgladapi.RetryPolicy
		replies   []http.HandlerFunc
		wantWaits []time.Duration
		wantErr   error
		wantHint  time.Duration // Error.RetryAfter when wantErr is set
	}{
		{
			name:      "seconds honoured",
			policy:    flowgladapi.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxRetryAfter: 5 * time.Second},
			replies:   []http.HandlerFunc{withRA(429, "3"), ok},
			wantWaits: []time.Duration{3 * time.Second},
		},
		{
			name:      "seconds capped",
			policy:    flowgladapi.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxRetryAfter: 20 * time.Millisecond},
			replies:   []http.HandlerFunc{withRA(503, "120"), ok},
			wantWaits: []time.Duration{20 * time.Millisecond},
		},
		{
			name:      "HTTP date",
			policy:    flowgladapi.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond},
			replies:   []http.HandlerFunc{withRA(429, now.Add(2*time.Second).Format(http.TimeFormat)), ok},
			wantWaits: []time.Duration{2 * time.Second},
		},
		{
			name:      "default cap is 5s",
			policy:    flowgladapi.RetryPolicy{MaxRetries: 1},
			replies:   []http.HandlerFunc{withRA(429, "3600"), ok},
			wantWaits: []time.Duration{5 * time.Second},
		},
		{
			name:      "garbage falls back to backoff",
			policy:    flowgladapi.RetryPolicy{MaxRetries: 1, MinBackoff: 7 * time.Millisecond},
			replies:   []http.HandlerFunc{withRA(429, "soon"), ok},
			wantWaits: []time.Duration{7 * time.Millisecond},
		},
		{
			name:      "not waited when no attempt follows",
			policy:    flowgladapi.RetryPolicy{MaxRetries: 1, MinBackoff: time.Millisecond},
			replies:   []http.HandlerFunc{withRA(429, "2")},
			wantWaits: []time.Duration{2 * time.Second},
			wantErr:   flowgladapi.ErrRateLimited,
			wantHint:  2 * time.Second,
		},
		{
			// The hint kept for the caller (the handler relays it as its own
			// Retry-After) is what the client honoured, not Flowglad's hour.
			name:      "the hint kept is the capped wait",
			policy:    flowgladapi.RetryPolicy{MaxRetries: 1, MaxRetryAfter: 10 * time.Second},
			replies:   []http.HandlerFunc{withRA(429, "3600")},
			wantWaits: []time.Duration{10 * time.Second},
			wantErr:   flowgladapi.ErrRateLimited,
			wantHint:  10 * time.Second,
		},
		{
			name:      "capped by the default when never retried",
			policy:    flowgladapi.RetryPolicy{},
			replies:   []http.HandlerFunc{withRA(503, now.Add(time.Hour).Format(http.TimeFormat))},
			wantWaits: nil,
			wantErr:   flowgladapi.ErrServer,
			wantHint:  5 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := newStub(t, sequence(tt.replies...), flowgladapi.WithRetryPolicy(tt.policy))
			w := recordWaits(c)
			flowgladapi.SetNow(c, func() time.Time { return now })
			_, err := c.GetCustomer(t.Context(), "u1")
			assert.Equal(t, tt.wantWaits, w.all())
			assert.Len(t, s.requests(), len(tt.wantWaits)+1)
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
			var apiErr *flowgladapi.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.wantHint, apiErr.RetryAfter, "the hint is kept for the caller, capped")
		})
	}
}

// TestCancelStopsWait: a cancelled context ends a long backoff at once, with
// the real sleeping function.
func TestCancelStopsWait(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	c, s := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		cancel() // the client is about to wait an hour for its retry
		failWith(500)(w, r)
	}, flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{MaxRetries: 2, MinBackoff: time.Hour, MaxBackoff: time.Hour}))
	flowgladapi.SetJitter(c, func(d time.Duration) time.Duration { return d })
	start := time.Now()
	_, err := c.GetCustomer(ctx, "u1")
	assert.Less(t, time.Since(start), 10*time.Second)
	require.Error(t, err)
	assertNoSecret(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, flowgladapi.ErrServer, "the stale 500 must not decide the mapping")
	assert.Len(t, s.requests(), 1)
}

// TestCancelledBeforeCall: an already-cancelled context sends nothing useful
// and reports the cancellation.
func TestCancelledBeforeCall(t *testing.T) {
	t.Parallel()
	c, _ := newStub(t, jsonReply(200, `{}`))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.GetDefaultPricingModel(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "flowgladapi: GET /api/v1/pricing-models/default: context canceled", err.Error())
}

// TestPerCallTimeout: WithTimeout bounds a hanging attempt and a long wait
// alike, reported as context.DeadlineExceeded.
func TestPerCallTimeout(t *testing.T) {
	t.Parallel()
	t.Run("hanging server", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		c, s := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}, flowgladapi.WithTimeout(50*time.Millisecond))
		start := time.Now()
		_, err := c.GetBilling(t.Context(), "u1")
		assert.Less(t, time.Since(start), 10*time.Second)
		require.Error(t, err)
		assertNoSecret(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Len(t, s.requests(), 1, "a timed-out call is not retried")
	})
	t.Run("long backoff", func(t *testing.T) {
		t.Parallel()
		c, s := newStub(t, failWith(502),
			flowgladapi.WithTimeout(50*time.Millisecond),
			flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{MaxRetries: 3, MinBackoff: time.Hour, MaxBackoff: time.Hour}))
		flowgladapi.SetJitter(c, func(d time.Duration) time.Duration { return d })
		_, err := c.GetBilling(t.Context(), "u1")
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "(last response: 502)")
		assert.Len(t, s.requests(), 1)
	})
	t.Run("no timeout", func(t *testing.T) {
		t.Parallel()
		c, _ := newStub(t, jsonReply(200, `{"customer":{}}`), flowgladapi.WithTimeout(-1))
		_, err := c.GetCustomer(t.Context(), "u1")
		assert.NoError(t, err)
	})
}

// countingTransport counts round trips on a fresh default transport.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// closedURL returns the URL of a port nothing listens on any more.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	return u
}

func TestConnectionErrors(t *testing.T) {
	t.Parallel()
	t.Run("refused GET is retried", func(t *testing.T) {
		t.Parallel()
		counter := &countingTransport{}
		c, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL(closedURL(t)), flowgladapi.WithHTTPClient(&http.Client{Transport: counter}))
		require.NoError(t, err)
		w := recordWaits(c)
		_, err = c.GetCustomer(t.Context(), "u1")
		require.Error(t, err)
		assertNoSecret(t, err)
		assert.EqualValues(t, 3, counter.n.Load())
		assert.Len(t, w.all(), 2)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)
		assert.ErrorIs(t, err, flowgladapi.ErrUnavailable, "a transport failure is ErrUnavailable")
		assert.NotErrorIs(t, err, flowgladapi.ErrServer)
		var apiErr *flowgladapi.Error
		assert.False(t, errors.As(err, &apiErr))
		assert.Regexp(t, `^flowgladapi: GET /api/v1/customers/u1: `, err.Error())
	})
	t.Run("refused then success", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int32
		srvURL := newServer(t, jsonReply(200, `{"customer":{"id":"c"}}`))
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNRESET}
			}
			return http.DefaultTransport.RoundTrip(r)
		})
		c, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL(srvURL), flowgladapi.WithHTTPClient(&http.Client{Transport: rt}))
		require.NoError(t, err)
		recordWaits(c)
		raw, err := c.GetCustomer(t.Context(), "u1")
		require.NoError(t, err)
		assert.JSONEq(t, `{"customer":{"id":"c"}}`, string(raw))
		assert.EqualValues(t, 2, n.Load())
	})
	t.Run("untrusted certificate is not retried", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewUnstartedServer(jsonReply(200, `{}`))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is expected
		srv.StartTLS()
		t.Cleanup(srv.Close)
		var n atomic.Int32
		tr := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
		t.Cleanup(tr.CloseIdleConnections)
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return tr.RoundTrip(r)
		})
		c, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL(srv.URL), flowgladapi.WithHTTPClient(&http.Client{Transport: rt}))
		require.NoError(t, err)
		recordWaits(c)
		_, err = c.GetCustomer(t.Context(), "u1")
		require.Error(t, err)
		assertNoSecret(t, err)
		assert.EqualValues(t, 1, n.Load())
	})
	t.Run("body cut short", func(t *testing.T) {
		t.Parallel()
		c, s := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"customer":`)
		})
		recordWaits(c)
		_, err := c.GetCustomer(t.Context(), "u1")
		require.Error(t, err)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Len(t, s.requests(), 3, "a truncated GET is retried")
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBackoff(t *testing.T) {
	t.Parallel()
	identity := func(d time.Duration) time.Duration { return d }
	def := flowgladapi.DefaultRetryPolicy()
	want := []time.Duration{100, 200, 400, 800, 1600, 2000, 2000}
	for i, w := range want {
		assert.Equal(t, w*time.Millisecond, def.Backoff(i, identity), "attempt %d", i)
	}
	zero := flowgladapi.RetryPolicy{}
	assert.Equal(t, 100*time.Millisecond, zero.Backoff(0, identity))
	assert.Equal(t, 2*time.Second, zero.Backoff(60, identity), "no overflow on many attempts")

	for range 1000 {
		d := flowgladapi.FullJitter(10 * time.Millisecond)
		assert.GreaterOrEqual(t, d, time.Duration(0))
		assert.LessOrEqual(t, d, 10*time.Millisecond)
	}
	assert.Equal(t, time.Duration(0), flowgladapi.FullJitter(0))
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"3", 3 * time.Second},
		{"99999999999999", 24 * time.Hour},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(30 * time.Second).Format(time.RFC850), 30 * time.Second},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, flowgladapi.ParseRetryAfter(tt.in, now), tt.in)
	}
}

func TestShouldRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"500", &flowgladapi.Error{StatusCode: 500}, true},
		{"504", &flowgladapi.Error{StatusCode: 504}, true},
		{"429", &flowgladapi.Error{StatusCode: 429}, true},
		{"408", &flowgladapi.Error{StatusCode: 408}, true},
		{"409", &flowgladapi.Error{StatusCode: 409}, false},
		{"404", &flowgladapi.Error{StatusCode: 404}, false},
		{"connection reset", flowgladapi.NewTransportError(syscall.ECONNRESET), true},
		{"unknown authority", flowgladapi.NewTransportError(x509.UnknownAuthorityError{}), false},
		{"hostname", flowgladapi.NewTransportError(x509.HostnameError{}), false},
		{"cert verification", flowgladapi.NewTransportError(&tls.CertificateVerificationError{}), false},
		{"invalid response", flowgladapi.ErrInvalidResponse, false},
	}
	for _, tt := range tests {
		got, reason := flowgladapi.ShouldRetry(tt.err)
		assert.Equal(t, tt.want, got, tt.name)
		assert.NotEmpty(t, reason, tt.name)
	}
}

func TestSleepContext(t *testing.T) {
	t.Parallel()
	assert.NoError(t, flowgladapi.SleepContext(t.Context(), time.Millisecond))
	assert.NoError(t, flowgladapi.SleepContext(t.Context(), 0))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	assert.ErrorIs(t, flowgladapi.SleepContext(ctx, time.Hour), context.Canceled)
	assert.ErrorIs(t, flowgladapi.SleepContext(ctx, 0), context.Canceled)
	assert.Less(t, time.Since(start), 10*time.Second)
}

// TestLogging: Debug lines carry method, path, status, attempt and duration;
// retries log at Warn without the path; the key never appears.
func TestLogging(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := newStub(t, sequence(failWith(500), jsonReply(200, `{"customer":{}}`)), flowgladapi.WithLogger(logger))
	recordWaits(c)
	_, err := c.GetCustomer(t.Context(), "u1")
	require.NoError(t, err)
	out := buf.String()
	assert.Contains(t, out, `level=DEBUG msg="flowglad request" method=GET path=/api/v1/customers/u1 status=500 attempt=1 duration=`)
	assert.Contains(t, out, `status=200 attempt=2`)
	assert.Contains(t, out, `level=WARN msg="flowglad request retrying" operation=customers-get method=GET attempt=1 reason="500 server error" wait=`)
	assert.NotContains(t, out, testKey)

	buf.Reset()
	c2, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL(closedURL(t)), flowgladapi.WithLogger(logger), flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{}))
	require.NoError(t, err)
	_, err = c2.GetCustomer(t.Context(), "u1")
	require.Error(t, err)
	assert.Contains(t, buf.String(), `err="transport error"`)
	assert.NotContains(t, buf.String(), testKey)
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	bad := []struct {
		name string
		key  string
		opts []flowgladapi.Option
		want string
	}{
		{"empty key", "", nil, "empty API key"},
		{"blank key", "  \t", nil, "empty API key"},
		{"key with newline", testKey + "\r\nX-Evil: 1", nil, "line break"},
		{"ftp base", testKey, []flowgladapi.Option{flowgladapi.WithBaseURL("ftp://x")}, "scheme must be http or https"},
		{"relative base", testKey, []flowgladapi.Option{flowgladapi.WithBaseURL("/api")}, "scheme must be http or https"},
		{"no host", testKey, []flowgladapi.Option{flowgladapi.WithBaseURL("https://")}, "missing host"},
		{"unparsable", testKey, []flowgladapi.Option{flowgladapi.WithBaseURL("http://[::1")}, "invalid base URL"},
		{"credentials", testKey, []flowgladapi.Option{flowgladapi.WithBaseURL("https://user:pw@x")}, "must not contain credentials"},
		{"query", testKey, []flowgladapi.Option{flowgladapi.WithBaseURL("https://x/?a=1")}, "query or fragment"},
		{"negative retries", testKey, []flowgladapi.Option{flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{MaxRetries: -1})}, "must not be negative"},
	}
	// Plain http would send the key in clear: only loopback hosts may use it.
	for _, base := range []string{
		"http://app.flowglad.com", "http://10.0.0.7:8080", "http://[2001:db8::1]:80", "http://0.0.0.0:3000",
		"http://localhost.evil.example", "http://127.0.0.1.nip.io", "http://flowglad-proxy/prefix",
	} {
		bad = append(bad, struct {
			name string
			key  string
			opts []flowgladapi.Option
			want string
		}{"plain http to " + base, testKey, []flowgladapi.Option{flowgladapi.WithBaseURL(base)}, "plain http would send the API key in clear: use https"})
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := flowgladapi.NewClient(tt.key, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
			assertNoSecret(t, err)
			assert.NotContains(t, err.Error(), "pw")
		})
	}

	t.Run("plain http on loopback", func(t *testing.T) {
		t.Parallel()
		for _, base := range []string{"http://127.0.0.1:8080", "http://127.9.8.7", "http://[::1]:3000/prefix", "http://localhost:3000", "http://LocalHost"} {
			c, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL(base))
			require.NoError(t, err, base)
			assert.Equal(t, strings.TrimSuffix(base, "/"), flowgladapi.BaseURL(c))
		}
	})
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		c, err := flowgladapi.NewClient(testKey, nil)
		require.NoError(t, err)
		assert.Equal(t, flowgladapi.DefaultBaseURL, flowgladapi.BaseURL(c))
		assert.Equal(t, flowgladapi.DefaultTimeout, flowgladapi.Timeout(c))
		assert.Equal(t, flowgladapi.DefaultRetryPolicy(), flowgladapi.Policy(c))
	})
	t.Run("default pool holds a burst of concurrent calls", func(t *testing.T) {
		t.Parallel()
		// One host, and up to hundreds of concurrent user requests: every
		// connection the pool drops after a burst is a new TLS handshake in
		// the next one.
		for _, opts := range [][]flowgladapi.Option{nil, {flowgladapi.WithHTTPClient(nil)}} {
			c, err := flowgladapi.NewClient(testKey, opts...)
			require.NoError(t, err)
			tr, ok := flowgladapi.Transport(c).(*http.Transport)
			require.True(t, ok, "the default client has its own *http.Transport")
			assert.NotSame(t, http.DefaultTransport, tr, "not the process-wide transport")
			assert.GreaterOrEqual(t, tr.MaxIdleConnsPerHost, 256)
			assert.GreaterOrEqual(t, tr.MaxIdleConns, tr.MaxIdleConnsPerHost)
			assert.Zero(t, tr.MaxConnsPerHost, "no cap on open connections")
			assert.NotNil(t, tr.Proxy, "the environment's proxy settings still apply")
		}
	})
	t.Run("options", func(t *testing.T) {
		t.Parallel()
		c, err := flowgladapi.NewClient(testKey,
			flowgladapi.WithBaseURL(" https://example.com/prefix/ "),
			flowgladapi.WithTimeout(0),
			flowgladapi.WithHTTPClient(nil),
			flowgladapi.WithLogger(nil),
			flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{}))
		require.NoError(t, err)
		assert.Equal(t, "https://example.com/prefix", flowgladapi.BaseURL(c))
		assert.Equal(t, flowgladapi.DefaultTimeout, flowgladapi.Timeout(c))
		assert.Equal(t, flowgladapi.RetryPolicy{}, flowgladapi.Policy(c))
		assert.True(t, flowgladapi.HasLogger(c))
		assert.True(t, flowgladapi.HasHTTPClient(c))

		c, err = flowgladapi.NewClient(testKey, flowgladapi.WithTimeout(-1))
		require.NoError(t, err)
		assert.Equal(t, time.Duration(-1), flowgladapi.Timeout(c))
	})
}
