// Package flowglad bills with Flowglad from a Go backend: it serves Flowglad's React SDK, and
// gives your Go code the same billing.
//
// Flowglad's React SDK (@flowglad/react) talks to one server route,
// /api/flowglad/<actionKey>: always POST, a JSON body, and an answer of the form
// {"data": ...} or {"error": {...}}. [NewHandler] returns an [http.Handler] that serves every
// action key of that route ([ActionKeys]). It derives the signed-in customer from your own
// sessions through an [Authenticator], calls Flowglad's REST API with your secret key, and
// answers in the envelope the SDK reads.
//
// # Mounting
//
// With the standard library:
//
//	h, err := flowglad.NewHandler(flowglad.Config{Auth: auth}) // key from FLOWGLAD_SECRET_KEY
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.Handle("/api/flowglad/", h)
//
// The handler finds the action key by removing [Config.BasePath] (default "/api/flowglad")
// from the request path, so it also works as mux.Handle("POST /api/flowglad/{action...}", h),
// behind http.StripPrefix, and with chi's r.Mount("/api/flowglad", h) or
// r.Handle("/api/flowglad/*", h). It contains no router of its own.
//
// # Authentication
//
// Your [Authenticator] maps a request to a [Customer]: ExternalID is your user's (or
// organization's) id, never Flowglad's. Return [ErrUnauthenticated] when there is no
// session: the handler answers 401. The customer's Flowglad record is created on first use.
// pricing-models/retrieve also serves anonymous visitors, with the default pricing model.
//
// # Security
//
// Only POST with Content-Type application/json is accepted, and browser requests from other
// origins are refused ([http.CrossOriginProtection]) unless listed in
// [Config.TrustedOrigins]: a cross-site form cannot forge an action. Every id a browser sends
// (a subscription id, say) is checked to belong to the signed-in customer; another customer's
// id and an unknown one get the same 403. Bodies are capped ([Config.MaxBodyBytes]), every
// input is validated before any Flowglad call (all problems reported at once), and 5xx
// answers carry a generic message: the detail goes to [Config.Logger], without secrets or the
// customer's email and name. A checkout's URL from Flowglad is relayed only when it is
// https, and [Config.RedirectOrigins] limits where successUrl and cancelUrl may lead.
// SECURITY.md has the threat model and what your application must do.
//
// # Errors
//
// Failures answer {"error": {"code", "message", "json": {"message", ...}}} with no "data".
// Every code is an exported constant (CodeInvalidBody for invalid_body, and so on):
//   - 400 invalid_json (the body is not one JSON object), invalid_body (json.issues lists
//     every problem), no_active_subscription, subscription_id_required;
//   - 401 unauthenticated;
//   - 402 usage_balance_exhausted (middleware);
//   - 403 forbidden (an id that is not the customer's), cross_origin_forbidden,
//     feature_required (middleware);
//   - 404 unknown_action, not_found;
//   - 405 method_not_allowed;
//   - 409 already_canceled;
//   - 413 body_too_large;
//   - 415 unsupported_media_type;
//   - 400, 409 or 422 flowglad_rejected: Flowglad refused the request (its status kept,
//     its own code in json.flowgladCode);
//   - 500 internal_error (the authenticator failed or panicked), invalid_customer (the
//     Customer is unusable: no valid external id, or no valid email when the Flowglad
//     customer must be created); error, for an *Error a host built without a code;
//   - 501 not_implemented (subscriptions/create);
//   - 502 flowglad_unavailable, flowglad_auth_failed (the API key was refused);
//   - 503 flowglad_busy (with Retry-After), billing_unavailable (middleware, with
//     Retry-After), canceled (the browser went away);
//   - 504 flowglad_timeout.
//
// A 5xx carries a generic message and json.requestId; the reason goes to the log.
// The webhook package answers Flowglad's deliveries in plain text, without a code.
//
// # Performance
//
// A Flowglad round trip costs far more than anything else a request does, so each action
// makes as few as its contract allows: billing is one call, ownership is decided from
// billing, and concurrent billing reads for one customer share one call. Flowglad's answers
// are relayed as raw bytes, never decoded and re-encoded.
//
// # Go code on the server
//
// A [Service] is the same billing for Go code: [Handler.Service] returns the handler's own
// (the route and your code then share billing reads and see each other's changes), and
// [NewService] builds one without an Authenticator, for workers. Every method takes the
// [Customer] it acts for (only ExternalID is needed; [Config.LookupCustomer] supplies a name
// and email when Flowglad must create the customer) and params named after what they make
// ([CheckoutSessionParams], [UsageEventParams], ...), and returns typed results. Inputs are
// checked by the same rules as the route's, and [WriteError] answers any error as the route
// would:
//
//	sess, err := h.Service().CreateCheckoutSession(r.Context(), customer, flowglad.CheckoutSessionParams{
//		PriceSlug: "pro-monthly", SuccessURL: okURL, CancelURL: backURL,
//	})
//	if err != nil {
//		flowglad.WriteError(w, r, err)
//		return
//	}
//	http.Redirect(w, r, sess.URL, http.StatusSeeOther)
//
// Package middleware gates your own endpoints on a feature or a usage balance and meters the
// work they do; package webhook verifies Flowglad's webhooks and keeps cached billing fresh.
//
// # Testing
//
// Package flowgladapi/flowgladapitest is a stateful fake of Flowglad's API: point
// [Config.BaseURL] at it, with its key, to test your application end to end without the
// network:
//
//	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
//	h, err := flowglad.NewHandler(flowglad.Config{APIKey: fake.APIKey(), BaseURL: fake.URL, Auth: auth})
//	if err != nil {
//		t.Fatal(err)
//	}
//	// Serve requests with h, then check what Flowglad saw: fake.Requests(), fake.UsageBalance(...).
package flowglad
