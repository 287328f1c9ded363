// Package gin mirrors the few names of github.com/gin-gonic/gin that the README's gin mount
// uses, with the same signatures, so the root module's snippet test builds it without
// gin in the library's go.mod. The mount itself is compiled against the real gin, and
// served, by examples/routers (its readme_test.go builds the README's gin snippets there).
package gin

import "net/http"

// Context is gin's per-request context.
type Context struct {
	Writer  http.ResponseWriter
	Request *http.Request
}

// HandlerFunc is gin's handler.
type HandlerFunc func(*Context)

// IRoutes is what gin's route methods return.
type IRoutes interface{}

// Engine is gin's router.
type Engine struct{ mux *http.ServeMux }

// New returns an Engine.
func New() *Engine { return &Engine{mux: http.NewServeMux()} }

// Any registers handlers for every method of relativePath.
func (e *Engine) Any(relativePath string, handlers ...HandlerFunc) IRoutes { return e }

// WrapH turns an http.Handler into a HandlerFunc.
func WrapH(h http.Handler) HandlerFunc {
	return func(c *Context) { h.ServeHTTP(c.Writer, c.Request) }
}
