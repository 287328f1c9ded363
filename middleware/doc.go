// Package middleware gates and meters a Go backend's own endpoints with Flowglad billing:
// each function returns a func(http.Handler) http.Handler, so it composes with the standard
// library, chi, gin (gin.WrapH) and echo (echo.WrapHandler) alike.
//
//	h, _ := flowglad.NewHandler(cfg) // the route; also what the middleware reads billing through
//	mux.Handle("/api/flowglad/", h)
//	mux.Handle("POST /api/generate",
//		middleware.RequireFeature(h, "premium")(
//			middleware.RequireUsageBalance(h, "api-calls", 1)(
//				middleware.MeterUsage(h, "api-calls")(generate))))
//
// The middleware authenticates the request with the handler's Config.Auth (401 without a
// session), reads the customer's billing through the handler's Service (sharing the read
// with the route's and with the other middleware of the same request: one Flowglad call),
// and refuses with the route's error envelope: 403 feature_required, 402
// usage_balance_exhausted. [WithErrorHandler] replaces how refusals are written.
//
// # Cross-site requests
//
// Config.Auth usually reads a session cookie, which a browser attaches to a request
// another site makes too. So, before authenticating, the gates and the meter refuse a
// cross-site browser request (a state-changing method) with the route's own check,
// Handler.CheckOrigin (Config.TrustedOrigins included; a Biller without it, see
// [OriginChecker], gets http.CrossOriginProtection's): 403 cross_origin_forbidden, and
// nothing is read or metered. GET, HEAD and OPTIONS pass, and so does a request from no
// browser (no Origin and no Sec-Fetch-Site header). [AllowCrossOrigin] turns the check off
// for endpoints authenticated by a token the browser does not attach by itself.
//
// # Several current subscriptions
//
// A customer may have several current subscriptions (Pro, and a newer Free plan). One
// rule for the route and Go: [RequireFeature] passes when any current subscription grants
// the feature, as the route's features/access lists features; [RequireUsageBalance] checks
// the first current subscription (newest first) that has the usage meter, and
// [MeterUsage] records on that same subscription, naming it in the event.
// [WithSubscription] picks the subscription instead. The route differs where it can ask
// the browser: usage-events/create without a subscriptionId records on billing's
// currentSubscription (and the resources actions answer 400 subscription_id_required to a
// customer with several); the middleware cannot ask, so it applies the rule above.
//
// # When billing cannot be read
//
// When Flowglad cannot be reached, times out or rate limits the key, a gate fails closed
// with 503 billing_unavailable and a Retry-After ([WithRetryAfter], else Flowglad's hint,
// else 5 seconds), unless [FailOpen] says to serve anyway. An API key Flowglad refuses and
// never accepted is a misconfiguration, answered as the route answers it: 502
// flowglad_auth_failed, no Retry-After, logged at Error. A key that has worked and then
// gets 401 is most likely rate limited (live Flowglad's answer to a rate-limited key): a
// 503, logged as rate limiting (see flowgladapi.ErrRateLimited).
//
// # Metering
//
// [MeterUsage] records one usage event after the wrapped handler answers 2xx (none for
// another status or a panic). The handler sets the amount and an idempotency key derived
// from its work with [SetUsage] and [SetTransactionID]; [CustomerFrom] and [BillingFrom]
// give it what the middleware resolved, so it need not authenticate again. One event per
// usage meter and request: a MeterUsage inside another for the same meter passes through
// (the outer one records); a request metered on several meters names each with
// [SetUsageFor] and [SetTransactionIDFor]. A handler that hijacks the connection, or
// answers 101 Switching Protocols, is metered only when it called SetUsage or SetUsageFor.
//
// # Metering at volume, and reservations
//
// By default MeterUsage calls Flowglad once per event, and the client's answer waits for
// it. [WithRecorder] hands the events to a usage.Recorder instead, which queues them and
// sends them in batches (package usage): no usage call on the request path, and behind a
// gate no Flowglad call at all once billing is cached. Given to RequireUsageBalance as
// well, the gate reserves min for the request, and the meter commits the reservation:
//
//	rec, _ := usage.NewRecorder(h.Service()) // defer rec.Close(ctx) on shutdown
//	mux.Handle("POST /api/generate",
//		middleware.RequireUsageBalance(h, "api-calls", 1, middleware.WithRecorder(rec))(
//			middleware.MeterUsage(h, "api-calls", middleware.WithRecorder(rec))(generate)))
//
// What the reservation guarantees: a request passes only if the balance, less the usage
// queued and not yet at Flowglad and less the other requests' reservations, covers min,
// decided atomically, so concurrent requests on a balance B pass at most floor(B/min)
// times (without a recorder they may all pass, and the balance ends below zero). With
// usage/redisqueue's queue and ledger this holds across instances. The reservation ends
// with the request: committed as the amount the handler set (SetUsage, which may be more
// or less than min), or released when the answer is not a 2xx or nothing is recorded. A
// reservation whose instance crashed lapses after the recorder's reservation TTL (a
// minute by default).
//
// # Misspelled slugs
//
// Every slug a middleware is built with is registered on the Service
// (Service.ExpectFeature, Service.ExpectUsageMeter): call Handler.Check (or
// Service.Check) at startup and it names the ones the pricing model lacks. At run time,
// the first refusal caused by a slug the customer's pricing model does not have is logged
// at Error, once per slug and process.
package middleware
