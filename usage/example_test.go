package usage_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/usage"
)

// Record events without waiting for Flowglad, read the balance with the pending usage
// subtracted, and drain on shutdown.
func Example() {
	fake := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	svc, err := flowglad.NewService(flowglad.Config{
		APIKey: fake.APIKey(), BaseURL: srv.URL, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	rec, err := usage.NewRecorder(svc,
		usage.WithBatchSize(500), usage.WithFlushInterval(time.Second),
		usage.OnDeadLetter(func(ctx context.Context, d usage.DeadLetter) {
			fmt.Println("refused:", d.Event.TransactionID, d.Err)
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	bob := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerBob} // on Free: 100 api-calls
	for i := range 3 {
		_, err := rec.Record(ctx, bob, flowglad.UsageEventParams{
			UsageMeterSlug: "api-calls", Amount: 10, TransactionID: fmt.Sprintf("job-%d", i),
		})
		if err != nil {
			fmt.Println(err) // a malformed event, a full queue, a closed recorder
			return
		}
	}
	b, err := svc.Billing(ctx, bob)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("balance while pending:", b.CheckUsageBalance("api-calls").AvailableBalance)

	shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rec.Close(shutdown); err != nil {
		fmt.Println(err)
		return
	}
	st := rec.Stats()
	fmt.Println("recorded:", st.Recorded, "queued:", st.Queued)
	at, _ := fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, "api-calls")
	fmt.Println("balance at Flowglad:", at)
	// Output:
	// balance while pending: 70
	// recorded: 3 queued: 0
	// balance at Flowglad: 70
}

// Reserve what a request may use before doing the work, so that concurrent requests
// cannot spend one balance twice; Commit records what it used.
func ExampleRecorder_Reserve() {
	fake := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	svc, err := flowglad.NewService(flowglad.Config{
		APIKey: fake.APIKey(), BaseURL: srv.URL, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	rec, err := usage.NewRecorder(svc)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rec.Close(ctx)
	bob := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerBob} // 100 api-calls

	res, err := rec.Reserve(ctx, bob, "api-calls", 80)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = rec.Reserve(ctx, bob, "api-calls", 30) // 100 - 80 held < 30
	fmt.Println("second reservation:", err)

	// The work used 25 of the 80 held.
	if _, err := res.Commit(ctx, flowglad.UsageEventParams{Amount: 25}); err != nil {
		fmt.Println(err)
		return
	}
	_, err = rec.Reserve(ctx, bob, "api-calls", 30) // 100 - 25 pending >= 30
	fmt.Println("after commit:", err)
	// Output:
	// second reservation: usage: balance does not cover the reservation
	// after commit: <nil>
}
