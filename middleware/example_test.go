package middleware_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
)

// exampleHandler returns the route's handler over the fake Flowglad API (Alice is on Pro,
// Bob on Free), with an authenticator that reads a demo header where your app reads its
// session.
func exampleHandler(fake *httptest.Server) *flowglad.Handler {
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  flowgladapitest.DefaultAPIKey, // in production: FLOWGLAD_SECRET_KEY
		BaseURL: fake.URL,                      // in production: leave empty
		Auth: flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
			id := r.Header.Get("X-Demo-User")
			if id == "" {
				return flowglad.Customer{}, flowglad.ErrUnauthenticated
			}
			return flowglad.Customer{ExternalID: id}, nil
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	return h
}

// call sends a request as user (none when empty) and prints the answer.
func call(h http.Handler, user string) {
	r := httptest.NewRequest("POST", "/api/reports", nil)
	who := "signed out"
	if user != "" {
		r.Header.Set("X-Demo-User", user)
		who = user
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Printf("%s: %d %s\n", who, w.Code, strings.TrimSpace(w.Body.String()))
}

// Gate an endpoint on a feature of the customer's plan.
func ExampleRequireFeature() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	h := exampleHandler(fake)

	reports := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "your report") })
	gated := middleware.RequireFeature(h, "premium")(reports)

	call(gated, "user_alice") // Pro
	call(gated, "user_bob")   // Free
	call(gated, "")           // signed out
	// Output:
	// user_alice: 200 your report
	// user_bob: 403 {"error":{"code":"feature_required","json":{"feature":"premium","message":"your plan does not include this feature"},"message":"your plan does not include this feature"}}
	// signed out: 401 {"error":{"code":"unauthenticated","json":{"message":"sign in to continue"},"message":"sign in to continue"}}
}

// Check the balance before expensive work, and meter the work: the handler says how much it
// used.
func ExampleMeterUsage() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	h := exampleHandler(fake)

	generate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.CustomerFrom(r.Context()) // no second authentication
		middleware.SetUsage(r.Context(), 40)         // say, 40 calls' worth of work
		fmt.Fprintf(w, "generated for %s", c.ExternalID)
	})
	api := middleware.RequireUsageBalance(h, "api-calls", 40)(middleware.MeterUsage(h, "api-calls")(generate))

	call(api, "user_alice")
	call(api, "user_bob")
	call(api, "user_bob")
	call(api, "user_bob") // Bob's 100 free calls: 20 left, less than the work needs

	b, err := h.Billing(context.Background(), flowglad.Customer{ExternalID: "user_bob"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob's api-calls left:", b.CheckUsageBalance("api-calls").AvailableBalance)
	// Output:
	// user_alice: 200 generated for user_alice
	// user_bob: 200 generated for user_bob
	// user_bob: 200 generated for user_bob
	// user_bob: 402 {"error":{"code":"usage_balance_exhausted","json":{"available":20,"message":"your usage balance is exhausted","required":40,"usageMeter":"api-calls"},"message":"your usage balance is exhausted"}}
	// bob's api-calls left: 20
}

// Refuse expensive work when the customer's usage balance cannot cover it.
func ExampleRequireUsageBalance() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	h := exampleHandler(fake)

	batch := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "batch queued") })
	api := middleware.RequireUsageBalance(h, "api-calls", 500)(batch)

	call(api, "user_alice") // 1000 left
	call(api, "user_bob")   // 100 left
	// Output:
	// user_alice: 200 batch queued
	// user_bob: 402 {"error":{"code":"usage_balance_exhausted","json":{"available":100,"message":"your usage balance is exhausted","required":500,"usageMeter":"api-calls"},"message":"your usage balance is exhausted"}}
}

// A customer with several current subscriptions: by default a feature of any of them
// passes RequireFeature, and usage goes to the newest with the meter; WithSubscription
// picks one (here, the customer's Pro subscription, found by its product's price).
func ExampleWithSubscription() {
	f := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	fake := httptest.NewServer(f)
	defer fake.Close()
	h := exampleHandler(fake)
	// Alice, on Pro (1000 api-calls), also takes the Free plan (100 api-calls).
	if _, err := f.AddSubscription("user_alice", flowgladapitest.Subscription{
		Items: []flowgladapitest.SubscriptionItem{{PriceSlug: "free-monthly"}},
	}); err != nil {
		log.Fatal(err)
	}
	pro := middleware.WithSubscription(func(b *flowgladapi.Billing) string {
		price := b.Price("pro-monthly")
		for _, s := range b.CurrentSubscriptions {
			if price != nil && s.PriceID == price.ID {
				return s.ID
			}
		}
		return "" // the default rule
	})
	batch := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "batch queued") })

	call(middleware.RequireFeature(h, "premium")(batch), "user_alice")                  // Pro grants it
	call(middleware.RequireUsageBalance(h, "api-calls", 500)(batch), "user_alice")      // Free's 100
	call(middleware.RequireUsageBalance(h, "api-calls", 500, pro)(batch), "user_alice") // Pro's 1000
	// Output:
	// user_alice: 200 batch queued
	// user_alice: 402 {"error":{"code":"usage_balance_exhausted","json":{"available":100,"message":"your usage balance is exhausted","required":500,"usageMeter":"api-calls"},"message":"your usage balance is exhausted"}}
	// user_alice: 200 batch queued
}

// One meter per usage meter and request: a group of routes metered as a whole, and a route
// of it metered again, record one event; SetUsageFor names the meter when a request is
// metered on several.
func ExampleSetUsageFor() {
	f := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	fake := httptest.NewServer(f)
	defer fake.Close()
	h := exampleHandler(fake)

	group := middleware.MeterUsage(h, "api-calls") // say, r.Use in chi
	export := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.SetUsageFor(r.Context(), "api-calls", 25)
		_, _ = io.WriteString(w, "exported")
	})
	call(group(middleware.MeterUsage(h, "api-calls")(export)), "user_alice")

	for _, ev := range f.UsageEvents() {
		fmt.Println("event:", ev.UsageMeterSlug, ev.Amount)
	}
	// Output:
	// user_alice: 200 exported
	// event: api-calls 25
}

// The gates and the meter refuse a cross-site browser request, as the route does
// (Config.TrustedOrigins included): another site must not spend a signed-in user's balance
// with their cookie. An API authenticated by a token the browser does not attach by itself
// turns the check off.
func ExampleAllowCrossOrigin() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	h := exampleHandler(fake)
	reports := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "your report") })

	for _, api := range []http.Handler{
		middleware.RequireFeature(h, "premium")(reports),                                // cookie sessions
		middleware.RequireFeature(h, "premium", middleware.AllowCrossOrigin())(reports), // tokens only
	} {
		r := httptest.NewRequest("POST", "/api/reports", nil)
		r.Header.Set("X-Demo-User", "user_alice")
		r.Header.Set("Sec-Fetch-Site", "cross-site") // sent by the browser on another site's request
		r.Header.Set("Origin", "https://evil.example")
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 403 {"error":{"code":"cross_origin_forbidden","json":{"message":"cross-origin requests are not allowed from this origin"},"message":"cross-origin requests are not allowed from this origin"}}
	// 200 your report
}
