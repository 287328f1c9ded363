package flowgladapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// exampleFlowglad stands in for app.flowglad.com in the examples.
func exampleFlowglad() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/customers/{id}/billing", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "user_42" {
			w.Header().Set("X-Request-Id", "req_123")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"Customer not found","code":"NOT_FOUND","request_id":"req_123"}`)
			return
		}
		_, _ = io.WriteString(w, `{
		  "customer": {"id": "cust_1", "externalId": "user_42"},
		  "currentSubscriptions": [{
		    "id": "sub_1", "status": "active",
		    "experimental": {
		      "featureItems": [{"type": "toggle", "slug": "advanced_reports"}],
		      "usageMeterBalances": [{"slug": "api_calls", "availableBalance": 420}]
		    }
		  }],
		  "pricingModel": {"products": [{"slug": "pro", "prices": [{"id": "price_pro", "slug": "pro_monthly", "unitPrice": 2900}]}]},
		  "purchases": [{"priceId": "price_pro"}]
		}`)
	})
	mux.HandleFunc("POST /api/v1/usage-events", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"usageEvent":{"id":"ue_1","amount":3}}`)
	})
	return httptest.NewServer(mux)
}

func ExampleClient_GetBilling() {
	srv := exampleFlowglad()
	defer srv.Close()

	api, err := flowgladapi.NewClient("sk_test_example", flowgladapi.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	billing, err := api.GetBilling(context.Background(), "user_42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reports:", billing.CheckFeatureAccess("advanced_reports"))
	fmt.Println("sso:", billing.CheckFeatureAccess("sso"))
	fmt.Println("api calls left:", billing.CheckUsageBalance("api_calls").AvailableBalance)
	fmt.Println("pro monthly:", billing.Price("pro_monthly").UnitPrice)
	fmt.Println("bought pro:", billing.HasPurchased("pro"))
	// Output:
	// reports: true
	// sso: false
	// api calls left: 420
	// pro monthly: 2900
	// bought pro: true
}

// A handler that relays a customer's billing and keeps nothing of it reads the body into a
// buffer of the client's, and gives the buffer back once it has written its answer.
func ExampleClient_GetBillingBodyPooled() {
	srv := exampleFlowglad()
	defer srv.Close()

	api, err := flowgladapi.NewClient("sk_test_example", flowgladapi.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	relay := func(w io.Writer, customer string) error {
		body, err := api.GetBillingBodyPooled(context.Background(), customer, nil)
		if err != nil {
			return err
		}
		defer body.Release() // after the last read of body, its JSON and its members
		fmt.Println("customer:", string(body.Member("customer")))
		_, err = w.Write(body.JSON())
		return err
	}
	var answer bytes.Buffer
	if err := relay(&answer, "user_42"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("relayed JSON:", json.Valid(answer.Bytes()))
	// Output:
	// customer: {"id": "cust_1", "externalId": "user_42"}
	// relayed JSON: true
}

func ExampleError() {
	srv := exampleFlowglad()
	defer srv.Close()

	api, err := flowgladapi.NewClient("sk_test_example", flowgladapi.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	_, err = api.GetBilling(context.Background(), "someone else")
	if errors.Is(err, flowgladapi.ErrNotFound) {
		fmt.Println("not a customer yet")
	}
	var apiErr *flowgladapi.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.RequestID)
	}
	fmt.Println(err)
	// Output:
	// not a customer yet
	// 404 NOT_FOUND req_123
	// flowgladapi: GET /api/v1/customers/someone%20else/billing: 404 NOT_FOUND: Customer not found
}

func ExampleClient_CreateUsageEvent() {
	srv := exampleFlowglad()
	defer srv.Close()

	api, err := flowgladapi.NewClient("sk_test_example", flowgladapi.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	// No TransactionID: the client picks one before the first attempt, so a
	// retry after a lost response is not counted twice.
	body, err := api.CreateUsageEvent(context.Background(), flowgladapi.UsageEventParams{
		SubscriptionID: "sub_1",
		UsageMeterSlug: "api_calls",
		Amount:         3,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(body))
	// Output: {"usageEvent":{"id":"ue_1","amount":3}}
}

func ExampleDecodeBilling() {
	b, err := flowgladapi.DecodeBilling([]byte(`{
	  "currentSubscriptions": [
	    {"id": "sub_a", "featureItems": [{"type": "toggle", "slug": "sso"}]},
	    {"id": "sub_b", "featureItems": []}
	  ]
	}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.CheckFeatureAccess("sso"))             // the first current subscription
	fmt.Println(b.CheckFeatureAccessFor("sub_b", "sso")) // a chosen one
	// Output:
	// true
	// false
}
