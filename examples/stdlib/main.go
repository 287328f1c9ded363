// Command stdlib is the smallest real mount of flowglad-go on net/http's ServeMux.
//
// The application has its own sessions (here a stand-in: a cookie naming one of two fixed
// sessions); a middleware puts the signed-in user into the request context, and the
// Flowglad authenticator reads the user from there. Without FLOWGLAD_SECRET_KEY it runs
// against an embedded fake Flowglad API.
//
//	go run ./examples/stdlib
//	curl -X POST -H 'Content-Type: application/json' -H 'Cookie: session=sess_alice' \
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
	"syscall"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/examples/internal/exampleserver"
)

func main() {
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
		fmt.Fprintln(os.Stderr, "stdlib example:", err)
		os.Exit(1)
	}
	err = exampleserver.Run(ctx, "flowglad stdlib example", *addr, h, logger, os.Stdout)
	closeApp()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stdlib example:", err)
		os.Exit(1)
	}
}

// appConfig is what newApp needs; main fills it from the environment, tests by hand.
type appConfig struct {
	FlowgladAPIKey  string // empty: start the embedded fake Flowglad API
	FlowgladBaseURL string // empty: Flowglad's default
	Logger          *slog.Logger
}

// newApp builds the application. The returned func stops what it started.
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
	})
	if err != nil {
		backend.Close()
		return nil, nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("/api/flowglad/", fg)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "flowglad-go stdlib example: POST /api/flowglad/<action> with Cookie: session=sess_alice (or sess_bob)")
	})
	return withSession(mux), backend.Close, nil
}

// customerFromContext is the Flowglad authenticator: it reads the user your session
// middleware already put into the request context. The user id is the Flowglad customer's
// external id.
func customerFromContext(r *http.Request) (flowglad.Customer, error) {
	u, ok := userFrom(r.Context())
	if !ok {
		return flowglad.Customer{}, flowglad.ErrUnauthenticated
	}
	return flowglad.Customer{ExternalID: u.ID, Name: u.Name, Email: u.Email}, nil
}

// --- Your app's auth. Everything below stands in for the sessions your application
// already has; replace it with yours.

// user is the signed-in user as your application knows it.
type user struct {
	ID, Name, Email string
}

type userKey struct{}

// userFrom returns the user withSession put into ctx.
func userFrom(ctx context.Context) (user, bool) {
	u, ok := ctx.Value(userKey{}).(user)
	return u, ok
}

// sessions maps session ids to users. A real application looks sessions up in its store;
// these two fixed ones (users of the fake Flowglad API's demo seed) keep the example small.
func sessions() map[string]user {
	return map[string]user{
		"sess_alice": {ID: "user_alice", Name: "Alice Example", Email: "alice@example.com"},
		"sess_bob":   {ID: "user_bob", Name: "Bob Example", Email: "bob@example.com"},
	}
}

// withSession is your app's session middleware: it resolves the "session" cookie and puts
// the user into the request context. A request without a valid session goes on with no
// user; the Flowglad handler then answers 401.
func withSession(next http.Handler) http.Handler {
	known := sessions()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err == nil {
			if u, ok := known[c.Value]; ok {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
			}
		}
		next.ServeHTTP(w, r)
	})
}
