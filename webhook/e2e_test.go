package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/webhook"
)

// A subscription canceled outside the application (here straight through
// Flowglad's API) reaches the application's cached billing through the
// subscription.canceled webhook: the handler invalidates the customer's
// billing, so the next read shows the cancellation instead of the cached
// state.
func TestCancellationWebhookInvalidatesCachedBilling(t *testing.T) {
	ctx := t.Context()
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))

	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:          fake.APIKey(),
		BaseURL:         fake.URL,
		BillingCacheTTL: time.Hour,
		Auth: flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
			return flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice, Name: "Alice Example", Email: "alice@example.com"}, nil
		}),
		Logger: logger,
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/flowglad/", h)
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)

	// Register the endpoint as on Flowglad, then mount its handler.
	const path = "/webhooks/flowglad/subscription-canceled"
	secret := registerWebhook(t, fake, app.URL+path, webhook.SubscriptionCanceled)
	var mu sync.Mutex
	var handled []webhook.Event
	mux.Handle("POST "+path, webhook.Handler(secret,
		func(_ context.Context, e webhook.Event) error {
			mu.Lock()
			defer mu.Unlock()
			handled = append(handled, e)
			return nil
		},
		webhook.WithEventType(webhook.SubscriptionCanceled),
		webhook.WithBillingInvalidator(h.Service()),
		webhook.WithLogger(logger)))

	billingReads := func() int {
		n := 0
		for _, r := range fake.Requests() {
			if r.Method == http.MethodGet && r.Path == "/api/v1/customers/"+flowgladapitest.DemoCustomerAlice+"/billing" {
				n++
			}
		}
		return n
	}
	status := func() string { return subscriptionStatus(t, app.URL, flowgladapitest.DemoAliceSubscriptionID) }

	assert.Equal(t, flowgladapitest.StatusActive, status())
	assert.Equal(t, flowgladapitest.StatusActive, status())
	require.Equal(t, 1, billingReads(), "the second read came from the cache")

	api, err := flowgladapi.NewClient(fake.APIKey(), flowgladapi.WithBaseURL(fake.URL))
	require.NoError(t, err)
	_, err = api.CancelSubscription(ctx, flowgladapitest.DemoAliceSubscriptionID, flowgladapi.CancelImmediately)
	require.NoError(t, err)
	require.NoError(t, fake.WaitWebhookDeliveries(ctx))

	mu.Lock()
	require.Len(t, handled, 1)
	e := handled[0]
	mu.Unlock()
	assert.Equal(t, webhook.SubscriptionCanceled, e.Type)
	assert.Equal(t, webhook.ObjectSubscription, e.Object)
	assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, e.ObjectID)
	assert.Equal(t, flowgladapitest.DemoCustomerAlice, e.CustomerExternalID)
	assert.Equal(t, fake.PricingModelID(), e.PricingModelID)
	d := fake.WebhookDeliveries()
	require.Len(t, d, 1)
	assert.True(t, d[0].Delivered)
	assert.Equal(t, e.ID, d[0].MessageID)

	assert.Equal(t, flowgladapitest.StatusCanceled, status(), "the next read shows the cancellation")
	assert.Equal(t, 2, billingReads(), "read from Flowglad again after the invalidation")
}

// registerWebhook registers an endpoint through the fake's
// POST /api/v1/webhooks, as an operator would on Flowglad, and returns its
// signing secret.
func registerWebhook(t *testing.T, fake *flowgladapitest.Server, url string, typ webhook.EventType) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"webhook": map[string]any{
		"url": url, "name": string(typ), "filterTypes": []webhook.EventType{typ}, "pricingModelId": fake.PricingModelID(),
	}})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.URL+"/api/v1/webhooks", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", fake.APIKey())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct{ Secret string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.NotEmpty(t, out.Secret)
	return out.Secret
}

// subscriptionStatus reads the signed-in customer's billing through the
// handler's route, as the React SDK does, and returns the subscription's
// status ("" when billing does not list it).
func subscriptionStatus(t *testing.T, appURL, subID string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, appURL+"/api/flowglad/customers/billing", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Data struct {
			Subscriptions []struct{ ID, Status string }
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	for _, s := range out.Data.Subscriptions {
		if s.ID == subID {
			return s.Status
		}
	}
	return ""
}
