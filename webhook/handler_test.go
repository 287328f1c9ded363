package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/webhook"
)

const subCanceledBody = `{"object":"subscription","id":"sub_1","customer":{"id":"cus_1","externalId":"user_42"},"pricingModelId":"pm_1"}`

// delivery builds a POST signed with testSecret at testNow, as Flowglad
// sends it.
func delivery(t *testing.T, id, body string) *http.Request {
	t.Helper()
	return deliveryAt(t, testSecret, id, body, testNow)
}

// deliveryAt is delivery signed with secret at a given time.
func deliveryAt(t *testing.T, secret, id, body string, at time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhooks/flowglad", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	h, err := webhook.Sign(secret, id, at, []byte(body))
	require.NoError(t, err)
	maps.Copy(r.Header, h)
	return r
}

// newHandler is webhook.Handler on the test clock, logging to the test.
func newHandler(t *testing.T, fn func(context.Context, webhook.Event) error, opts ...webhook.Option) http.Handler {
	t.Helper()
	base := []webhook.Option{
		webhook.WithVerifyOptions(webhook.WithClock(fixedClock)),
		webhook.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}
	return webhook.Handler(testSecret, fn, append(base, opts...)...)
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// counter is an event function that counts its calls and keeps the events.
type counter struct {
	mu     sync.Mutex
	events []webhook.Event
}

func (c *counter) fn(_ context.Context, e webhook.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
	return nil
}

func (c *counter) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

func TestHandlerDecodesEvent(t *testing.T) {
	t.Parallel()
	var c counter
	h := newHandler(t, c.fn, webhook.WithEventType(webhook.SubscriptionCanceled))
	w := serve(h, delivery(t, "msg_1", subCanceledBody))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, 1, c.calls())
	assert.Equal(t, webhook.Event{
		ID:                 "msg_1",
		Type:               webhook.SubscriptionCanceled,
		Object:             webhook.ObjectSubscription,
		ObjectID:           "sub_1",
		CustomerID:         "cus_1",
		CustomerExternalID: "user_42",
		PricingModelID:     "pm_1",
		Timestamp:          testNow,
		Raw:                []byte(subCanceledBody),
	}, c.events[0])
}

func TestHandlerStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		status int
		calls  int
	}{
		{"signed event", func(t *testing.T) *http.Request { return delivery(t, "msg_1", subCanceledBody) }, http.StatusNoContent, 1},
		{"event without customer", func(t *testing.T) *http.Request {
			return delivery(t, "msg_1", `{"id":"scope_1","object":"sync_stream","scopeId":"scope_1","latestSequence":"7-0"}`)
		}, http.StatusNoContent, 1},
		{"GET", func(t *testing.T) *http.Request {
			r := delivery(t, "msg_1", subCanceledBody)
			r.Method = http.MethodGet
			return r
		}, http.StatusMethodNotAllowed, 0},
		{"body over the cap", func(t *testing.T) *http.Request {
			return delivery(t, "msg_1", `{"id":"sub_1","object":"subscription","pad":"`+strings.Repeat("x", 300)+`"}`)
		}, http.StatusRequestEntityTooLarge, 0},
		{"unsigned", func(*testing.T) *http.Request {
			return httptest.NewRequest(http.MethodPost, "/", strings.NewReader(subCanceledBody))
		}, http.StatusUnauthorized, 0},
		{"not JSON", func(t *testing.T) *http.Request { return delivery(t, "msg_1", `{"id":`) }, http.StatusBadRequest, 0},
		{"JSON array", func(t *testing.T) *http.Request { return delivery(t, "msg_1", `[]`) }, http.StatusBadRequest, 0},
		{"null", func(t *testing.T) *http.Request { return delivery(t, "msg_1", `null`) }, http.StatusBadRequest, 0},
		{"no id", func(t *testing.T) *http.Request { return delivery(t, "msg_1", `{"object":"subscription"}`) }, http.StatusBadRequest, 0},
		{"no object", func(t *testing.T) *http.Request { return delivery(t, "msg_1", `{"id":"sub_1"}`) }, http.StatusBadRequest, 0},
		{"id of the wrong type", func(t *testing.T) *http.Request {
			return delivery(t, "msg_1", `{"id":1,"object":"subscription"}`)
		}, http.StatusBadRequest, 0},
		{"customer of the wrong type", func(t *testing.T) *http.Request {
			return delivery(t, "msg_1", `{"id":"sub_1","object":"subscription","customer":"cus_1"}`)
		}, http.StatusBadRequest, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c counter
			h := newHandler(t, c.fn, webhook.WithMaxBodyBytes(256))
			w := serve(h, tc.req(t))
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			assert.Equal(t, tc.calls, c.calls())
			if tc.status == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, w.Header().Get("Allow"))
			}
		})
	}
}

// Every verification failure gets the same answer, and only the log says
// which it was; the log never holds the secret, a signature or the body.
func TestHandlerRefusalsLookAlike(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var c counter
	h := webhook.Handler(testSecret, c.fn,
		webhook.WithVerifyOptions(webhook.WithClock(fixedClock)),
		webhook.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))

	with := func(key, value string) *http.Request {
		r := delivery(t, "msg_1", subCanceledBody)
		r.Header.Set(key, value) // "" counts as missing
		return r
	}
	tests := []struct {
		name   string
		req    *http.Request
		reason error
	}{
		{"missing header", with("svix-signature", ""), webhook.ErrMissingHeader},
		{"bad timestamp", with("svix-timestamp", "soon"), webhook.ErrBadTimestamp},
		{"too old", deliveryAt(t, testSecret, "msg_1", subCanceledBody, testNow.Add(-time.Hour)), webhook.ErrTooOld},
		{"too new", deliveryAt(t, testSecret, "msg_1", subCanceledBody, testNow.Add(time.Hour)), webhook.ErrTooNew},
		{"wrong secret", deliveryAt(t, otherSecret, "msg_1", subCanceledBody, testNow), webhook.ErrNoValidSignature},
		{"other id", with("svix-id", "msg_2"), webhook.ErrNoValidSignature},
	}
	var bodies []string
	all := ""
	for _, tc := range tests {
		logs.Reset() // each refusal's own reason
		w := serve(h, tc.req)
		assert.Equal(t, http.StatusUnauthorized, w.Code, tc.name)
		assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"), tc.name)
		bodies = append(bodies, w.Body.String())
		assert.Contains(t, logs.String(), tc.reason.Error(), tc.name)
		all += logs.String()
	}
	for _, b := range bodies {
		assert.Equal(t, bodies[0], b, "every refusal has the same body")
	}
	assert.NotContains(t, bodies[0], "timestamp")
	assert.NotContains(t, bodies[0], "header")
	assert.Equal(t, 0, c.calls())

	w := serve(h, delivery(t, "msg_1", subCanceledBody))
	require.Equal(t, http.StatusNoContent, w.Code)
	all += logs.String()
	for _, secretish := range []string{testSecret, strings.TrimPrefix(testSecret, "whsec_"), "v1,", subCanceledBody, `"customer"`} {
		assert.NotContains(t, all, secretish)
	}
}

func TestHandlerDuplicateHandledOnce(t *testing.T) {
	t.Parallel()
	var c counter
	h := newHandler(t, c.fn)
	for range 3 {
		w := serve(h, delivery(t, "msg_1", subCanceledBody))
		assert.Equal(t, http.StatusNoContent, w.Code)
	}
	assert.Equal(t, 1, c.calls())
	// A retry is signed again at a later time; the id is what counts.
	assert.Equal(t, http.StatusNoContent, serve(h, deliveryAt(t, testSecret, "msg_1", subCanceledBody, testNow.Add(time.Minute))).Code)
	assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_2", subCanceledBody)).Code)
	assert.Equal(t, 2, c.calls())
}

func TestHandlerConcurrentDeliveriesRunOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h := newHandler(t, func(context.Context, webhook.Event) error {
		calls.Add(1)
		return nil
	})
	var wg sync.WaitGroup
	var ok, busy atomic.Int32
	for range 20 {
		wg.Go(func() {
			switch w := serve(h, delivery(t, "msg_1", subCanceledBody)); w.Code {
			case http.StatusNoContent:
				ok.Add(1)
			case http.StatusConflict:
				busy.Add(1)
			default:
				assert.Fail(t, "unexpected status", "%d %s", w.Code, w.Body)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), calls.Load())
	assert.GreaterOrEqual(t, ok.Load(), int32(1))
	assert.Equal(t, int32(20), ok.Load()+busy.Load())
}

// While one delivery of an id is being handled, copies of it are answered
// 409 (so Flowglad tries again later) and never run the function.
func TestHandlerInFlightCopiesAreRetried(t *testing.T) {
	t.Parallel()
	started, gate := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	h := newHandler(t, func(context.Context, webhook.Event) error {
		if calls.Add(1) == 1 {
			close(started)
			<-gate
		}
		return nil
	})
	first := make(chan int)
	go func() { first <- serve(h, delivery(t, "msg_1", subCanceledBody)).Code }()
	<-started

	var wg sync.WaitGroup
	for range 19 {
		wg.Go(func() {
			assert.Equal(t, http.StatusConflict, serve(h, delivery(t, "msg_1", subCanceledBody)).Code)
		})
	}
	wg.Wait()
	close(gate)
	assert.Equal(t, http.StatusNoContent, <-first)
	assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_1", subCanceledBody)).Code)
	assert.Equal(t, int32(1), calls.Load())
}

// A first attempt that fails in any way is answered 500 (a panic goes on to
// net/http, which drops the connection), and releases the id, so the
// redelivery is handled.
func TestHandlerFailedAttemptIsRedelivered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		first  func(ctx context.Context) error
		panics bool
	}{
		{"error", func(context.Context) error { return errors.New("database down: password=hunter2") }, false},
		{"panic", func(context.Context) error { panic("boom") }, true},
		{"timeout", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			h := newHandler(t, func(ctx context.Context, _ webhook.Event) error {
				if calls.Add(1) == 1 {
					return tc.first(ctx)
				}
				return nil
			}, webhook.WithTimeout(time.Millisecond), webhook.WithStore(deadlineStore{webhook.NewMemoryStore(0, 0)}))

			if tc.panics {
				assert.Panics(t, func() { serve(h, delivery(t, "msg_1", subCanceledBody)) })
			} else {
				w := serve(h, delivery(t, "msg_1", subCanceledBody))
				assert.Equal(t, http.StatusInternalServerError, w.Code)
				assert.Equal(t, "internal server error\n", w.Body.String(), "5xx bodies are generic")
			}
			assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_1", subCanceledBody)).Code, "the redelivery is handled")
			assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_1", subCanceledBody)).Code)
			assert.Equal(t, int32(2), calls.Load())
		})
	}
}

func TestHandlerBoundsTheWorkByDefault(t *testing.T) {
	t.Parallel()
	h := newHandler(t, func(ctx context.Context, _ webhook.Event) error {
		_, ok := ctx.Deadline()
		assert.True(t, ok)
		return nil
	})
	assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_1", subCanceledBody)).Code)
}

// Options given values out of range keep their defaults; in range they apply.
func TestHandlerOptionRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  webhook.Option
		// check runs in the event function.
		check func(t *testing.T, ctx context.Context)
		want  int
	}{
		{name: "zero body cap", opt: webhook.WithMaxBodyBytes(0), want: http.StatusNoContent},
		{name: "negative body cap", opt: webhook.WithMaxBodyBytes(-1), want: http.StatusNoContent},
		{name: "body cap below the body", opt: webhook.WithMaxBodyBytes(int64(len(subCanceledBody) - 1)), want: http.StatusRequestEntityTooLarge},
		{name: "body cap at the body", opt: webhook.WithMaxBodyBytes(int64(len(subCanceledBody))), want: http.StatusNoContent},
		{name: "zero timeout", opt: webhook.WithTimeout(0), want: http.StatusNoContent,
			check: func(t *testing.T, ctx context.Context) { assert.NoError(t, ctx.Err(), "the default timeout, not none") }},
		{name: "negative timeout", opt: webhook.WithTimeout(-time.Second), want: http.StatusNoContent,
			check: func(t *testing.T, ctx context.Context) { assert.NoError(t, ctx.Err()) }},
		{name: "a timeout", opt: webhook.WithTimeout(time.Hour + time.Minute), want: http.StatusNoContent,
			check: func(t *testing.T, ctx context.Context) {
				deadline, ok := ctx.Deadline()
				require.True(t, ok)
				assert.Greater(t, time.Until(deadline), time.Hour, "the timeout given, not the default")
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			h := newHandler(t, func(ctx context.Context, _ webhook.Event) error {
				calls.Add(1)
				if tc.check != nil {
					tc.check(t, ctx)
				}
				return nil
			}, tc.opt)
			assert.Equal(t, tc.want, serve(h, delivery(t, "msg_1", subCanceledBody)).Code)
			if tc.check != nil {
				assert.Equal(t, int32(1), calls.Load())
			}
		})
	}
}

// invalidator records invalidations, failing while err is set.
type invalidator struct {
	mu   sync.Mutex
	ids  []string
	err  error
	seen *[]string // shared log of invalidations and events, for ordering
}

func (i *invalidator) InvalidateBilling(_ context.Context, externalID string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.ids = append(i.ids, externalID)
	*i.seen = append(*i.seen, "invalidate "+externalID)
	return i.err
}

func TestHandlerInvalidatesBilling(t *testing.T) {
	t.Parallel()
	var seen []string
	inv := &invalidator{seen: &seen, err: errors.New("cache down")}
	h := newHandler(t, func(_ context.Context, e webhook.Event) error {
		inv.mu.Lock()
		defer inv.mu.Unlock()
		seen = append(seen, "handle "+e.ObjectID)
		return nil
	}, webhook.WithBillingInvalidator(inv))

	assert.Equal(t, http.StatusInternalServerError, serve(h, delivery(t, "msg_1", subCanceledBody)).Code,
		"a failed invalidation fails the delivery")
	inv.mu.Lock()
	inv.err = nil
	inv.mu.Unlock()
	assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_1", subCanceledBody)).Code)
	assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_2",
		`{"id":"scope_1","object":"sync_stream","scopeId":"scope_1","latestSequence":"1-0"}`)).Code)
	assert.Equal(t, []string{"invalidate user_42", "invalidate user_42", "handle sub_1", "handle scope_1"}, seen,
		"billing is invalidated before the function runs, and only for events naming a customer")

	// With no function, the handler only invalidates.
	only := &invalidator{seen: new([]string)}
	h = newHandler(t, nil, webhook.WithBillingInvalidator(only))
	assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_1", subCanceledBody)).Code)
	assert.Equal(t, []string{"user_42"}, only.ids)
}

func TestHandlerStoreIsBounded(t *testing.T) {
	t.Parallel()
	var c counter
	h := newHandler(t, c.fn, webhook.WithStore(webhook.NewMemoryStore(2, time.Hour)))
	for _, id := range []string{"msg_1", "msg_2", "msg_3", "msg_3", "msg_2", "msg_1"} {
		assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, id, subCanceledBody)).Code)
	}
	var ids []string
	for _, e := range c.events {
		ids = append(ids, e.ID)
	}
	assert.Equal(t, []string{"msg_1", "msg_2", "msg_3", "msg_1"}, ids, "msg_1 was the oldest of three and was forgotten")
}

// A store shared by the handlers of two endpoints.
func TestHandlerSharedStore(t *testing.T) {
	t.Parallel()
	store := webhook.NewMemoryStore(0, 0)
	var created, canceled counter
	hCreated := newHandler(t, created.fn, webhook.WithStore(store), webhook.WithEventType(webhook.SubscriptionCreated))
	hCanceled := newHandler(t, canceled.fn, webhook.WithStore(store), webhook.WithEventType(webhook.SubscriptionCanceled))
	assert.Equal(t, http.StatusNoContent, serve(hCreated, delivery(t, "msg_1", subCanceledBody)).Code)
	assert.Equal(t, http.StatusNoContent, serve(hCanceled, delivery(t, "msg_2", subCanceledBody)).Code)
	assert.Equal(t, http.StatusNoContent, serve(hCanceled, delivery(t, "msg_1", subCanceledBody)).Code)
	require.Equal(t, 1, created.calls())
	require.Equal(t, 1, canceled.calls())
	assert.Equal(t, webhook.SubscriptionCreated, created.events[0].Type)
	assert.Equal(t, webhook.SubscriptionCanceled, canceled.events[0].Type)
}

// deadlineStore honours its context as a networked store would: settling a claim with a
// context whose deadline has passed fails.
type deadlineStore struct{ webhook.Store }

func expired(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return ctx.Err()
}

func (s deadlineStore) Complete(ctx context.Context, id string) error {
	if err := expired(ctx); err != nil {
		return err
	}
	return s.Store.Complete(ctx, id)
}

func (s deadlineStore) Release(ctx context.Context, id string) error {
	if err := expired(ctx); err != nil {
		return err
	}
	return s.Store.Release(ctx, id)
}

// failingStore fails the method named by fail.
type failingStore struct {
	webhook.Store
	fail string
}

func (s failingStore) Claim(ctx context.Context, id string) (webhook.ClaimStatus, error) {
	if s.fail == "claim" {
		return 0, errors.New("store down")
	}
	return s.Store.Claim(ctx, id)
}

func (s failingStore) Complete(ctx context.Context, id string) error {
	if s.fail == "complete" {
		return errors.New("store down")
	}
	return s.Store.Complete(ctx, id)
}

func (s failingStore) Release(ctx context.Context, id string) error {
	if s.fail == "release" {
		return errors.New("store down")
	}
	return s.Store.Release(ctx, id)
}

func TestHandlerStoreFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fail    string // the store method that fails
		fnErr   error  // what the event function returns
		status  int
		calls   int
		logged  string // at Error or Warn
		notLogs string
	}{
		{name: "claim fails", fail: "claim", status: http.StatusInternalServerError, calls: 0, logged: "webhook store claim failed"},
		// Handled; only logged.
		{name: "complete fails", fail: "complete", status: http.StatusNoContent, calls: 1, logged: "webhook store complete failed", notLogs: "release failed"},
		{name: "release fails", fail: "release", fnErr: errors.New("downstream"), status: http.StatusInternalServerError, calls: 1,
			logged: "level=ERROR msg=\"webhook store release failed\""},
		{name: "the event fails", fnErr: errors.New("downstream"), status: http.StatusInternalServerError, calls: 1,
			logged: "webhook event failed", notLogs: "release failed"},
		{name: "nothing fails", status: http.StatusNoContent, calls: 1, notLogs: "failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			var logs bytes.Buffer // written on the request's goroutine, the test's
			h := webhook.Handler(testSecret, func(context.Context, webhook.Event) error {
				calls.Add(1)
				return tc.fnErr
			},
				webhook.WithStore(failingStore{webhook.NewMemoryStore(0, 0), tc.fail}),
				webhook.WithVerifyOptions(webhook.WithClock(fixedClock)),
				webhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			assert.Equal(t, tc.status, serve(h, delivery(t, "msg_1", subCanceledBody)).Code)
			assert.Equal(t, int32(tc.calls), calls.Load())
			if tc.logged != "" {
				assert.Contains(t, logs.String(), tc.logged)
			}
			if tc.notLogs != "" {
				assert.NotContains(t, logs.String(), tc.notLogs)
			}
		})
	}
}

func TestHandlerBadSecret(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var c counter
	for _, secret := range []string{"", "whsec_", "whsec_%%%"} {
		h := webhook.Handler(secret, c.fn, webhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		w := serve(h, delivery(t, "msg_1", subCanceledBody))
		assert.Equal(t, http.StatusInternalServerError, w.Code, "a misconfigured endpoint makes Flowglad retry")
	}
	assert.Equal(t, 0, c.calls())
	assert.Contains(t, logs.String(), "level=ERROR")
	assert.Contains(t, logs.String(), webhook.ErrBadSecret.Error())
	assert.NotContains(t, logs.String(), "%%%")
}

// badSecrets are signing secrets an operator may paste by mistake, with the
// words the error must use to say what is wrong.
var badSecrets = []struct {
	name, secret, reason string
}{
	{"empty", "", "empty"},
	{"prefix only", "whsec_", "no key after"},
	{"not base64 after the prefix", "whsec_%%%Zmxvd2dsYWQ", "not standard base64"},
	{"url-safe base64", "whsec_Zmxvd2dsYWQtZ28-_2V4YW1wbGU", "not standard base64"},
	{"unpadded", "whsec_YWJjZA", "not standard base64"},
	{"spaces around it", " whsec_Zmxvd2dsYWQtZ28gZXhhbXBsZSBrZXku ", "white space"},
	{"a line break only", "whsec_\n", "white space"}, // base64 skips line breaks: an empty key
	{"an API key", "sk_test_Zmxvd2dsYWQtZ28gZXhhbXBsZSBrZXku", "want whsec_ followed by"},
	{"a publishable key", "pk_live_c2VjcmV0c2VjcmV0", "want whsec_ followed by"},
}

// NewHandler refuses a secret that cannot verify anything when it is built,
// saying what is wrong without quoting any of it; Handler logs the same at
// Error when it is built, before any delivery.
func TestNewHandlerRefusesBadSecret(t *testing.T) {
	t.Parallel()
	for _, tc := range badSecrets {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c counter
			h, err := webhook.NewHandler(tc.secret, c.fn)
			require.Error(t, err)
			assert.Nil(t, h)
			assert.ErrorIs(t, err, webhook.ErrBadSecret)
			assert.Contains(t, err.Error(), tc.reason)
			assertQuotesNothingOf(t, err.Error(), tc.secret)

			var logs bytes.Buffer
			webhook.Handler(tc.secret, c.fn, webhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			assert.Contains(t, logs.String(), "level=ERROR", "logged when built, not at the first delivery")
			assert.Contains(t, logs.String(), tc.reason)
			assertQuotesNothingOf(t, logs.String(), tc.secret)
		})
	}
	t.Run("a good secret", func(t *testing.T) {
		t.Parallel()
		var c counter
		var logs bytes.Buffer
		h, err := webhook.NewHandler(testSecret, c.fn,
			webhook.WithVerifyOptions(webhook.WithClock(fixedClock)),
			webhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		require.NoError(t, err)
		assert.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_1", subCanceledBody)).Code)
		assert.Equal(t, 1, c.calls())
		assert.Empty(t, logs.String())
	})
}

// assertQuotesNothingOf checks that text holds no six characters in a row of
// the secret's key (what follows the whsec_ prefix, which is public).
func assertQuotesNothingOf(t *testing.T, text, secret string) {
	t.Helper()
	key := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(secret), "whsec_"))
	for i := 0; i+6 <= len(key); i++ {
		if !assert.NotContains(t, text, key[i:i+6], "a fragment of the secret") {
			return
		}
	}
}

// The body cap holds for bodies that claim a small length and send more.
func TestHandlerBodyCapWithoutContentLength(t *testing.T) {
	t.Parallel()
	var c counter
	h := newHandler(t, c.fn, webhook.WithMaxBodyBytes(16))
	r := delivery(t, "msg_1", subCanceledBody)
	r.ContentLength = -1
	r.Header.Set("Content-Length", strconv.Itoa(8))
	assert.Equal(t, http.StatusRequestEntityTooLarge, serve(h, r).Code)
	assert.Equal(t, 0, c.calls())
}
