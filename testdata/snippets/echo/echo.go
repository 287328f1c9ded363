// Package echo mirrors the few names of github.com/labstack/echo/v4 that the README's echo
// mount uses, with the same signatures, so the root module's snippet test builds it
// without echo in the library's go.mod. The mount itself is compiled against the real
// echo, and served, by examples/routers (its readme_test.go builds the README's echo
// snippets there).
package echo

import "net/http"

// Context is echo's per-request context.
type Context interface {
	Request() *http.Request
	Response() http.ResponseWriter
}

// HandlerFunc is echo's handler.
type HandlerFunc func(c Context) error

// MiddlewareFunc is echo's middleware.
type MiddlewareFunc func(next HandlerFunc) HandlerFunc

// Route is a registered route.
type Route struct{ Method, Path string }

// Echo is echo's router.
type Echo struct{}

// New returns an Echo.
func New() *Echo { return &Echo{} }

// Any registers handler for every method of path.
func (e *Echo) Any(path string, handler HandlerFunc, middleware ...MiddlewareFunc) []*Route {
	return nil
}

// WrapHandler turns an http.Handler into a HandlerFunc.
func WrapHandler(h http.Handler) HandlerFunc {
	return func(c Context) error { h.ServeHTTP(c.Response(), c.Request()); return nil }
}
