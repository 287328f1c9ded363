// Package webhook receives Flowglad's webhooks: it verifies their Svix
// signatures, decodes the thin events Flowglad sends, handles each delivery
// once, and can invalidate the billing a flowglad.Handler caches.
//
// Flowglad delivers events through Svix. Each delivery is a POST whose body
// names a record and its customer,
//
//	{"id":"sub_1","object":"subscription","customer":{"id":"cus_1","externalId":"user_42"},"pricingModelId":"pm_1"}
//
// with three headers: svix-id (the message id, the same on every retry),
// svix-timestamp (unix seconds) and svix-signature ("v1," and the base64
// HMAC-SHA256 of "<id>.<timestamp>.<body>", keyed with the endpoint's
// secret "whsec_<base64 key>"). The body does not say which event it is:
// an endpoint receives the event types chosen when it was registered.
//
// # Mounting
//
// Register one endpoint per event type you care about (Flowglad's
// dashboard, or POST /api/v1/webhooks with one filterType), each with its
// own URL and signing secret, and mount one handler on each URL.
// [NewHandler] checks the secret at startup:
//
//	store := webhook.NewMemoryStore(0, 0) // ids handled, shared by the endpoints
//	for typ, secret := range secrets {    // e.g. from FLOWGLAD_WEBHOOK_SECRET_SUBSCRIPTION_CANCELED
//		wh, err := webhook.NewHandler(secret, onEvent,
//			webhook.WithEventType(typ),
//			webhook.WithStore(store),
//			webhook.WithBillingInvalidator(h.Service()), // h is the flowglad.Handler
//		)
//		if err != nil {
//			log.Fatal(err) // names what is wrong with the secret, never quotes it
//		}
//		mux.Handle("/webhooks/flowglad/"+string(typ), wh)
//	}
//
// The handler answers 2xx only when the event was handled (or had been
// already): anything else makes Flowglad retry, for hours. See
// [Handler] for the statuses. Several instances behind a load balancer
// share one [Store]: cache/rediscache's WebhookStore keeps it in Redis.
//
// # Guarantees
//
//   - Only deliveries signed with the endpoint's secret, at most five
//     minutes old and one minute ahead, reach your function; a refusal
//     looks the same whatever failed.
//   - Each svix-id is handled once per [Store]: a retry of a handled
//     delivery is acknowledged without running anything, and concurrent
//     copies of one delivery never run your function twice.
//   - A failure (an error, a panic, a failed invalidation, the timeout)
//     releases the id, so the retry is handled.
//   - With [WithBillingInvalidator], the customer's cached billing is
//     forgotten before your function runs.
//
// # Verifying by hand
//
// [Verify] checks a body and its headers without any bookkeeping, for
// servers that route webhooks their own way. Read the body raw, before any
// JSON decoding, and cap its size.
//
// # Testing
//
// [Sign] produces the headers Flowglad would send for a body, so tests can
// post signed deliveries to a handler. The fake Flowglad API in
// flowgladapi/flowgladapitest accepts webhook registrations and delivers
// signed events when its state changes (see its AddWebhook and
// WaitWebhookDeliveries).
package webhook
