// Package routers mounts flowglad-go under gin and echo: the route the React SDK calls, and
// an endpoint gated and metered by the middleware package. It is its own module, so that
// neither router enters the library's go.mod; its tests prove both mounts.
//
// Under either router the handler is one http.Handler: it finds the action key by trimming
// Config.BasePath from the request path, so a catch-all route is all it needs.
package routers

import (
	"net/http"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
)

// Gin returns a gin engine serving the route and POST /api/generate, which needs the
// "premium" feature and 10 "api-calls", and records the calls generate says it used.
func Gin(h *flowglad.Handler, generate http.Handler) *gin.Engine {
	r := gin.New()
	// The route: gin.WrapH turns the handler into a gin handler. Any method, so the
	// handler itself answers 405 to the wrong one, as the React SDK expects.
	r.Any("/api/flowglad/*action", gin.WrapH(h))
	// A gated, metered endpoint: the middleware composes as net/http handlers, wrapped
	// once for gin.
	r.POST("/api/generate", gin.WrapH(gated(h, generate)))
	return r
}

// Echo returns an echo server with the same two routes. Echo also adapts the middleware
// one by one (echo.WrapMiddleware), for chains that end in an echo handler.
func Echo(h *flowglad.Handler, generate http.Handler) *echo.Echo {
	e := echo.New()
	e.Any("/api/flowglad/*", echo.WrapHandler(h))
	e.POST("/api/generate", echo.WrapHandler(generate),
		echo.WrapMiddleware(middleware.RequireFeature(h, "premium")),
		echo.WrapMiddleware(middleware.RequireUsageBalance(h, "api-calls", 10)),
		echo.WrapMiddleware(middleware.MeterUsage(h, "api-calls")))
	return e
}

// gated wraps generate in the feature gate, the balance check and the meter.
func gated(h *flowglad.Handler, generate http.Handler) http.Handler {
	return middleware.RequireFeature(h, "premium")(
		middleware.RequireUsageBalance(h, "api-calls", 10)(
			middleware.MeterUsage(h, "api-calls")(generate)))
}
