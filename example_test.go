package flowglad_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

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

// exampleService is what the Service examples share: a Service over the fake Flowglad API
// seeded with demo data. In production: flowglad.NewService(flowglad.Config{}) with
// FLOWGLAD_SECRET_KEY in the environment.
func exampleService(fake *httptest.Server, lookup func(context.Context, string) (flowglad.Customer, error)) *flowglad.Service {
	svc, err := flowglad.NewService(flowglad.Config{
		APIKey:         flowgladapitest.DefaultAPIKey,
		BaseURL:        fake.URL,
		LookupCustomer: lookup,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	return svc
}

// Server code reads the same billing as the route, with the React SDK's helpers: here,
// gating a feature and reading a usage balance.
func ExampleService_Billing() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	svc := exampleService(fake, nil)

	b, err := svc.Billing(context.Background(), flowglad.Customer{ExternalID: "user_alice"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("premium:", b.CheckFeatureAccess("premium"))
	fmt.Println("sso:", b.CheckFeatureAccess("sso"))
	if bal := b.CheckUsageBalance("api-calls"); bal != nil {
		fmt.Println("api-calls left:", bal.AvailableBalance)
	}
	sub := b.CurrentSubscriptions[0]
	fmt.Println("plan:", sub.Name, "with a period end:", !sub.CurrentBillingPeriodEnd.IsZero())
	// Output:
	// premium: true
	// sso: false
	// api-calls left: 1000
	// plan: Pro with a period end: true
}

// A worker acts for a customer it knows only by id: a B2B app's organization. The first
// time Flowglad has no such customer, Config.LookupCustomer supplies the owner's name and
// email; it is never asked again once the customer exists.
func ExampleNewService() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	svc := exampleService(fake, func(ctx context.Context, orgID string) (flowglad.Customer, error) {
		fmt.Println("looking up the owner of", orgID) // your database
		return flowglad.Customer{Name: "Acme Owner", Email: "owner@acme.example"}, nil
	})

	org := flowglad.Customer{ExternalID: "org_acme"}
	for range 2 {
		b, err := svc.Billing(context.Background(), org)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("plan:", b.CurrentSubscriptions[0].Name)
	}
	// Output:
	// looking up the owner of org_acme
	// plan: Free
	// plan: Free
}

// A job records the usage it caused. Its transaction id, derived from the job, makes a
// retried job count once.
func ExampleService_CreateUsageEvent() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	svc := exampleService(fake, nil)
	alice := flowglad.Customer{ExternalID: "user_alice"}
	ctx := context.Background()

	for range 2 { // the job ran twice
		ev, err := svc.CreateUsageEvent(ctx, alice, flowglad.UsageEventParams{
			UsageMeterSlug: "api-calls",
			Amount:         10,
			TransactionID:  "job-42",
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("event", ev.ID, "amount", ev.Amount, "on", ev.SubscriptionID)
	}
	b, err := svc.Billing(ctx, alice)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("api-calls left:", b.CheckUsageBalance("api-calls").AvailableBalance)
	// Output:
	// event usage_1 amount 10 on sub_alice_pro
	// event usage_1 amount 10 on sub_alice_pro
	// api-calls left: 990
}

// A server-rendered pricing page sends the customer to Flowglad's hosted checkout.
func ExampleService_CreateCheckoutSession() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	svc := exampleService(fake, nil)

	upgrade := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := flowglad.Customer{ExternalID: "user_bob"} // from your session
		sess, err := svc.CreateCheckoutSession(r.Context(), c, flowglad.CheckoutSessionParams{
			PriceSlug:  "pro-monthly",
			SuccessURL: "https://app.example.com/billing?upgraded=1",
			CancelURL:  "https://app.example.com/pricing",
		})
		if err != nil {
			flowglad.WriteError(w, r, err) // the route's statuses and envelope
			return
		}
		http.Redirect(w, r, sess.URL, http.StatusSeeOther)
	})

	w := httptest.NewRecorder()
	upgrade.ServeHTTP(w, httptest.NewRequest("POST", "/upgrade", nil))
	fmt.Println(w.Code, strings.HasPrefix(w.Header().Get("Location"), fake.URL+"/checkout/"))
	// Output:
	// 303 true
}

// WriteError answers any error of the Service as the route would: here, a usage event for
// another customer's subscription.
func ExampleWriteError() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	svc := exampleService(fake, nil)

	_, err := svc.CreateUsageEvent(context.Background(), flowglad.Customer{ExternalID: "user_bob"}, flowglad.UsageEventParams{
		UsageMeterSlug: "api-calls",
		SubscriptionID: "sub_alice_pro",
	})
	w := httptest.NewRecorder()
	flowglad.WriteError(w, httptest.NewRequest("POST", "/api/work", nil), err)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 403 {"error":{"code":"forbidden","json":{"message":"subscription sub_alice_pro is not a current subscription of the signed-in customer"},"message":"subscription sub_alice_pro is not a current subscription of the signed-in customer"}}
}

// A program that serves the route uses the handler's own Service, so the route and the Go
// code share billing reads and see each other's changes.
func ExampleHandler_Service() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  flowgladapitest.DefaultAPIKey,
		BaseURL: fake.URL,
		Auth: flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
			return flowglad.Customer{ExternalID: "user_alice"}, nil // your session lookup
		}),
		BillingCacheTTL: time.Minute,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	balance := func() string { // what the React SDK's useUsageMeters reads
		r := httptest.NewRequest("POST", "/api/flowglad/usage-meters/balances", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var v struct {
			Data struct {
				UsageMeterBalances []struct{ AvailableBalance float64 } `json:"usageMeterBalances"`
			} `json:"data"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &v)
		return fmt.Sprint(v.Data.UsageMeterBalances[0].AvailableBalance)
	}

	fmt.Println("before:", balance())
	if _, err := h.Service().CreateUsageEvent(context.Background(), flowglad.Customer{ExternalID: "user_alice"},
		flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: 25}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after:", balance())
	// Output:
	// before: 1000
	// after: 975
}
