package boltqueue_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

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
