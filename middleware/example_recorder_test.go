package middleware_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/flowglad-go/flowglad/usage"
)

// Meter through a usage recorder, and reserve the balance a request may use: of ten
// concurrent requests on a balance of 3, three pass; their usage reaches Flowglad in one
// batch.
func ExampleWithRecorder() {
	fake := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	h := exampleHandler(srv)
	ctx := context.Background()
	bob := flowglad.Customer{ExternalID: "user_bob"} // on Free: 100 api-calls
	if _, err := h.Service().CreateUsageEvent(ctx, bob, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: 97}); err != nil {
		log.Fatal(err)
	}

	rec, err := usage.NewRecorder(h.Service())
	if err != nil {
		log.Fatal(err)
	}
	defer rec.Close(ctx) // on shutdown: drains the queue

	generate := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "generated") })
	endpoint := middleware.RequireUsageBalance(h, "api-calls", 1, middleware.WithRecorder(rec))(
		middleware.MeterUsage(h, "api-calls", middleware.WithRecorder(rec))(generate))

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		passed int
	)
	for range 10 {
		wg.Go(func() {
			r := httptest.NewRequest("POST", "/api/generate", nil)
			r.Header.Set("X-Demo-User", "user_bob")
			w := httptest.NewRecorder()
			endpoint.ServeHTTP(w, r)
			mu.Lock()
			defer mu.Unlock()
			if w.Code == http.StatusOK {
				passed++
			}
		})
	}
	wg.Wait()
	if err := rec.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	left, _ := fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, "api-calls")
	fmt.Println("passed:", passed)
	fmt.Println("balance at Flowglad:", left)
	// Output:
	// passed: 3
	// balance at Flowglad: 0
}
