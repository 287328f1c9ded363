package flowgladapitest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/webhook"
)

// waitDeliveries waits for s's deliveries, with a deadline.
func waitDeliveries(t *testing.T, s *Server) []WebhookDelivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.WaitWebhookDeliveries(ctx))
	return s.WebhookDeliveries()
}

func cancelAlice(t *testing.T, s *Server) {
	t.Helper()
	ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/cancel",
		map[string]any{"cancellation": map[string]any{"timing": "immediately"}}))
}

// TestSetWebhookHandler: an app built with the secret AddWebhook returned,
// then attached to the endpoint, gets the signed delivery in process, as a
// server would hand it over (method, the URL's host and path), and verifies
// it with the webhook package.
func TestSetWebhookHandler(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t)
	ep, err := s.AddWebhook("http://app.invalid/webhooks/flowglad", webhook.SubscriptionCanceled)
	require.NoError(t, err)

	var mu sync.Mutex
	var got []string
	var seen *http.Request
	app := http.NewServeMux()
	verify := webhook.Handler(ep.Secret, func(_ context.Context, e webhook.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(e.Type)+" "+e.ObjectID+" "+e.CustomerExternalID)
		return nil
	}, webhook.WithEventType(webhook.SubscriptionCanceled), webhook.WithVerifyOptions(webhook.WithClock(fixedClock)), webhook.WithLogger(slog.New(slog.DiscardHandler)))
	app.Handle("POST /webhooks/flowglad", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r
		mu.Unlock()
		verify.ServeHTTP(w, r)
	}))
	require.NoError(t, s.SetWebhookHandler(ep.ID, app))

	cancelAlice(t, s)
	ds := waitDeliveries(t, s)
	require.Len(t, ds, 1)
	assert.True(t, ds[0].Delivered)
	assert.Equal(t, 1, ds[0].Attempts)
	assert.Equal(t, "http://app.invalid/webhooks/flowglad", ds[0].URL)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"subscription.canceled " + DemoAliceSubscriptionID + " " + DemoCustomerAlice}, got)
	require.NotNil(t, seen)
	assert.Equal(t, "app.invalid", seen.Host)
	assert.Equal(t, "/webhooks/flowglad", seen.RequestURI)
	assert.NotEmpty(t, seen.RemoteAddr)
}

// TestSetWebhookHandlerAnswers: the handler's status is the attempt's: a 5xx
// is retried, a panic is an attempt without an answer, and a nil handler
// sends the endpoint back to the network.
func TestSetWebhookHandlerAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    http.Handler
		wantStatus int
		delivered  bool
		attempts   int
	}{
		{"ok", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), http.StatusOK, true, 1},
		{"5xx retried", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }),
			http.StatusServiceUnavailable, false, 3},
		{"panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("app bug") }), 0, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newPlainServer(t, WithWebhookRetries(2, time.Millisecond))
			ep, err := s.AddWebhook("http://app.invalid/hook", webhook.SubscriptionCanceled)
			require.NoError(t, err)
			require.NoError(t, s.SetWebhookHandler(ep.ID, tt.handler))
			cancelAlice(t, s)
			ds := waitDeliveries(t, s)
			require.Len(t, ds, 1)
			assert.Equal(t, tt.wantStatus, ds[0].StatusCode)
			assert.Equal(t, tt.delivered, ds[0].Delivered)
			assert.Equal(t, tt.attempts, ds[0].Attempts)
		})
	}

	t.Run("nil goes back to the network", func(t *testing.T) {
		rc := newReceiver(t)
		s := newPlainServer(t)
		eps := rc.listen(t, s.Fake, webhook.SubscriptionCanceled)
		require.NoError(t, s.SetWebhookHandler(eps[0].ID, http.NotFoundHandler()))
		require.NoError(t, s.SetWebhookHandler(eps[0].ID, nil))
		cancelAlice(t, s)
		ds := waitDeliveries(t, s)
		require.Len(t, ds, 1)
		assert.True(t, ds[0].Delivered)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		assert.Len(t, rc.got, 1)
	})

	t.Run("unknown endpoint", func(t *testing.T) {
		s := newPlainServer(t)
		err := s.SetWebhookHandler("webhook_nope", http.NotFoundHandler())
		assert.EqualError(t, err, `flowgladapitest: no webhook endpoint "webhook_nope"`)
	})
}

// TestSetWebhookHandlerBody: the handler reads Flowglad's body, as sent.
func TestSetWebhookHandlerBody(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t)
	ep, err := s.AddWebhook("http://app.invalid/hook", webhook.SubscriptionCanceled)
	require.NoError(t, err)
	bodies := make(chan string, 1)
	require.NoError(t, s.SetWebhookHandler(ep.ID, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- string(b)
	})))
	cancelAlice(t, s)
	ds := waitDeliveries(t, s)
	require.Len(t, ds, 1)
	assert.Equal(t, string(ds[0].Payload), <-bodies)
}
