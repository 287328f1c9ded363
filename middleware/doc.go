// Package middleware gates and meters a Go backend's own endpoints with Flowglad billing:
// each function returns a func(http.Handler) http.Handler, so it composes with the standard
// library, chi, gin (gin.WrapH) and echo (echo.WrapHandler) alike.
//
//	h, _ := flowglad.NewHandler(cfg) // the route; also what the middleware reads billing through
//	mux.Handle("/api/flowglad/", h)
//	mux.Handle("POST /api/generate",
//		middleware.RequireFeature(h, "premium")(
//			middleware.RequireUsageBalance(h, "generations", 1)(
//				middleware.MeterUsage(h, "generations")(generate))))
//
// The middleware authenticates the request with the handler's Config.Auth (401 without a
// session), reads the customer's billing through the handler's Service (sharing the read
// with the route's and with the other middleware of the same request: one Flowglad call),
// and refuses with the route's error envelope: 403 feature_required, 402
// usage_balance_exhausted. When billing cannot be read, it fails closed with 503 and a
// Retry-After, unless [FailOpen] says to serve anyway. [WithErrorHandler] replaces how
// refusals are written.
//
// [MeterUsage] records one usage event after the wrapped handler answers 2xx (none for
// another status or a panic). The handler sets the amount and an idempotency key derived
// from its work with [SetUsage] and [SetTransactionID]; [CustomerFrom] and [BillingFrom]
// give it what the middleware resolved, so it need not authenticate again.
package middleware
