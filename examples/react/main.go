// Command react serves a React page built on Flowglad's published React SDK
// (@flowglad/react) from a Go server, with flowglad-go's handler behind the SDK's route.
//
// One origin serves everything:
//
//	/api/flowglad/<action>   flowglad-go's handler (what the SDK calls)
//	/api/generate            your own premium endpoint, gated and metered (generate.go)
//	/webhooks/flowglad/...   Flowglad's webhooks (webhooks.go; with the embedded fake)
//	/demo/...                a DEMO sign-in, standing in for your application's own auth
//	/                        the page (web/dist, embedded), with SPA fallback to index.html
//
// Without FLOWGLAD_SECRET_KEY it starts an embedded fake Flowglad API (seeded with a Pro
// customer, a Free customer and a pricing model) on a loopback port, so it runs offline,
// and registers its webhook endpoints there; with a key it talks to Flowglad
// (FLOWGLAD_BASE_URL optional).
//
//	go run ./examples/react               # http://127.0.0.1:8080
//	go run ./examples/react -addr :9000   # or ADDR=:9000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/examples/internal/exampleserver"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/usage"
)

// recorderFlushInterval is how often the usage recorder sends what is queued.
const recorderFlushInterval = time.Second

// recorderDrainTimeout bounds how long shutting down waits for queued usage to be sent.
const recorderDrainTimeout = 10 * time.Second

// billingCacheTTL is how long the handler keeps a customer's billing when webhooks tell it
// about changes.
const billingCacheTTL = time.Minute

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

	// Listen first: the webhook endpoints are registered with the server's own URL.
	ln, err := exampleserver.Listen(*addr, logger)
	if err != nil {
		return err
	}
	app, err := newApp(appConfig{
		FlowgladAPIKey:  os.Getenv("FLOWGLAD_SECRET_KEY"),
		FlowgladBaseURL: os.Getenv("FLOWGLAD_BASE_URL"),
		PublicURL:       exampleserver.URL(ln),
		Logger:          logger,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()
	return exampleserver.Serve(ctx, "flowglad demo", ln, app, logger, os.Stdout)
}

// appConfig is what newApp needs; main fills it from the environment, tests by hand.
type appConfig struct {
	// FlowgladAPIKey is the Flowglad secret key. Empty starts the embedded fake Flowglad API.
	FlowgladAPIKey string
	// FlowgladBaseURL is Flowglad's API origin (empty: Flowglad's default). Tests point it,
	// with the key, at a flowgladapitest server whose request log they inspect.
	FlowgladBaseURL string
	// PublicURL is the app's own origin (http://127.0.0.1:8080), where the embedded fake
	// delivers webhooks. Empty, or with a key, no webhooks are registered and billing is
	// not cached.
	PublicURL string
	// Logger receives the server's and the handler's logs. Nil discards them.
	Logger *slog.Logger
	// FlushInterval is how often the usage recorder sends what is queued; zero means
	// recorderFlushInterval. Tests that flush by hand set it long.
	FlushInterval time.Duration
}

// demoApp is the whole application as newApp builds it.
type demoApp struct {
	http.Handler
	backend *exampleserver.Backend
	// recorder sends /api/generate's usage to Flowglad in batches.
	recorder *usage.Recorder
	// drainTimeout bounds Close's drain of the recorder.
	drainTimeout time.Duration
	logger       *slog.Logger
}

// Close releases what newApp started: it drains the recorder (every usage event queued is
// sent, or dead-lettered and logged), then stops the embedded fake, if any. Events the
// drain could not send in time are lost with the in-memory queue: logged at Error, with
// how many were queued (usage/boltqueue would keep them for the next start).
func (a *demoApp) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), a.drainTimeout)
	defer cancel()
	st := a.recorder.Stats()
	if err := a.recorder.Close(ctx); err != nil && !errors.Is(err, usage.ErrClosed) {
		a.logger.ErrorContext(ctx, "flowglad demo: usage events were not sent before shutdown and are lost (in-memory queue)",
			"queued_at_shutdown", st.Queued+st.InFlight, "error", err)
	}
	a.backend.Close()
}

// newApp builds the whole application: the handler, the gated endpoint, the webhooks, the
// demo sign-in and the embedded page.
func newApp(cfg appConfig) (*demoApp, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	page, err := newStaticSite()
	if err != nil {
		return nil, err
	}
	// WithWebhookUpdates: Flowglad does not send subscription.updated today (a cancellation
	// scheduled for the period's end sends no event at all), so the fake sends it only when
	// asked. The demo asks, so that cancelling in the page shows a webhook arriving.
	backend, err := exampleserver.Connect(cfg.FlowgladAPIKey, cfg.FlowgladBaseURL, logger,
		flowgladapitest.WithWebhookUpdates())
	if err != nil {
		return nil, err
	}
	webhooks := backend.UsesFake() && cfg.PublicURL != ""
	// A billing cache is as fresh as what tells it about changes. With webhooks, one read
	// per customer a minute serves every page load and gated request, and a webhook forgets
	// the entry when Flowglad changes the customer. Without them, a plan bought on the
	// hosted checkout page would show up to a minute late: no cache.
	var cacheTTL time.Duration
	if webhooks {
		cacheTTL = billingCacheTTL
	}

	// DEMO: the sign-in below stands in for your application's auth. In your app, replace
	// demo.customer with a lookup of your own session (cookie, token, middleware context).
	demo := newDemoAuth(demoUsers())
	fg, err := flowglad.NewHandler(flowglad.Config{
		APIKey:          backend.APIKey,
		BaseURL:         backend.BaseURL,
		Auth:            flowglad.AuthenticatorFunc(demo.customer),
		Logger:          logger,
		BillingCacheTTL: cacheTTL,
	})
	if err != nil {
		backend.Close()
		return nil, err
	}

	// Usage of /api/generate is recorded off the request path, in batches. The default
	// queue is in memory: Close drains it on shutdown, a crash loses it (usage/boltqueue
	// keeps it in a file; usage/redisqueue shares it between instances).
	flushEvery := cfg.FlushInterval
	if flushEvery <= 0 {
		flushEvery = recorderFlushInterval
	}
	rec, err := usage.NewRecorder(fg.Service(), usage.WithFlushInterval(flushEvery),
		usage.OnDeadLetter(func(ctx context.Context, d usage.DeadLetter) {
			logger.ErrorContext(ctx, "flowglad demo: usage event refused by Flowglad",
				"customer", d.Event.CustomerID, "transaction_id", d.Event.TransactionID, "error", d.Err)
		}))
	if err != nil {
		backend.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	// The SDK's default route; the handler takes the action key from the rest of the path.
	mux.Handle("/api/flowglad/", fg)
	mux.Handle("POST /api/generate", generateEndpoint(fg, rec))
	mux.Handle("GET /api/usage-pipeline", pipelineEndpoint(fg, rec))
	if webhooks {
		if err := mountWebhooks(mux, backend.Fake, cfg.PublicURL, fg, logger); err != nil {
			_ = rec.Close(context.Background())
			backend.Close()
			return nil, err
		}
	}
	demo.register(mux)
	mux.Handle("/", page)
	return &demoApp{Handler: withSecurityHeaders(mux), backend: backend, recorder: rec,
		drainTimeout: recorderDrainTimeout, logger: logger}, nil
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
