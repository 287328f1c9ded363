package flowglad_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

// userKey is how the host application in these examples keeps its signed-in user in the
// request context (set by its own session middleware).
type userKey struct{}

type user struct{ ID, Name, Email string }

// An authenticator reads the host application's own session; here, a user that earlier
// middleware put into the request context.
func ExampleAuthenticatorFunc() {
	auth := flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
		u, ok := r.Context().Value(userKey{}).(user)
		if !ok {
			return flowglad.Customer{}, flowglad.ErrUnauthenticated // the handler answers 401
		}
		return flowglad.Customer{ExternalID: u.ID, Name: u.Name, Email: u.Email}, nil
	})

	r := httptest.NewRequest("POST", "/api/flowglad/customers/billing", nil)
	_, err := auth.Authenticate(r)
	fmt.Println(err)

	r = r.WithContext(context.WithValue(r.Context(), userKey{}, user{"user_alice", "Alice Example", "alice@example.com"}))
	c, _ := auth.Authenticate(r)
	fmt.Println(c.ExternalID)
	// Output:
	// flowglad: unauthenticated
	// user_alice
}

// Mount the handler on a standard library mux. The React SDK then finds it at
// /api/flowglad/<actionKey> on the page's origin. Here Flowglad is the embedded fake.
func ExampleNewHandler() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()

	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  flowgladapitest.DefaultAPIKey, // in production: FLOWGLAD_SECRET_KEY
		BaseURL: fake.URL,                      // in production: leave empty
		Auth: flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
			if r.Header.Get("Cookie") != "session=alice" { // your session lookup
				return flowglad.Customer{}, flowglad.ErrUnauthenticated
			}
			return flowglad.Customer{ExternalID: "user_alice", Name: "Alice Example", Email: "alice@example.com"}, nil
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/flowglad/", h)

	for _, cookie := range []string{"session=alice", ""} {
		r := httptest.NewRequest("POST", "/api/flowglad/features/access", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 {"data":{"features":[{"id":"sif_1","livemode":false,"slug":"premium","name":"Premium"}]}}
	// 401 {"error":{"code":"unauthenticated","json":{"message":"sign in to continue"},"message":"sign in to continue"}}
}

// Server code reads the same billing as the route, with the React SDK's helpers: here,
// gating a feature and reading a usage balance.
func ExampleHandler_Billing() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  flowgladapitest.DefaultAPIKey,
		BaseURL: fake.URL,
		Auth: flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
			return flowglad.Customer{}, flowglad.ErrUnauthenticated
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}

	alice := flowglad.Customer{ExternalID: "user_alice", Name: "Alice Example", Email: "alice@example.com"}
	b, err := h.Billing(context.Background(), alice)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("premium:", b.CheckFeatureAccess("premium"))
	fmt.Println("sso:", b.CheckFeatureAccess("sso"))
	if bal := b.CheckUsageBalance("api-calls"); bal != nil {
		fmt.Println("api-calls left:", bal.AvailableBalance)
	}
	// Output:
	// premium: true
	// sso: false
	// api-calls left: 1000
}

// The other operations of the route are on Handler.Service, with the same validation and
// ownership checks: a usage event from server code, idempotent on its transaction id.
func ExampleHandler_Service() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  flowgladapitest.DefaultAPIKey,
		BaseURL: fake.URL,
		Auth: flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
			return flowglad.Customer{}, flowglad.ErrUnauthenticated
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	alice := flowglad.Customer{ExternalID: "user_alice", Name: "Alice Example", Email: "alice@example.com"}
	ctx := context.Background()
	for range 2 { // a retried job sends the same event twice: it counts once
		if _, err := h.Service().CreateUsageEvent(ctx, alice, flowglad.UsageEventParams{
			UsageMeterSlug: "api-calls",
			Amount:         10,
			TransactionID:  "job-42",
		}); err != nil {
			log.Fatal(err)
		}
	}
	b, err := h.Billing(ctx, alice)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("api-calls left:", b.CheckUsageBalance("api-calls").AvailableBalance)
	// Output:
	// api-calls left: 990
}
