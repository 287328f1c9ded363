package usage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/flowglad-go/flowglad/usage"
)

// BenchmarkRecord: what Record costs the request that meters, on the memory queue (the
// event checked, its pending usage noted, queued), while the flusher sends batches to a
// Flowglad that answers at once. When Record outruns the flusher and fills the queue, the
// loop waits for a Flush (counted as full-waits): the throughput is the sustained one.
func BenchmarkRecord(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"usageEvents":[]}`)
	}))
	defer sink.Close()
	svc, err := flowglad.NewService(flowglad.Config{APIKey: "sk_test_bench", BaseURL: sink.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	rec, err := usage.NewRecorder(svc)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rec.Close(context.Background()) }()
	p := flowglad.UsageEventParams{UsageMeterSlug: meter, SubscriptionID: "sub_1"}
	var fullWaits atomic.Int64
	record := func() error {
		for {
			_, err := rec.Record(context.Background(), alice, p)
			if !errors.Is(err, usage.ErrQueueFull) {
				return err
			}
			fullWaits.Add(1)
			if err := rec.Flush(context.Background()); err != nil {
				return err
			}
		}
	}
	b.Run("serial", func(b *testing.B) {
		fullWaits.Store(0)
		b.ReportAllocs()
		for b.Loop() {
			if err := record(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(fullWaits.Load()), "full-waits")
	})
	b.Run("parallel", func(b *testing.B) {
		fullWaits.Store(0)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := record(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(fullWaits.Load()), "full-waits")
	})
}

// BenchmarkFlowgladCalls: the Flowglad calls (every request the fake gets, billing reads
// included) per 10,000 events of two customers in batches of 500. "gated": recorded in
// requests that read the customer's billing already (the gates'), so the subscription is
// known; "worker": recorded without, so the first batch reads each customer's billing
// (kept WithSubscriptionTTL for the next batches).
func BenchmarkFlowgladCalls(b *testing.B) {
	const events = 10_000
	for _, gated := range []bool{true, false} {
		name := "worker"
		if gated {
			name = "gated"
		}
		b.Run(name, func(b *testing.B) {
			var calls int
			for b.Loop() {
				fake := flowgladapitest.NewServer(b, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
				svc, err := flowglad.NewService(flowglad.Config{APIKey: fake.APIKey(), BaseURL: fake.URL, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				rec, err := usage.NewRecorder(svc, usage.WithFlushInterval(noFlushes), usage.WithBatchSize(500))
				if err != nil {
					b.Fatal(err)
				}
				ctxs := map[string]context.Context{}
				for _, c := range []flowglad.Customer{alice, bob} {
					ctxs[c.ExternalID] = context.Background()
					if gated {
						ctxs[c.ExternalID] = reqmemo.With(context.Background())
						if _, err := svc.CurrentSubscriptions(ctxs[c.ExternalID], c); err != nil {
							b.Fatal(err)
						}
					}
				}
				for i := range events {
					c := []flowglad.Customer{alice, bob}[i%2]
					p := flowglad.UsageEventParams{UsageMeterSlug: meter, TransactionID: fmt.Sprint(i)}
					if _, err := rec.Record(ctxs[c.ExternalID], c, p); err != nil {
						b.Fatal(err)
					}
				}
				if err := rec.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				if n := len(fake.UsageEvents()); n != events {
					b.Fatalf("%d events at the fake, want %d", n, events)
				}
				calls += len(fake.Requests())
			}
			b.ReportMetric(float64(calls)/float64(b.N), "calls/10k-events")
		})
	}
}

// BenchmarkLedgerView: a balance read's View costs the same however many events are pending
// (they are summed per meter as they are noted).
func BenchmarkLedgerView(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(strconv.Itoa(n)+"_pending", func(b *testing.B) {
			l := usage.NewMemoryLedger()
			evs := make([]usage.PendingEvent, n)
			for i := range evs {
				evs[i] = usage.PendingEvent{TransactionID: strconv.Itoa(i), UsageMeterSlug: "api-calls", Amount: 1}
			}
			if err := l.AddPending(context.Background(), "alice", evs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.View(context.Background(), "alice"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
