package flowglad

import (
	"bytes"
	"context"
	"fmt"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// poolBodies are billing bodies of four customers, each of its own length and bytes, so
// that an answer that reads another's buffer (one reused too early) cannot pass for its own.
func poolBodies() map[string][]byte {
	bodies := map[string][]byte{}
	for i, id := range []string{"u0", "u1", "u2", "u3"} {
		var b strings.Builder
		fmt.Fprintf(&b, `{"customer":{"id":"cus_%s","externalId":%q},"invoices":[`, id, id)
		for j := range 200 + 50*i {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"inv_%s_%d","status":"paid","amount":%d}`, id, j, j)
		}
		// Each customer's subscription has a status of its own, which an ownership check
		// reads (Service.subscriptionStatus).
		fmt.Fprintf(&b, `],"subscriptions":[{"id":"sub_%s","customerId":"cus_%s","status":%q}],"currentSubscriptions":[]}`,
			id, id, poolStatuses[i])

		bodies[id] = []byte(b.String())
	}
	return bodies
}

// poolStatuses are the statuses of poolBodies' subscriptions, customer by customer.
var poolStatuses = [...]string{"active", "canceled", "past_due", "cancellation_scheduled"}

// poolHandler is a Handler on rt with no billing cache and no last-known billing (so that
// its billing reads may be pooled), whose authenticator takes the customer from the
// X-Session header.
func poolHandler(t *testing.T, rt http.RoundTripper) *Handler {
	t.Helper()
	h, err := NewHandler(Config{
		APIKey:     "sk_test_pool",
		BaseURL:    "https://flowglad.invalid",
		HTTPClient: &http.Client{Transport: rt},
		Logger:     slog.New(slog.DiscardHandler),
		Auth: AuthenticatorFunc(func(r *http.Request) (Customer, error) {
			return Customer{ExternalID: r.Header.Get("X-Session")}, nil
		}),
	})
	require.NoError(t, err)
	return h
}

// bodiesTransport answers each customer's billing with its body, of declared length (what a
// pooled read reads into a pooled buffer).
type bodiesTransport map[string][]byte

func (t bodiesTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/customers/"), "/billing")
	body, ok := t[id]
	if !ok {
		return &http.Response{StatusCode: 404, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// TestBillingRouteBodiesNeverShared: with no cache (the billing route's reads may then go
// into pooled buffers, given back once every caller a read was handed to is done), many
// concurrent requests of a few customers (so that requests join each other's reads), some
// keeping billing in a request memo and some from Go callers that keep what they read, all
// get their own customer's body, byte for byte (and an ownership check its own
// subscription's status), and what the Go callers and the memos keep
// is still their customer's once every request has ended. Run with -race, it also checks
// that no reader of an entry races with the reuse of its buffer.
func TestBillingRouteBodiesNeverShared(t *testing.T) {
	bodies := poolBodies()
	h := poolHandler(t, bodiesTransport(bodies))
	type kept struct {
		id   string
		raw  []byte
		memo *reqmemo.Memo
	}
	var mu sync.Mutex
	var keeps []kept
	var wg sync.WaitGroup
	const workers, rounds = 8, 60
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				id := fmt.Sprintf("u%d", (w+i)%len(bodies))
				switch i % 6 {
				case 3: // an ownership check (the cancel's), which reads the index and lets go
					ctx := t.Context()
					if w%2 == 0 { // in a request whose memo keeps its billing (behind a gate)
						ctx = reqmemo.With(ctx)
					}
					status, err := h.Service().subscriptionStatus(ctx, Customer{ExternalID: id}, "sub_"+id)
					if !assert.NoError(t, err) {
						return
					}
					if status != poolStatuses[(w+i)%len(bodies)] {
						assert.Fail(t, "another customer's subscription, or a corrupted one", "customer %s: %q", id, status)
						return
					}
					if m := reqmemo.From(ctx); m != nil {
						mu.Lock()
						keeps = append(keeps, kept{id: id, memo: m})
						mu.Unlock()
					}
				case 5: // a Go caller, which keeps what it reads
					e, err := h.Service().billingEntry(t.Context(), Customer{ExternalID: id})
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					keeps = append(keeps, kept{id: id, raw: e.Raw()})
					mu.Unlock()
				default:
					ctx := context.Background()
					if i%6 == 4 { // a request whose memo keeps its billing (a gate, a meter)
						ctx = reqmemo.With(ctx)
					}
					r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/flowglad/customers/billing", strings.NewReader(`{}`))
					r.Header.Set("Content-Type", "application/json")
					r.Header.Set("X-Session", id)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					if !assert.Equal(t, http.StatusOK, rec.Code) {
						return
					}
					want := `{"data":` + string(bodies[id]) + `}`
					if got := rec.Body.String(); got != want {
						assert.Fail(t, "another body, or a corrupted one", "customer %s: %.80q…", id, got)
						return
					}
					if m := reqmemo.From(ctx); m != nil {
						mu.Lock()
						keeps = append(keeps, kept{id: id, memo: m})
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	require.NotEmpty(t, keeps)
	for _, k := range keeps {
		raw := k.raw
		if k.memo != nil {
			v, ok := k.memo.Get(k.id)
			require.True(t, ok, "the memo kept %s's billing", k.id)
			raw = v.(*billingEntry).Raw()
		}
		assert.Equal(t, string(bodies[k.id]), string(raw), "what was kept of %s's billing is still its own", k.id)
	}
}

// TestKeptReadsAreNotPooled: with a billing cache, or with last-known billing, what a read
// reads is kept after the request that read it has answered, so it is never in a pooled
// buffer: another customer's reads afterwards cannot change what is kept, and it is what
// the route answers when Flowglad is then down.
func TestKeptReadsAreNotPooled(t *testing.T) {
	bodies := poolBodies()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"a billing cache", Config{BillingCacheTTL: time.Hour}},
		{"last-known billing", Config{StaleIfError: time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upstream := &downable{bodies: bodiesTransport(bodies)}
			cfg := tc.cfg
			cfg.APIKey, cfg.BaseURL = "sk_test_pool", "https://flowglad.invalid"
			cfg.HTTPClient = &http.Client{Transport: upstream}
			cfg.RetryPolicy = &flowgladapi.RetryPolicy{MaxRetries: 0}
			cfg.Logger = slog.New(slog.DiscardHandler)
			cfg.Auth = AuthenticatorFunc(func(r *http.Request) (Customer, error) {
				return Customer{ExternalID: r.Header.Get("X-Session")}, nil
			})
			h, err := NewHandler(cfg)
			require.NoError(t, err)
			route := func(id string) string {
				r := httptest.NewRequest(http.MethodPost, "/api/flowglad/customers/billing", strings.NewReader(`{}`))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Session", id)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				return rec.Body.String()
			}
			want := `{"data":` + string(bodies["u3"]) + `}`
			require.Equal(t, want, route("u3"))
			for range 10 { // u0's reads, into any buffer a pooled read of u3 would have left
				route("u0")
			}
			upstream.down.Store(true)
			assert.Equal(t, want, route("u3"), "u3's kept billing is still its own")
		})
	}
}

// downable is bodies, answering 503 while down.
type downable struct {
	bodies bodiesTransport
	down   atomic.Bool
}

func (d *downable) RoundTrip(r *http.Request) (*http.Response, error) {
	if d.down.Load() {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}
	return d.bodies.RoundTrip(r)
}
