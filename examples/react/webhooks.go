package main

// Flowglad's webhooks, as the demo wires them on the embedded fake. They let the handler
// cache billing (Config.BillingCacheTTL): when Flowglad changes a customer (a checkout on
// the hosted page, a cancellation, a change made in Flowglad's dashboard), the webhook
// makes the handler forget the customer's cached billing, so the next read asks Flowglad.

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/webhook"
)

// billingEvents are the events after which a customer's billing reads differently. Flowglad's
// body does not say which event it is, so each type gets an endpoint (a URL and a signing
// secret) of its own.
var billingEvents = []webhook.EventType{
	webhook.SubscriptionCreated,
	webhook.SubscriptionUpdated,
	webhook.SubscriptionCanceled,
	webhook.PurchaseCompleted,
}

// webhookPath is where the endpoint for an event type is mounted.
func webhookPath(t webhook.EventType) string { return "/webhooks/flowglad/" + string(t) }

// mountWebhooks registers an endpoint per billing event on the embedded fake, at
// publicURL, and mounts a webhook.Handler on each. With Flowglad itself you register them
// once, in the dashboard (see README.md), and read each endpoint's secret from your
// configuration instead: the rest is the same.
func mountWebhooks(mux *http.ServeMux, fake *flowgladapitest.Fake, publicURL string, fg *flowglad.Handler, logger *slog.Logger) error {
	// One store of handled delivery ids for all endpoints: each delivery is handled once.
	store := webhook.NewMemoryStore(0, 0)
	for _, typ := range billingEvents {
		endpoint, err := fake.AddWebhook(publicURL+webhookPath(typ), typ)
		if err != nil {
			return err
		}
		mux.Handle(webhookPath(typ), webhook.Handler(endpoint.Secret, logWebhook(logger),
			webhook.WithEventType(typ),
			webhook.WithStore(store),
			// Verified deliveries forget the customer's cached billing before logWebhook runs.
			webhook.WithBillingInvalidator(fg.Service()),
			webhook.WithLogger(logger),
		))
	}
	return nil
}

// logWebhook is the demo's reaction to an event: a log line. Yours might email the
// customer or provision an account; the cache invalidation is done for you.
func logWebhook(logger *slog.Logger) func(context.Context, webhook.Event) error {
	return func(ctx context.Context, e webhook.Event) error {
		logger.LogAttrs(ctx, slog.LevelInfo, "flowglad webhook: cached billing forgotten",
			slog.String("event", string(e.Type)), slog.String("customer", e.CustomerExternalID),
			slog.String("object_id", e.ObjectID))
		return nil
	}
}
