// Package exampleserver is the plumbing the runnable examples share: choosing between Flowglad
// and the embedded fake Flowglad API, and serving an http.Handler with timeouts and a
// graceful shutdown. None of it is needed to use flowglad-go; the parts worth copying (how
// the handler is mounted and how it learns who is signed in) live in each example's
// main.go.
package exampleserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

// DefaultAddr is where the examples listen unless -addr or ADDR says otherwise: loopback
// only, because every example has a stand-in sign-in that lets anyone act as any user.
const DefaultAddr = "127.0.0.1:8080"

// shutdownGrace bounds a graceful shutdown: in-flight requests (a Flowglad call takes at
// most the handler's 30 s timeout) get this long before the listener is torn down.
const shutdownGrace = 10 * time.Second

// AddrFromEnv returns the ADDR environment variable, or DefaultAddr when it is empty: the
// default of the examples' -addr flag.
func AddrFromEnv() string {
	if a := os.Getenv("ADDR"); a != "" {
		return a
	}
	return DefaultAddr
}

// Backend is where an example's handler sends its Flowglad calls: Flowglad itself, or the
// embedded fake (flowgladapitest) listening on a loopback port of its own.
type Backend struct {
	// APIKey and BaseURL go into flowglad.Config. BaseURL is empty for Flowglad's default.
	APIKey  string
	BaseURL string
	// Fake is the embedded fake Flowglad API; nil when the backend is Flowglad.
	Fake *flowgladapitest.Fake

	srv *http.Server
}

// Connect chooses the backend. With an API key it is Flowglad, at baseURL when given. Without
// one it starts the fake Flowglad API, seeded with flowgladapitest.DemoSeed, on 127.0.0.1 at
// a free port: its checkout URLs point at its own checkout page, which sends the browser
// back to the session's successUrl when "Complete checkout" is pressed. fakeOpts are added
// to the fake's options (flowgladapitest.WithWebhookUpdates, say); they are ignored with a
// key. Close stops the fake.
func Connect(apiKey, baseURL string, logger *slog.Logger, fakeOpts ...flowgladapitest.Option) (*Backend, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if apiKey != "" {
		where := baseURL
		if where == "" {
			where = "Flowglad's default API origin"
		}
		logger.Info("using Flowglad (FLOWGLAD_SECRET_KEY is set)", slog.String("base_url", where))
		return &Backend{APIKey: apiKey, BaseURL: baseURL}, nil
	}
	// A port of its own (not a route of the example's server) keeps the fake's paths
	// (/api/v1/..., /checkout/...) apart from the application's, as they are in production.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the fake Flowglad API: %w", err)
	}
	url := "http://" + ln.Addr().String()
	opts := []flowgladapitest.Option{
		flowgladapitest.WithSeed(flowgladapitest.DemoSeed()),
		flowgladapitest.WithCheckoutBaseURL(url + "/checkout/"),
	}
	fake := flowgladapitest.New(append(opts, fakeOpts...)...)
	srv := NewHTTPServer(fake, logger)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("fake Flowglad API stopped", slog.String("error", err.Error()))
		}
	}()
	logger.Info("using the embedded fake Flowglad API (set FLOWGLAD_SECRET_KEY to use Flowglad)",
		slog.String("fake_url", url))
	return &Backend{APIKey: fake.APIKey(), BaseURL: url, Fake: fake, srv: srv}, nil
}

// UsesFake reports whether the backend is the embedded fake.
func (b *Backend) UsesFake() bool { return b.Fake != nil }

// Close stops the embedded fake, if any: its webhook deliveries first, then its server. It
// is safe to call more than once.
func (b *Backend) Close() {
	if b.srv == nil {
		return
	}
	b.Fake.CloseWebhooks()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
}

// NewHTTPServer returns a server for h with timeouts suited to an API whose handlers call
// Flowglad: slow clients cannot hold connections open, and a response may take as long as
// the handler's own Flowglad timeout (30 s) plus some margin.
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      45 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Run serves h on addr until ctx is done, then shuts down gracefully: Listen, then Serve.
func Run(ctx context.Context, name, addr string, h http.Handler, logger *slog.Logger, out io.Writer) error {
	ln, err := Listen(addr, logger)
	if err != nil {
		return err
	}
	return Serve(ctx, name, ln, h, logger, out)
}

// Listen listens on addr, warning when that is beyond loopback. An example that must know
// its own URL before it serves (to register webhooks with it) listens first, builds its
// handler with URL(ln), then calls Serve.
func Listen(addr string, logger *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if !isLoopback(ln.Addr()) {
		logger.Warn("listening beyond loopback: the example's stand-in sign-in lets anyone act as any user",
			slog.String("addr", ln.Addr().String()))
	}
	return ln, nil
}

// URL is the URL to open in a browser for a listener: an unspecified host (0.0.0.0, ::)
// becomes 127.0.0.1.
func URL(ln net.Listener) string { return displayURL(ln.Addr()) }

// Serve serves h on ln until ctx is done, then shuts down gracefully. It prints
// "<name>: open http://<addr>" to out once it serves.
func Serve(ctx context.Context, name string, ln net.Listener, h http.Handler, logger *slog.Logger, out io.Writer) error {
	srv := NewHTTPServer(h, logger)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(out, "%s: open %s\n", name, URL(ln))

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// displayURL is the URL to open in a browser for a listener: an unspecified host
// (0.0.0.0, ::) becomes 127.0.0.1.
func displayURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
