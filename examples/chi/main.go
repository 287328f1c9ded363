// Command chi mounts flowglad-go on a chi router for a frontend served from another origin
// (say https://app.example.com calling https://api.example.com, or Vite's dev server on
// :5173 calling this API on :8080): the split-origin setup.
//
// Two pieces make a cross-origin frontend work, and they do different jobs:
//
//   - a CORS middleware (github.com/go-chi/cors) answers the browser's preflight and tells
//     it the frontend may read the answers;
//   - flowglad.Config.TrustedOrigins lets the handler's own cross-origin check (which refuses
//     browser requests from other origins, a CSRF defence) accept that frontend.
//
// List the same origins in both. In the React app, point the SDK at this server with
// <FlowgladProvider baseURL="http://127.0.0.1:8080" requestConfig={{headers: {Authorization:
// `Bearer ${token}`}}}>.
//
//	go run ./examples/chi -frontend-origin http://localhost:5173
//	curl -X POST -H 'Content-Type: application/json' -H 'Authorization: Bearer token_alice' \
//	     -d '{}' http://127.0.0.1:8080/api/flowglad/customers/billing
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/examples/internal/exampleserver"
)

// defaultFrontendOrigin is Vite's dev server, the usual frontend during development.
const defaultFrontendOrigin = "http://localhost:5173"

func main() {
	addr := flag.String("addr", exampleserver.AddrFromEnv(), "listen address (env ADDR)")
	origin := flag.String("frontend-origin", envOr("FRONTEND_ORIGIN", defaultFrontendOrigin),
		"origin of the frontend allowed to call the API, scheme://host[:port] (env FRONTEND_ORIGIN)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	h, closeApp, err := newApp(appConfig{
		FlowgladAPIKey:  os.Getenv("FLOWGLAD_SECRET_KEY"),
		FlowgladBaseURL: os.Getenv("FLOWGLAD_BASE_URL"),
		FrontendOrigins: []string{*origin},
		Logger:          logger,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "chi example:", err)
		os.Exit(1)
	}
	logger.Info("accepting browser requests from the frontend", slog.String("origin", *origin))
	err = exampleserver.Run(ctx, "flowglad chi example", *addr, h, logger, os.Stdout)
	closeApp()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chi example:", err)
		os.Exit(1)
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// appConfig is what newApp needs; main fills it from flags and the environment, tests by
// hand.
type appConfig struct {
	FlowgladAPIKey  string // empty: start the embedded fake Flowglad API
	FlowgladBaseURL string // empty: Flowglad's default
	// FrontendOrigins are the origins (scheme://host[:port]) of the frontends allowed to
	// call the API from a browser.
	FrontendOrigins []string
	Logger          *slog.Logger
}

// newApp builds the router. The returned func stops what it started.
func newApp(cfg appConfig) (http.Handler, func(), error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	backend, err := exampleserver.Connect(cfg.FlowgladAPIKey, cfg.FlowgladBaseURL, logger)
	if err != nil {
		return nil, nil, err
	}
	fg, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  backend.APIKey,
		BaseURL: backend.BaseURL,
		Auth:    flowglad.AuthenticatorFunc(customerFromContext),
		Logger:  logger,
		// The handler refuses browser requests from other origins unless listed here.
		TrustedOrigins: cfg.FrontendOrigins,
	})
	if err != nil {
		backend.Close()
		return nil, nil, err
	}

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(withSession)
	r.Group(func(r chi.Router) {
		// CORS only where the frontend calls. The SDK sends POST with a JSON body (and here a
		// bearer token), so the browser sends a preflight first; the middleware answers it.
		r.Use(cors.Handler(cors.Options{
			AllowedOrigins: cfg.FrontendOrigins,
			AllowedMethods: []string{http.MethodPost},
			AllowedHeaders: []string{"Content-Type", "Authorization"},
			// Bearer tokens, not cookies: no credentials mode. A frontend that relies on
			// cookies across origins needs AllowCredentials: true and SameSite=None; Secure
			// cookies.
			AllowCredentials: false,
			MaxAge:           600,
		}))
		// Mount keeps the full path, so the handler's default BasePath ("/api/flowglad")
		// finds the action key.
		r.Mount("/api/flowglad", fg)
	})
	return r, backend.Close, nil
}

// customerFromContext is the Flowglad authenticator: it reads the user your auth middleware
// put into the request context. The user id is the Flowglad customer's external id.
func customerFromContext(r *http.Request) (flowglad.Customer, error) {
	u, ok := r.Context().Value(userKey{}).(user)
	if !ok {
		return flowglad.Customer{}, flowglad.ErrUnauthenticated
	}
	return flowglad.Customer{ExternalID: u.ID, Name: u.Name, Email: u.Email}, nil
}

// --- Your app's auth. Everything below stands in for the authentication your application
// already has (JWTs, an OAuth provider, a session store); replace it with yours.

// user is the signed-in user as your application knows it.
type user struct {
	ID, Name, Email string
}

type userKey struct{}

// tokens maps bearer tokens to users. A real application verifies a signed token or looks
// it up; two fixed ones (users of the fake Flowglad API's demo seed) keep the example small.
func tokens() map[string]user {
	return map[string]user{
		"token_alice": {ID: "user_alice", Name: "Alice Example", Email: "alice@example.com"},
		"token_bob":   {ID: "user_bob", Name: "Bob Example", Email: "bob@example.com"},
	}
}

// withSession is your app's auth middleware: it resolves "Authorization: Bearer <token>"
// and puts the user into the request context. A request without a valid token goes on with
// no user; the Flowglad handler then answers 401.
func withSession(next http.Handler) http.Handler {
	known := tokens()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			if u, found := known[strings.TrimSpace(token)]; found {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
			}
		}
		next.ServeHTTP(w, r)
	})
}
