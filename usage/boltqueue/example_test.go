package boltqueue_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/boltqueue"
)

// Events put in the queue are still there after the process stops: the next Open of the
// file hands them out again until they are acknowledged. A usage.Recorder does the Claim
// and Ack itself; this shows what it relies on.
func Example() {
	dir, err := os.MkdirTemp("", "boltqueue-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "usage.db")
	ctx := context.Background()

	q, err := boltqueue.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = q.Put(ctx, []usage.Event{
		{CustomerID: "user_alice", UsageMeterSlug: "api-calls", Amount: 3, TransactionID: "req-1"},
		{CustomerID: "user_bob", UsageMeterSlug: "api-calls", Amount: 1, TransactionID: "req-2"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	claimed, _ := q.Claim(ctx, 10) // claimed, then the process stops before sending them
	fmt.Println("claimed", len(claimed))
	q.Close()

	q, err = boltqueue.Open(path) // the next process
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()
	claimed, _ = q.Claim(ctx, 10)
	for _, c := range claimed {
		fmt.Println(c.Event.TransactionID, c.Event.CustomerID, c.Event.Amount)
	}
	_ = q.Ack(ctx, []string{claimed[0].ID}) // Flowglad has req-1
	st, _ := q.Stats(ctx)
	fmt.Println("queued", st.Queued)
	// Output:
	// claimed 2
	// req-1 user_alice 3
	// req-2 user_bob 1
	// queued 1
}

// A recorder on a bolt queue: Record returns once the event is in the file, and Close sends
// what is queued. Here Flowglad is the fake of flowgladapitest.
func Example_recorder() {
	fake := flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	svc, err := flowglad.NewService(flowglad.Config{APIKey: fake.APIKey(), BaseURL: srv.URL})
	if err != nil {
		fmt.Println(err)
		return
	}

	dir, err := os.MkdirTemp("", "boltqueue-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	q, err := boltqueue.Open(filepath.Join(dir, "usage.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close() // after rec.Close: the recorder does not close a queue it was given

	rec, err := usage.NewRecorder(svc, usage.WithQueue(q))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	alice := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice}
	for range 3 {
		if _, err := rec.Record(ctx, alice, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: 5}); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := rec.Close(ctx); err != nil { // on shutdown: send what is queued
		fmt.Println(err)
		return
	}
	st, _ := q.Stats(ctx)
	fmt.Println("at Flowglad:", len(fake.UsageEvents()), "events; left in the file:", st.Queued)
	// Output:
	// at Flowglad: 3 events; left in the file: 0
}
