package boltqueue_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/boltqueue"
)

var _ usage.DurableQueue = (*boltqueue.Queue)(nil)

// TestRestartCountsQueuedEventsAsPending: events a previous process left in the file (it
// died before sending them) are subtracted from the customer's balance as soon as a
// recorder starts on the file, before they are sent; once sent they count once.
func TestRestartCountsQueuedEventsAsPending(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	svc, err := flowglad.NewService(flowglad.Config{APIKey: fake.APIKey(), BaseURL: fake.URL, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	alice := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice}
	const meter = flowgladapitest.DemoUsageMeterAPICalls
	balance := func() float64 {
		t.Helper()
		subs, err := svc.CurrentSubscriptions(t.Context(), alice)
		require.NoError(t, err)
		return subs[0].UsageBalance(meter).AvailableBalance
	}
	before := balance()

	path := filepath.Join(t.TempDir(), "usage.db")
	q, err := boltqueue.Open(path)
	require.NoError(t, err)
	now := time.Now().UnixMilli()
	require.NoError(t, q.Put(t.Context(), []usage.Event{
		{CustomerID: alice.ExternalID, UsageMeterSlug: meter, Amount: 3, TransactionID: "left-1", UsageDate: now, RecordedAt: now},
		{CustomerID: alice.ExternalID, UsageMeterSlug: meter, Amount: 4, TransactionID: "left-2", UsageDate: now, RecordedAt: now},
		{CustomerID: "someone-else", UsageMeterSlug: meter, Amount: 100, TransactionID: "left-3", UsageDate: now, RecordedAt: now},
	}))
	require.NoError(t, q.Close()) // the process that recorded them is gone

	q = open(t, path)
	rec, err := usage.NewRecorder(svc, usage.WithQueue(q), usage.WithFlushInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	assert.Equal(t, before-7, balance(), "queued from before the restart, not yet sent")
	assert.Empty(t, fake.UsageEvents())

	require.NoError(t, rec.Flush(t.Context()))
	assert.Len(t, fake.UsageEvents(), 2, "alice's two events (someone-else is unknown to Flowglad: dead-lettered)")
	assert.Equal(t, before-7, balance(), "at Flowglad now, counted once")
}
