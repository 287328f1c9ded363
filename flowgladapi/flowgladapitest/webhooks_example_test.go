package flowgladapitest_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/webhook"
)

// Receive the fake's signed subscription.canceled webhook with the webhook
// package's handler.
func ExampleFake_AddWebhook() {
	fake := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	defer fake.CloseWebhooks()
	api := httptest.NewServer(fake)
	defer api.Close()

	mux := http.NewServeMux() // your application
	app := httptest.NewServer(mux)
	defer app.Close()
	endpoint, err := fake.AddWebhook(app.URL+"/webhooks/flowglad/canceled", webhook.SubscriptionCanceled)
	if err != nil {
		fmt.Println(err)
		return
	}
	mux.Handle("POST /webhooks/flowglad/canceled", webhook.Handler(endpoint.Secret,
		func(_ context.Context, e webhook.Event) error {
			fmt.Println(e.Type, e.ObjectID, e.CustomerExternalID)
			return nil
		},
		webhook.WithEventType(webhook.SubscriptionCanceled),
		webhook.WithLogger(slog.New(slog.DiscardHandler))))

	req, _ := http.NewRequest(http.MethodPost, api.URL+"/api/v1/subscriptions/"+flowgladapitest.DemoAliceSubscriptionID+"/cancel",
		strings.NewReader(`{"cancellation":{"timing":"immediately"}}`))
	req.Header.Set("Authorization", fake.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()

	if err := fake.WaitWebhookDeliveries(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	d := fake.WebhookDeliveries()[0]
	fmt.Println(d.Delivered, d.Attempts)
	// Output:
	// subscription.canceled sub_alice_pro user_alice
	// true 1
}

// Test an app's webhook endpoint without a listener: the app is built with
// the secret AddWebhook returns, then attached to the endpoint, and the fake
// hands it each signed delivery in process.
func ExampleFake_SetWebhookHandler() {
	fake := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	defer fake.CloseWebhooks()

	endpoint, err := fake.AddWebhook("https://app.example.com/webhooks/flowglad", webhook.SubscriptionCanceled)
	if err != nil {
		fmt.Println(err)
		return
	}
	app := http.NewServeMux() // your application, built with the secret
	app.Handle("POST /webhooks/flowglad", webhook.Handler(endpoint.Secret,
		func(_ context.Context, e webhook.Event) error {
			fmt.Println(e.Type, e.ObjectID, e.CustomerExternalID)
			return nil
		},
		webhook.WithEventType(webhook.SubscriptionCanceled),
		webhook.WithLogger(slog.New(slog.DiscardHandler))))
	if err := fake.SetWebhookHandler(endpoint.ID, app); err != nil {
		fmt.Println(err)
		return
	}

	// Any change that sends the event: here, canceling Alice's plan.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/subscriptions/"+flowgladapitest.DemoAliceSubscriptionID+"/cancel",
		strings.NewReader(`{"cancellation":{"timing":"immediately"}}`))
	req.Header.Set("Authorization", fake.APIKey())
	fake.ServeHTTP(rec, req)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.WaitWebhookDeliveries(ctx); err != nil {
		fmt.Println(err)
		return
	}
	d := fake.WebhookDeliveries()[0]
	fmt.Println(rec.Code, d.Delivered, d.StatusCode)
	// Output:
	// subscription.canceled sub_alice_pro user_alice
	// 200 true 204
}
