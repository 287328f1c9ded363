package rediscache_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/cache/rediscache"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
)

var _ flowglad.VersionedBillingCache = (*rediscache.Cache)(nil)

// heldLink is the way from one instance to the fake Flowglad that holds back the answer to
// the first billing read of Alice: Flowglad computes it when the read arrives, and it
// reaches the instance when the test releases it.
type heldLink struct {
	fake *flowgladapitest.Server // the fake as this instance reaches it
	read chan struct{}           // closed when the held read has reached Flowglad
	free chan struct{}           // closed to release it
	once sync.Once
}

func newHeldLink(t *testing.T, fake *flowgladapitest.Server) *heldLink {
	t.Helper()
	l := &heldLink{read: make(chan struct{}), free: make(chan struct{})}
	var held atomic.Bool // not a sync.Once: later reads must not wait for the held one
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, r) // Flowglad computes the answer now...
		if r.Method+" "+r.URL.EscapedPath() == aliceBilling {
			if held.CompareAndSwap(false, true) {
				close(l.read)
				<-l.free // ...and it arrives later
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(l.release) // before slow.Close, which waits for the held request
	copied := *fake
	copied.URL = slow.URL
	l.fake = &copied
	return l
}

func (l *heldLink) release() { l.once.Do(func() { close(l.free) }) }

// gatedAPI is an endpoint of the application behind RequireUsageBalance(api-calls, 1), on
// an instance's handler.
func gatedAPI(in *instance) http.Handler {
	return middleware.RequireUsageBalance(in.h, "api-calls", 1)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
}

func callAPI(h http.Handler) int {
	r := httptest.NewRequest(http.MethodPost, "/api/generate", nil)
	r.Header.Set("X-User", alice)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// TestRedisReadInFlightCrossesWrite: instance B starts reading Alice's billing; instance A
// then changes her billing, answers, and its invalidation reaches Redis; a new request for
// Alice on B must not be answered by B's read, which began before the change, though it is
// still running: B's lookup in Redis has seen the newer generation. (Within one process an
// invalidation stops later callers from joining a running read; this is the same across
// instances.)
func TestRedisReadInFlightCrossesWrite(t *testing.T) {
	tests := []struct {
		name string
		// change changes Alice's billing through A (or elsewhere, then invalidates on A).
		change func(t *testing.T, fake *flowgladapitest.Server, a *instance)
		// check makes the new request on B and checks it saw the change. It runs off the
		// test goroutine: it reports what it saw for the test to check.
		check func(b *instance) string
		want  string
	}{
		{
			name:   "a usage event, read through the route",
			change: func(t *testing.T, _ *flowgladapitest.Server, a *instance) { a.useAPI(5) },
			check: func(b *instance) string {
				bal, _, problem := b.billingOffThread()
				if problem != "" {
					return problem
				}
				return "balance " + itoa(int(bal))
			},
			want: "balance 995",
		},
		{
			name: "a webhook's status change, read through the route",
			change: func(t *testing.T, fake *flowgladapitest.Server, a *instance) {
				require.NoError(t, fake.SetSubscriptionStatus(aliceSub, "past_due"))
				require.NoError(t, a.h.Service().InvalidateBilling(context.Background(), alice))
			},
			check: func(b *instance) string {
				_, st, problem := b.billingOffThread()
				if problem != "" {
					return problem
				}
				return "status " + st
			},
			want: "status past_due",
		},
		{
			name:   "the last unit spent, then a gate",
			change: func(t *testing.T, _ *flowgladapitest.Server, a *instance) { a.useAPI(1000) },
			check:  func(b *instance) string { return "gate " + itoa(callAPI(gatedAPI(b))) },
			want:   "gate 402",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startRedis(t)
			fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
			link := newHeldLink(t, fake)
			// Default options: what a deployment gets.
			a := newInstance(t, "A", fake, newCache(t, srv.client(true)))
			b := newInstance(t, "B", link.fake, newCache(t, srv.client(true)))

			first := make(chan int, 1)
			go func() {
				status, _ := b.serve("customers/billing", `{}`)
				first <- status
			}()
			within(t, link.read, "B's first read never reached Flowglad")

			tc.change(t, fake, a) // answered, and invalidated in Redis

			second := make(chan string, 1)
			go func() { second <- tc.check(b) }()
			select {
			case got := <-second:
				assert.Equal(t, tc.want, got, "the new request on B saw the change")
			case <-time.After(5 * time.Second):
				link.release()
				t.Errorf("the new request on B waited for B's read from before the change (answered %q once it was released)", <-second)
			}
			link.release()
			assert.Equal(t, http.StatusOK, <-first, "B's first request is answered, with what it asked for before the change")
			// B's old read was not stored over the change either.
			assert.Equal(t, tc.want, tc.check(b))
		})
	}
}

// parseBillingValues is parseBilling for use off the test goroutine: Alice's api-calls
// balance (-1 when absent) and her Pro subscription's status ("" when absent).
func parseBillingValues(d map[string]any) (balance float64, status string) {
	b, _ := json.Marshal(d)
	var v struct {
		Subscriptions []struct {
			ID           string `json:"id"`
			Status       string `json:"status"`
			Experimental struct {
				UsageMeterBalances []struct {
					Slug             string  `json:"slug"`
					AvailableBalance float64 `json:"availableBalance"`
				} `json:"usageMeterBalances"`
			} `json:"experimental"`
		} `json:"subscriptions"`
	}
	_ = json.Unmarshal(b, &v)
	balance = -1
	for _, s := range v.Subscriptions {
		if s.ID != aliceSub {
			continue
		}
		status = s.Status
		for _, m := range s.Experimental.UsageMeterBalances {
			if m.Slug == "api-calls" {
				balance = m.AvailableBalance
			}
		}
	}
	return balance, status
}

// within waits for ch to close, failing the test after 10 seconds.
func within(t *testing.T, ch <-chan struct{}, msg string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
	}
}

// billingOffThread reads Alice's billing through the route without failing the test (it runs
// off the test goroutine): her api-calls balance and her Pro subscription's status, or what
// went wrong.
func (in *instance) billingOffThread() (balance float64, status, problem string) {
	code, body := in.serve("customers/billing", `{}`)
	if code != http.StatusOK {
		return 0, "", "status " + itoa(code)
	}
	var env struct {
		Data map[string]any `json:"data"`
	}
	if json.Unmarshal(body, &env) != nil {
		return 0, "", "not JSON"
	}
	balance, status = parseBillingValues(env.Data)
	return balance, status, ""
}
