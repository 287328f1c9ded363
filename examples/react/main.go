// Command react serves a React page built on Flowglad's published React SDK
// (@flowglad/react) from a Go server, with flowglad-go's handler behind the SDK's route.
//
// One origin serves everything:
//
//	/api/flowglad/<action>   flowglad-go's handler (what the SDK calls)
//	/demo/...                a DEMO sign-in, standing in for your application's own auth
//	/                        the page (web/dist, embedded), with SPA fallback to index.html
//
// Without FLOWGLAD_SECRET_KEY it starts an embedded fake Flowglad API (seeded with a Pro
// customer, a Free customer and a pricing model) on a loopback port, so it runs offline;
// with a key it talks to Flowglad (FLOWGLAD_BASE_URL optional).
//
//	go run ./examples/react               # http://127.0.0.1:8080
//	go run ./examples/react -addr :9000   # or ADDR=:9000
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/examples/internal/exampleserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "flowglad demo:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", exampleserver.AddrFromEnv(), "listen address (env ADDR)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	h, closeApp, err := newApp(appConfig{
		FlowgladAPIKey:  os.Getenv("FLOWGLAD_SECRET_KEY"),
		FlowgladBaseURL: os.Getenv("FLOWGLAD_BASE_URL"),
		Logger:          logger,
	})
	if err != nil {
		return err
	}
	defer closeApp()
	return exampleserver.Run(ctx, "flowglad demo", *addr, h, logger, os.Stdout)
}

// appConfig is what newApp needs; main fills it from the environment, tests by hand.
type appConfig struct {
	// FlowgladAPIKey is the Flowglad secret key. Empty starts the embedded fake Flowglad API.
	FlowgladAPIKey string
	// FlowgladBaseURL is Flowglad's API origin (empty: Flowglad's default). Tests point it,
	// with the key, at a flowgladapitest server whose request log they inspect.
	FlowgladBaseURL string
	// Logger receives the server's and the handler's logs. Nil discards them.
	Logger *slog.Logger
}

// newApp builds the whole application: the handler, the demo sign-in and the embedded page.
// The returned func releases what newApp started (the embedded fake, if any).
func newApp(cfg appConfig) (http.Handler, func(), error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	page, err := newStaticSite()
	if err != nil {
		return nil, nil, err
	}
	backend, err := exampleserver.Connect(cfg.FlowgladAPIKey, cfg.FlowgladBaseURL, logger)
	if err != nil {
		return nil, nil, err
	}

	// DEMO: the sign-in below stands in for your application's auth. In your app, replace
	// demo.customer with a lookup of your own session (cookie, token, middleware context).
	demo := newDemoAuth(demoUsers())
	fg, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  backend.APIKey,
		BaseURL: backend.BaseURL,
		Auth:    flowglad.AuthenticatorFunc(demo.customer),
		Logger:  logger,
	})
	if err != nil {
		backend.Close()
		return nil, nil, err
	}

	mux := http.NewServeMux()
	// The SDK's default route; the handler takes the action key from the rest of the path.
	mux.Handle("/api/flowglad/", fg)
	demo.register(mux)
	mux.Handle("/", page)
	return withSecurityHeaders(mux), backend.Close, nil
}

// customer is the handler's Authenticator: it maps the request's demo session to the
// Flowglad customer. The user id is the customer's external id, so Flowglad's records stay
// keyed by your ids; the name and email are used when the customer is first created.
func (d *demoAuth) customer(r *http.Request) (flowglad.Customer, error) {
	u, ok := d.userFrom(r)
	if !ok {
		return flowglad.Customer{}, flowglad.ErrUnauthenticated
	}
	return flowglad.Customer{ExternalID: u.ID, Name: u.Name, Email: u.Email}, nil
}

// withSecurityHeaders adds headers every answer should carry. The page loads only its own
// script and style files and calls only its own origin (the checkout redirect is a
// navigation, which connect-src does not govern). The browser console shows one refused
// "new Function" per load: zod, bundled inside @flowglad/react, probes whether eval is
// allowed and falls back when it is not. That is harmless; do not add 'unsafe-eval' for it.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "+
			"style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; "+
			"form-action 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// errorJSON writes {"error": msg}: the demo routes' failure shape.
func errorJSON(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
