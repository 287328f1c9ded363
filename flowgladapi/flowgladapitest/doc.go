// Package flowgladapitest provides a stateful fake of Flowglad's REST API,
// for exercising code that talks to Flowglad without the network: this
// module's own tests, your application's tests, and local development (the
// React example runs on it when no API key is set).
//
// The fake serves the /api/v1 routes the Go library uses, on Flowglad's real
// paths: customers (get, create, update, archive, billing, usage balances),
// checkout sessions, subscriptions (get, create, cancel, uncancel, adjust),
// usage events (single and bulk), pricing models (default and by id),
// resource claims (claim, release, usage, usages, claims) and webhooks
// (create, get, update; see Webhooks below). Answers have the
// shapes of Flowglad's OpenAPI document, closed schemas included (every
// 2xx body the fake produces is validated against it in this package's
// tests); errors have the live server's shape: {"error", "code",
// "request_id"} JSON, plain-text 401s, and a plain-text 404 "Not Found" for
// unknown routes. Every response carries X-Request-Id.
//
// The state behaves like Flowglad's: a customer created through the API is
// subscribed to the default product; billing is computed from the state
// (current subscriptions with their feature items and usage meter
// balances, invoices, payment methods, purchases, the catalog); usage
// events are idempotent on transactionId and meter and lower balances (see
// Usage events below); resource
// claims are bounded by the capacity the subscription's features grant;
// cancel, uncancel and adjust move subscriptions through their statuses;
// usage balances filtered by a subscription that is not the customer's
// answer 404 NOT_FOUND, as the live server does.
// Checkout sessions point at a small hosted page on the fake itself
// (GET /checkout/{id}) whose "Complete checkout" button (id
// "complete-checkout") applies the purchase and redirects to the session's
// successUrl; see Fake.CompleteCheckout for what each kind of session does.
//
// Deliberate choices where Flowglad's behaviour is not documented: creating
// a customer whose externalId is taken answers 409 CONFLICT; balances are
// the credit grants of the subscription's current items (amount × item
// quantity) minus all usage recorded on the subscription, with no billing
// period rollover; ids are prefix + counter ("cus_1", "sub_2").
//
// # Seeding
//
// A Fake starts from a Seed: one pricing model (products with prices and
// features, usage meters, resources) and customers with their
// subscriptions, payment methods, purchases and invoices. DemoSeed is a
// ready-made one (Free, Pro and Team plans, credits, an "api-calls" meter,
// "seats"; customers "user_alice" on Pro and "user_bob" on Free) whose ids
// and slugs are exported as Demo* constants. Records can also be added
// while the fake runs (AddCustomer, AddSubscription, AddPaymentMethod,
// AddPurchase, AddInvoice, SetSubscriptionStatus), and read back as copies
// (Customer, Subscription, UsageEvents, UsageBalance, Claims,
// CheckoutSessions). With a fixed clock (WithClock) the same seed always
// gives the same bytes, so golden files stay stable.
//
// # Usage events
//
// Both usage routes follow Flowglad's server (platform/flowglad-next in the
// flowglad/flowglad repository) rather than its documentation, which says
// little:
//
//   - An event is unique on its transactionId and meter (the unique index of
//     the usage_events table, db-core/schema/usageEvents.ts), not on the
//     transactionId alone: one id may carry an event on each of two meters.
//   - POST /usage-events (src/utils/usage/usageEventHelpers.ts,
//     ingestAndProcessUsageEvent) answers a repeat with the event first
//     recorded, amount included, when it names the same subscription, and
//     with 409 CONFLICT when it names another one.
//   - POST /usage-events/bulk (src/utils/usage/bulkInsertUsageEventsTransaction.ts)
//     takes events of any number of customers, each naming its subscription,
//     and runs as one transaction: the first problem refuses the whole batch
//     and nothing is recorded. Flowglad checks one thing at a time over the
//     whole batch (the schema; every subscription exists, 404 "Subscription
//     not found: <id> (usage event at index <i>)"; no customer is archived;
//     price slugs; meter slugs; price ids; meters and the properties a
//     count_distinct_properties meter needs), so the error is the first
//     check's, not the first event's. Most messages name the index; slug
//     and archived-customer errors do not. An archived customer is a 500
//     INTERNAL_SERVER_ERROR, "Cannot create usage event for archived
//     customer", on both routes: that error has no HTTP mapping on
//     Flowglad (src/server/trpc.ts maps not-found to 404 and validation to
//     400).
//   - The bulk insert is INSERT ... ON CONFLICT (transactionId, meter) DO
//     NOTHING RETURNING (bulkInsertOrDoNothingUsageEventsByTransactionId in
//     src/db/tableMethods/usageEventMethods.ts): a duplicate of an earlier
//     event, or of an event before it in the batch, is skipped silently
//     whatever its amount or subscription, and the answer, {"usageEvents":
//     [...]}, lists only the events inserted, in the order sent (a batch of
//     duplicates answers an empty list). Balances move for inserted events
//     only.
//   - Neither route checks the subscription's status: usage on a canceled
//     subscription is recorded.
//   - On a count_distinct_properties meter every event is recorded, but only
//     the first with its billing period and properties (in any key order)
//     lowers the balance, as Flowglad's ledger skips the others.
//
// # Faults
//
// FailNext makes the next n matching requests fail with a status (and
// Retry-After; a 401 in Flowglad's plain-text form, as a rate-limited key
// gets), answer a body given as is (a 200 garbled on the way back), drop
// their connection, or hang until the client gives up (a timeout), before
// they reach the state (or after, with AfterApply: the request takes effect
// and its answer is lost). FailNext(0, ...) fails every matching request
// until ClearFaults, which empties the queue: an outage of any length.
// SetLatency delays every response, giving up when the client does. They
// exist to test retries, timeouts and error paths, the bulk usage call's
// included:
//
//	fake.FailNext(0, flowgladapitest.Fault{Path: "/api/v1/usage-events/bulk", Status: 503}) // down
//	fake.FailNext(1, flowgladapitest.Fault{Path: "/api/v1/usage-events/bulk", Hang: true, AfterApply: true}) // landed, answer timed out
//	fake.ClearFaults() // back up
//
// # Request log
//
// Requests returns every request received (method, escaped path, raw query,
// body), faulted and unauthorized ones included, so tests can assert on
// exactly what a client sent and how many calls it made; ResetRequests
// clears it.
//
// # Webhooks
//
// Endpoints are registered as on Flowglad (POST /api/v1/webhooks with url,
// filterTypes, name and pricingModelId; GET and PUT /api/v1/webhooks/{id})
// or with AddWebhook, which returns the endpoint with its signing secret.
// When the state changes through the API, CompleteCheckout or
// SetSubscriptionStatus, the fake delivers the events Flowglad's server
// sends for that change to every active endpoint subscribed to their type,
// with Flowglad's thin body and Svix's headers, signed with the endpoint's
// secret at the fake's clock (verify with the same clock under WithClock):
//
//   - customer.created: a customer created through the API;
//   - subscription.created: any new subscription (a new customer's default
//     plan, POST /subscriptions, a checkout);
//   - subscription.canceled: a subscription ending (immediate cancel, an
//     archived customer, SetSubscriptionStatus), but not a free plan
//     replaced by a paid subscription, which Flowglad cancels silently;
//   - payment.succeeded: the payment of an invoice a checkout paid (a paid
//     subscription, a single payment), named by Invoice.PaymentID;
//   - purchase.completed: a paid purchase made by a checkout.
//
// customer.updated and subscription.updated are sent only with
// WithWebhookUpdates, since Flowglad's server does not send them.
// payment.failed is never sent: the fake's checkouts always succeed. Records
// added with Add* are seed data and send nothing.
//
// An app's webhook endpoint needs the secret before the app can be built,
// and AddWebhook needs a URL: register the endpoint at any URL, build the
// app with the secret, and attach it with SetWebhookHandler. The fake then
// hands each delivery to the app in process, signed as it would send it
// (see the example of SetWebhookHandler).
//
// Deliveries run in the background, each message with one svix-id across
// its attempts, retried on failure a few times with a short backoff
// (WithWebhookRetries). WaitWebhookDeliveries waits for them and
// WebhookDeliveries lists them; CloseWebhooks (called by NewServer's
// cleanup) stops them.
//
// # Testing your own app
//
// Configure the app under test as in production, with the fake's key and
// URL in its flowglad.Config, drive it, then assert on the fake's state
// (Example_config runs the same):
//
//	func TestMeteredEndpoint(t *testing.T) {
//		fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
//		h, err := flowglad.NewHandler(flowglad.Config{
//			APIKey:  fake.APIKey(),
//			BaseURL: fake.URL,
//			Auth: flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
//				return flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice}, nil // your sessions
//			}),
//		})
//		if err != nil {
//			t.Fatal(err)
//		}
//		app := http.NewServeMux() // your routes, with the handler and its middleware
//		app.Handle("/api/flowglad/", h)
//
//		rec := httptest.NewRecorder()
//		req := httptest.NewRequest("POST", "/api/flowglad/usage-events/create",
//			strings.NewReader(`{"usageMeterSlug":"api-calls","amount":3}`))
//		req.Header.Set("Content-Type", "application/json")
//		app.ServeHTTP(rec, req)
//
//		balance, _ := fake.UsageBalance(flowgladapitest.DemoAliceSubscriptionID, flowgladapitest.DemoUsageMeterAPICalls)
//		if rec.Code != 200 || balance != 997 {
//			t.Errorf("status %d, balance %v; want 200 and 997", rec.Code, balance)
//		}
//		if n := len(fake.Requests()); n > 2 {
//			t.Errorf("%d Flowglad calls, want at most 2", n)
//		}
//	}
//
// Code that takes a flowgladapi.Client instead gets
// flowgladapi.NewClient(fake.APIKey(), flowgladapi.WithBaseURL(fake.URL)).
//
// New returns a Fake without a server: it is an http.Handler that can be
// mounted anywhere (on a loopback listener for a local demo, say). Checkout
// and billing-portal URLs then follow each request's Host unless
// WithCheckoutBaseURL is given.
package flowgladapitest
