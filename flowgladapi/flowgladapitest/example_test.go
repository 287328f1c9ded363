package flowgladapitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

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
