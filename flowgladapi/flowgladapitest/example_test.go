package flowgladapitest_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

// A fake mounted on a test server: record usage for the demo customer Alice
// and read her balance back from the fake's state.
func Example() {
	fake := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	srv := httptest.NewServer(fake)
	defer srv.Close()

	body := `{"usageEvent":{"subscriptionId":"sub_alice_pro","amount":25,"transactionId":"tx-1","usageMeterSlug":"api-calls"}}`
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/usage-events", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Header.Set("Authorization", fake.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()

	balance, _ := fake.UsageBalance(flowgladapitest.DemoAliceSubscriptionID, flowgladapitest.DemoUsageMeterAPICalls)
	fmt.Println(resp.StatusCode, balance)
	fmt.Println(len(fake.Requests()), "request recorded")
	// Output:
	// 200 975
	// 1 request recorded
}

// Injecting a rate limit in front of the next call.
func ExampleFake_FailNext() {
	fake := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	srv := httptest.NewServer(fake)
	defer srv.Close()

	fake.FailNext(1, flowgladapitest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	for range 2 {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/customers/user_alice", nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		req.Header.Set("Authorization", fake.APIKey())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), strings.Contains(string(b), `"code":"TOO_MANY_REQUESTS"`))
			continue
		}
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 429 2 true
	// 200
}

// Test your app against the fake as it runs in production: a
// flowglad.Config whose APIKey and BaseURL are the fake's. Here the app is
// the library's handler, mounted at /api/flowglad/, and a request records
// usage for Alice; the fake's state says what reached Flowglad.
func Example_config() {
	fake := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	api := httptest.NewServer(fake) // in a test: flowgladapitest.NewServer(t, ...), and its URL
	defer api.Close()

	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:  fake.APIKey(),
		BaseURL: api.URL,
		Auth: flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
			// Your session lookup; the demo seed's Alice here.
			return flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice, Email: "alice@example.com"}, nil
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	app := http.NewServeMux()
	app.Handle("/api/flowglad/", h)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/flowglad/usage-events/create",
		strings.NewReader(`{"usageMeterSlug":"api-calls","amount":3,"transactionId":"job-1"}`))
	req.Header.Set("Content-Type", "application/json")
	app.ServeHTTP(rec, req)

	balance, _ := fake.UsageBalance(flowgladapitest.DemoAliceSubscriptionID, flowgladapitest.DemoUsageMeterAPICalls)
	fmt.Println(rec.Code, balance)
	for _, r := range fake.Requests() {
		fmt.Println(r.Method, r.Path)
	}
	// Output:
	// 200 997
	// GET /api/v1/customers/user_alice/billing
	// POST /api/v1/usage-events
}
