// Package flowgladapi is a client for the subset of Flowglad's REST API
// (https://app.flowglad.com/api/v1) that billing integrations need:
// customers and their billing, checkout sessions, subscriptions, usage
// events, pricing models and resource claims.
//
// Each method names the endpoint it calls in its doc comment. Most return the
// response body as json.RawMessage, so it can be relayed to a browser without
// being re-encoded; GetBilling returns a *Billing view with the React SDK's
// helpers (CheckFeatureAccess, CheckUsageBalance, Product, Price,
// HasPurchased), and DecodeBilling and DecodeSubscription decode bodies you
// already have.
//
// # Creating a client
//
// Create one Client per secret key and share it; it is safe for concurrent
// use and pools its connections:
//
//	api, err := flowgladapi.NewClient(os.Getenv("FLOWGLAD_SECRET_KEY"),
//		flowgladapi.WithLogger(logger),
//		flowgladapi.WithTimeout(10*time.Second),
//	)
//	if err != nil { ... }
//	billing, err := api.GetBilling(ctx, user.ID)
//	if err != nil { ... }
//	if billing.CheckFeatureAccess("advanced_reports") { ... }
//
// The key is sent as Flowglad's SDKs send it (Authorization: <key>) and never
// appears in errors or logs: an error body that echoes it, whole, escaped or
// in part, is redacted. The base URL must be https (plain http only to a
// loopback host, such as a test server). Every path segment is escaped, so
// any external id reaches Flowglad as one segment.
//
// # Errors
//
// A non-2xx response is an *Error holding the status, Flowglad's code,
// message and request id, and the raw body (capped at 64 KiB). Branch with
// errors.Is and the sentinels:
//
//	_, err := api.GetCustomer(ctx, id)
//	switch {
//	case errors.Is(err, flowgladapi.ErrNotFound):
//		// create the customer
//	case errors.Is(err, context.DeadlineExceeded):
//		// the per-call timeout or ctx's deadline passed
//	case err != nil:
//		var apiErr *flowgladapi.Error
//		if errors.As(err, &apiErr) { log.Print(apiErr.StatusCode, apiErr.RequestID) }
//	}
//
// ErrUnauthorized and ErrForbidden mean the key is wrong or lacks rights;
// ErrBadRequest means Flowglad rejected the input; ErrRateLimited and
// ErrServer mean try later. Live Flowglad answers a rate-limited key with 401:
// a 401 to a key that has had a 2xx answer in this Client (Error.KeyWorked)
// matches ErrRateLimited as well as ErrUnauthorized, and is retried like a 429;
// check ErrRateLimited first. A 2xx body that is not the JSON a call needs
// wraps ErrInvalidResponse. Connection failures wrap the underlying error,
// and a cancelled context or expired timeout wraps ctx.Err().
//
// # Retries
//
// Calls that are safe to repeat are retried (see RetryPolicy): GETs, and
// usage events, whose transactionId is chosen before the first attempt so a
// repeat is deduplicated by Flowglad. They are retried after connection
// errors, 408, 429 and 5xx responses, and 2xx bodies that are not JSON (an
// answer garbled on the way back), with exponential backoff and full
// jitter, honouring a capped Retry-After (Error.RetryAfter keeps the capped
// value, so a relayed hint never exceeds the wait the client honours).
// Writes without a dedupe key (checkout sessions, cancel, adjust, claims,
// customer changes) are sent exactly once. Every wait ends as soon as the context is done, and
// WithTimeout bounds a call's attempts and waits together.
//
// # Testing with flowgladapitest
//
// Package flowgladapitest runs a stateful fake of the Flowglad API in an
// httptest server, seeded with customers, subscriptions and a pricing model;
// it records requests and can inject faults:
//
//	srv := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
//	api, err := flowgladapi.NewClient(srv.APIKey(), flowgladapi.WithBaseURL(srv.URL))
//
// Point WithBaseURL at it; no network access or real key is needed.
package flowgladapi
