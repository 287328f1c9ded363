package flowglad_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/internal/jsonscan"
)

// These benchmarks measure the handler's own cost: Flowglad is replaced by an in-process
// RoundTripper answering canned bodies (a realistic 38 KB billing payload), so the figures
// are ours, not the network's. The floors stand beside them in the same file and run: the
// least any Go server serving billing does. BenchmarkBareRelay (read the session, one GET
// through the same http.Client, io.ReadAll, write {"data": body}) and its tighter variants,
// BenchmarkFloorRelayCopy for a miss (the body copied into the answer as it is read),
// BenchmarkFloorRelayChecked for a miss that keeps the contract (the body checked before it
// is relayed) and BenchmarkFloorHit for a cache hit (the answer written from memory).
// BENCHMARKS.md has the figures and ratios.

// cannedFlowglad answers Flowglad's endpoints with fixed bodies and counts the calls.
type cannedFlowglad struct {
	billing []byte
	calls   atomic.Int64
}

var (
	benchBillingOnce sync.Once
	benchBilling     []byte
)

// realisticBilling is a 38 KB billing payload (compacted) (flowgladapi/testdata/billing.json, a Pro
// customer with invoices, purchases and a full pricing model).
func realisticBilling(tb testing.TB) []byte {
	benchBillingOnce.Do(func() {
		b, err := os.ReadFile("flowgladapi/testdata/billing.json")
		if err != nil {
			panic(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			panic(err)
		}
		benchBilling, _ = json.Marshal(v) // compact, as Flowglad sends it
	})
	return benchBilling
}

// billingOfSize returns a billing payload of about n bytes (at least 9 KB): the realistic
// one trimmed to its current subscription and one product, padded with invoices.
func billingOfSize(tb testing.TB, n int) []byte {
	var m map[string]any
	if err := json.Unmarshal(realisticBilling(tb), &m); err != nil {
		tb.Fatal(err)
	}
	pm := m["pricingModel"].(map[string]any)
	pm["products"] = pm["products"].([]any)[:1]
	delete(m, "catalog")
	m["subscriptions"] = m["currentSubscriptions"]
	m["purchases"] = []any{}
	template, _ := json.Marshal(m["invoices"].([]any)[0])
	var invoices []any
	for i := 0; ; i++ {
		m["invoices"] = invoices
		body, _ := json.Marshal(m)
		if len(body) >= n {
			return body
		}
		var inv map[string]any
		_ = json.Unmarshal(template, &inv)
		inv["invoice"].(map[string]any)["id"] = fmt.Sprintf("inv_pad_%d", i)
		invoices = append(invoices, inv)
	}
}

const (
	cannedSubscription = `{"subscription":{"id":"sub_pro_2","customerId":"cust_9Zt3WbN5","status":"cancellation_scheduled","priceId":"price_pro_monthly","current":true,"livemode":false}}`
	cannedUsageEvent   = `{"usageEvent":{"id":"usage_1","subscriptionId":"sub_pro_2","usageMeterId":"um_1","priceId":"price_usage","amount":1,"transactionId":"tx","usageDate":1767225600000,"livemode":false}}`
	cannedBalances     = `{"usageMeterBalances":[{"id":"um_1","slug":"api_calls","name":"API calls","availableBalance":9000,"subscriptionId":"sub_pro_2"}]}`
	cannedUsages       = `[{"usage":{"resourceSlug":"seats","resourceId":"res_1","capacity":5,"claimed":1,"available":4},"claims":[]}]`
)

func (f *cannedFlowglad) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls.Add(1)
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	var body []byte
	switch p := r.URL.Path; {
	case strings.HasSuffix(p, "/billing"):
		body = f.billing
	case strings.HasSuffix(p, "/cancel"):
		body = []byte(cannedSubscription)
	case p == "/api/v1/usage-events":
		body = []byte(cannedUsageEvent)
	case strings.HasSuffix(p, "/usage-balances"):
		body = []byte(cannedBalances)
	case strings.HasSuffix(p, "/usages"):
		body = []byte(cannedUsages)
	default:
		return &http.Response{StatusCode: 404, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("not found")), Request: r}, nil
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: r}, nil
}

// benchAuth reads the session the way a host app might: a cookie.
var benchAuth = flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
	c, err := r.Cookie("session")
	if err != nil {
		return flowglad.Customer{}, flowglad.ErrUnauthenticated
	}
	return flowglad.Customer{ExternalID: c.Value}, nil
})

func newCannedHandler(b *testing.B, billing []byte, ttl time.Duration) (*flowglad.Handler, *cannedFlowglad) {
	b.Helper()
	canned := &cannedFlowglad{billing: billing}
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:          "sk_test_bench",
		BaseURL:         "https://flowglad.invalid",
		Auth:            benchAuth,
		HTTPClient:      &http.Client{Transport: canned},
		Logger:          slog.New(slog.DiscardHandler),
		BillingCacheTTL: ttl,
	})
	if err != nil {
		b.Fatal(err)
	}
	return h, canned
}

// benchRequest is one browser request (the session cookie and a JSON body), made once and
// rewound for each iteration, so the harness allocates nothing of its own per request.
type benchRequest struct {
	r    *http.Request
	body []byte
	rd   *bytes.Reader
}

type rewindBody struct{ *bytes.Reader }

func (rewindBody) Close() error { return nil }

func newBenchRequest(key, body string) *benchRequest {
	r := httptest.NewRequest(http.MethodPost, "/api/flowglad/"+key, nil)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Cookie", "session=user_42")
	br := &benchRequest{r: r, body: []byte(body), rd: bytes.NewReader(nil)}
	r.Body = rewindBody{br.rd}
	return br
}

func (br *benchRequest) rewind() *http.Request {
	br.rd.Reset(br.body)
	br.r.ContentLength = int64(len(br.body))
	return br.r
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks measure the
// handler rather than a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

func serveBench(b *testing.B, h http.Handler, key, body string) {
	serveRequest(b, h, newBenchRequest(key, body))
}

// serveRequest serves br once, checking the answer is a 200. The writer's header map is
// reused too.
func serveRequest(b *testing.B, h http.Handler, br *benchRequest) {
	w := &discardWriter{h: http.Header{}, status: 200}
	h.ServeHTTP(w, br.rewind())
	if w.status != http.StatusOK {
		b.Fatalf("%s: status %d", br.r.URL.Path, w.status)
	}
}

// loop serves the request key/body b.N times.
func loop(b *testing.B, h http.Handler, key, body string) {
	br := newBenchRequest(key, body)
	w := &discardWriter{h: http.Header{}}
	for b.Loop() {
		clear(w.h)
		w.status = http.StatusOK
		h.ServeHTTP(w, br.rewind())
		if w.status != http.StatusOK {
			b.Fatalf("%s: status %d", key, w.status)
		}
	}
}

// loopFresh serves the request key/body b.N times, building the request with
// httptest.NewRequest and the writer with httptest.NewRecorder each time, as a test of a
// handler would.
func loopFresh(b *testing.B, h http.Handler, key, body string) {
	target := "/api/flowglad/" + key
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Cookie", "session=user_42")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: status %d", key, w.Code)
		}
	}
}

func reportCalls(b *testing.B, canned *cannedFlowglad) {
	b.ReportMetric(float64(canned.calls.Load())/float64(b.N), "flowglad-calls/op")
}

// bareRelay is the floor: what any Go server relaying billing must do. baseURL is
// Flowglad's origin (the canned RoundTripper answers any; load_cpu_test.go points it at a
// real upstream).
func bareRelay(client *http.Client, baseURL string) http.Handler {
	return relay(client, baseURL, func(res *http.Response) ([]byte, error) { return io.ReadAll(res.Body) })
}

// bareRelaySized is the bare relay reading the body into one buffer of its declared length,
// as the handler does: a tighter floor than io.ReadAll, which grows its buffer (copying the
// body several times) and costs the naive relay about half its CPU over a real socket.
func bareRelaySized(client *http.Client, baseURL string) http.Handler {
	return relay(client, baseURL, func(res *http.Response) ([]byte, error) {
		if res.ContentLength < 0 {
			return io.ReadAll(res.Body)
		}
		body := make([]byte, res.ContentLength)
		_, err := io.ReadFull(res.Body, body)
		return body, err
	})
}

// getBilling is the bare relays' read: the session cookie, then one GET of the customer's
// billing; false when it has answered the request itself (401, 502).
func getBilling(w http.ResponseWriter, r *http.Request, client *http.Client, baseURL string) (*http.Response, bool) {
	c, err := r.Cookie("session")
	if err != nil {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return nil, false
	}
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, baseURL+"/api/v1/customers/"+c.Value+"/billing", nil)
	req.Header.Set("Authorization", "sk_test_bench")
	res, err := client.Do(req)
	if err != nil {
		http.Error(w, "unavailable", http.StatusBadGateway)
		return nil, false
	}
	return res, true
}

// bareRelayCopy is the bare relay that never holds the body: it writes {"data":, copies
// Flowglad's body into the answer with io.Copy as it is read, and writes }. It checks
// nothing (a garbled body is relayed garbled, which the handler must never do), and its
// answer has no Content-Length (over a socket it is chunked).
func bareRelayCopy(client *http.Client, baseURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := getBilling(w, r, client, baseURL)
		if !ok {
			return
		}
		defer res.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":`)
		_, _ = io.Copy(w, res.Body)
		_, _ = io.WriteString(w, `}`)
	})
}

// checkedReads are the read buffers of bareRelayChecked, reused from request to request.
var checkedReads = sync.Pool{New: func() any { return new([]byte) }}

// bareRelayChecked is the least a relay that keeps the route's contract does: read the
// body into a reused buffer, check that it is one JSON object (a garbled body is a 502,
// never relayed) and write {"data": body}. No routing, no customer, no index: what is left
// above FloorRelayCopy once the check the contract requires is paid.
func bareRelayChecked(client *http.Client, baseURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := getBilling(w, r, client, baseURL)
		if !ok {
			return
		}
		buf := checkedReads.Get().(*[]byte)
		defer checkedReads.Put(buf)
		b := bytes.NewBuffer((*buf)[:0])
		_, err := b.ReadFrom(res.Body)
		_ = res.Body.Close()
		*buf = b.Bytes()
		body := bytes.TrimSpace(b.Bytes())
		if err != nil || len(body) == 0 || body[0] != '{' || !jsonscan.Valid(body) {
			http.Error(w, "unavailable", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":`)
		_, _ = w.Write(body)
		_, _ = io.WriteString(w, `}`)
	})
}

// relay reads the session cookie, GETs the customer's billing, reads it with read and
// writes {"data": body}: no validation, no routing, no checks.
func relay(client *http.Client, baseURL string, read func(*http.Response) ([]byte, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := getBilling(w, r, client, baseURL)
		if !ok {
			return
		}
		body, err := read(res)
		_ = res.Body.Close()
		if err != nil {
			http.Error(w, "unavailable", http.StatusBadGateway)
			return
		}
		out := make([]byte, 0, len(body)+9)
		out = append(append(append(out, `{"data":`...), body...), '}')
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
}

func BenchmarkBareRelay(b *testing.B) { benchFloor(b, bareRelay) }

// BenchmarkBareRelaySized: the tighter floor, reading the body in one buffer.
func BenchmarkBareRelaySized(b *testing.B) { benchFloor(b, bareRelaySized) }

// benchFloor serves customers/billing through a floor relay of the realistic body.
func benchFloor(b *testing.B, floor func(*http.Client, string) http.Handler) {
	canned := &cannedFlowglad{billing: realisticBilling(b)}
	h := floor(&http.Client{Transport: canned}, "https://flowglad.invalid")
	b.ReportAllocs()
	b.SetBytes(int64(len(canned.billing)))
	loop(b, h, "customers/billing", `{}`)
	reportCalls(b, canned)
}

// BenchmarkBillingMiss: customers/billing with no cache, one Flowglad read per request.
// Its floor is BenchmarkFloorRelayCopy, under the same two harnesses.
func BenchmarkBillingMiss(b *testing.B) {
	h, canned := newCannedHandler(b, realisticBilling(b), 0)
	benchHarnesses(b, h, canned)
}

// BenchmarkBillingHit: customers/billing served from the in-process cache. Its floor is
// BenchmarkFloorHit, under the same two harnesses.
func BenchmarkBillingHit(b *testing.B) {
	h, canned := newCannedHandler(b, realisticBilling(b), time.Hour)
	serveBench(b, h, "customers/billing", `{}`)
	canned.calls.Store(0)
	benchHarnesses(b, h, canned)
}

// BenchmarkFloorHit is the floor of a cache hit: a handler that reads the session cookie
// (as the benchmarks' Authenticator does) and writes the customer's {"data":…} answer,
// held ready in memory, with its Content-Type, in one Write. No check, no routing, no
// headers but that one.
func BenchmarkFloorHit(b *testing.B) {
	canned := &cannedFlowglad{billing: realisticBilling(b)}
	benchHarnesses(b, floorHit(map[string][]byte{"user_42": canned.billing}), canned)
}

// BenchmarkFloorRelayCopy is the floor of a miss: bareRelayCopy (one GET through the same
// http.Client, the body copied into the answer as it is read, never held).
func BenchmarkFloorRelayCopy(b *testing.B) {
	canned := &cannedFlowglad{billing: realisticBilling(b)}
	benchHarnesses(b, bareRelayCopy(&http.Client{Transport: canned}, "https://flowglad.invalid"), canned)
}

// BenchmarkFloorRelayChecked is the floor of a miss that keeps the contract:
// bareRelayChecked (the body read into a reused buffer and checked before any of it is
// relayed).
func BenchmarkFloorRelayChecked(b *testing.B) {
	canned := &cannedFlowglad{billing: realisticBilling(b)}
	benchHarnesses(b, bareRelayChecked(&http.Client{Transport: canned}, "https://flowglad.invalid"), canned)
}

// BenchmarkBillingMissParallel and BenchmarkFloorRelayCheckedParallel serve
// customers/billing misses of 256 customers from 32 goroutines on the machine's CPUs, in
// process: what Load256CPU measures over sockets (where the handler's extra cost is two to
// three times what a lone miss shows), without the sockets' noise. ns/op is wall time with
// every CPU busy; gcs/1k-op is how often the garbage collector ran.
func BenchmarkBillingMissParallel(b *testing.B) {
	h, _ := newCannedHandler(b, realisticBilling(b), 0)
	benchParallel(b, h)
}

// BenchmarkFloorRelayCheckedParallel: see BenchmarkBillingMissParallel.
func BenchmarkFloorRelayCheckedParallel(b *testing.B) {
	canned := &cannedFlowglad{billing: realisticBilling(b)}
	benchParallel(b, bareRelayChecked(&http.Client{Transport: canned}, "https://flowglad.invalid"))
}

// benchParallel serves customers/billing with h from 16 goroutines per CPU, cycling over
// 256 customers, and reports how often the garbage collector ran.
func benchParallel(b *testing.B, h http.Handler) {
	var next atomic.Int64
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "/api/flowglad/customers/billing", strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Cookie", "session=user_"+strconv.FormatInt(next.Add(1)%256, 10))
			clear(w.h)
			w.status = http.StatusOK
			h.ServeHTTP(w, r)
			if w.status != http.StatusOK {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.NumGC-before.NumGC)*1000/float64(b.N), "gcs/1k-op")
}

// benchHarnesses serves customers/billing with h under both harnesses, as sub-benchmarks:
//
//   - reused: one request, rewound for each iteration, and a writer that keeps nothing
//     (loop): the figures are h's own;
//   - fresh: httptest.NewRequest and httptest.NewRecorder for each request (loopFresh), as
//     issue 17 measured ("the request and recorder included"): what a test of the handler
//     sees, the harness's own allocations in every figure.
//
// A floor and the handler it is the floor of are compared under the same harness.
func benchHarnesses(b *testing.B, h http.Handler, canned *cannedFlowglad) {
	for _, harness := range []struct {
		name string
		loop func(*testing.B, http.Handler, string, string)
	}{{"reused", loop}, {"fresh", loopFresh}} {
		b.Run(harness.name, func(b *testing.B) {
			canned.calls.Store(0)
			b.ReportAllocs()
			b.SetBytes(int64(len(canned.billing)))
			harness.loop(b, h, "customers/billing", `{}`)
			reportCalls(b, canned)
		})
	}
}

// floorHit answers each session's billing from memory: the answers map a session cookie to
// Flowglad's body, wrapped once, here, in {"data":…}.
func floorHit(billing map[string][]byte) http.Handler {
	answers := make(map[string][]byte, len(billing))
	for session, body := range billing {
		answers[session] = append(append([]byte(`{"data":`), body...), '}')
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		answer, ok := answers[c.Value]
		if !ok {
			http.Error(w, "no billing", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
}

// BenchmarkCancel: an ownership-checked action, billing read and the cancel POST.
func BenchmarkCancel(b *testing.B) {
	h, canned := newCannedHandler(b, realisticBilling(b), 0)
	b.ReportAllocs()
	loop(b, h, "subscriptions/cancel", `{"id":"sub_pro_2","cancellation":{"timing":"at_end_of_current_billing_period"}}`)
	reportCalls(b, canned)
}

// BenchmarkUsageEvent: usage-events/create, billing read (subscription check) and the POST.
func BenchmarkUsageEvent(b *testing.B) {
	h, canned := newCannedHandler(b, realisticBilling(b), 0)
	b.ReportAllocs()
	loop(b, h, "usage-events/create", `{"usageMeterSlug":"api_calls","amount":3}`)
	reportCalls(b, canned)
}

// BenchmarkBillingMemberRoutes: routes that answer from one or two members of billing
// (payment-methods/list, invoices/list), no cache: they decode those members only.
func BenchmarkBillingMemberRoutes(b *testing.B) {
	for _, key := range []string{"payment-methods/list", "invoices/list"} {
		b.Run(strings.ReplaceAll(key, "/", "-"), func(b *testing.B) {
			h, canned := newCannedHandler(b, realisticBilling(b), 0)
			b.ReportAllocs()
			loop(b, h, key, `{}`)
			reportCalls(b, canned)
		})
	}
}

func benchBurst(b *testing.B, ttl time.Duration) {
	h, canned := newCannedHandler(b, realisticBilling(b), ttl)
	if ttl > 0 {
		serveBench(b, h, "customers/billing", `{}`)
		canned.calls.Store(0)
	}
	page := pageLoad("user_42") // the session benchAuth reads is the cookie's
	reqs := make([]*benchRequest, len(page))
	for i, rq := range page {
		reqs[i] = newBenchRequest(rq.key, rq.body)
	}
	statuses := make([]int, len(reqs))
	b.ReportAllocs()
	for b.Loop() {
		var wg sync.WaitGroup
		for i, br := range reqs {
			wg.Go(func() {
				w := &discardWriter{h: http.Header{}, status: http.StatusOK}
				h.ServeHTTP(w, br.rewind())
				statuses[i] = w.status
			})
		}
		wg.Wait()
		for i, status := range statuses {
			if status != http.StatusOK {
				b.Fatalf("%s: status %d", page[i].key, status)
			}
		}
	}
	reportCalls(b, canned)
}

// BenchmarkPageLoadBurstCold: the page's reads with no cache (concurrent billing reads shared).
func BenchmarkPageLoadBurstCold(b *testing.B) { benchBurst(b, 0) }

// BenchmarkPageLoadBurstWarm: the same with a warm billing cache.
func BenchmarkPageLoadBurstWarm(b *testing.B) { benchBurst(b, time.Hour) }

// BenchmarkBillingMissSize: the cost of a miss as the body grows; it should be linear in
// bytes (compare ns/op per MB/s).
func BenchmarkBillingMissSize(b *testing.B) {
	for _, size := range []int{10 << 10, 100 << 10, 1 << 20} {
		body := billingOfSize(b, size)
		b.Run(fmt.Sprintf("%dKB", len(body)>>10), func(b *testing.B) {
			h, canned := newCannedHandler(b, body, 0)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			loop(b, h, "customers/billing", `{}`)
			reportCalls(b, canned)
		})
		b.Run(fmt.Sprintf("%dKB-bare", len(body)>>10), func(b *testing.B) {
			canned := &cannedFlowglad{billing: body}
			h := bareRelay(&http.Client{Transport: canned}, "https://flowglad.invalid")
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			loop(b, h, "customers/billing", `{}`)
		})
	}
}

// BenchmarkLoad256: customers/billing for 256 different customers at once (so no shared
// read flatters the handler), in parallel on every core, beside the bare relay under the
// same load. ns/op × GOMAXPROCS approximates the CPU time a request costs.
func BenchmarkLoad256(b *testing.B) {
	const customers = 256
	run := func(b *testing.B, h http.Handler) {
		reqs := make(chan *benchRequest, customers)
		for i := range customers {
			br := newBenchRequest("customers/billing", `{}`)
			br.r.Header.Set("Cookie", fmt.Sprintf("session=user_%d", i))
			reqs <- br
		}
		b.ReportAllocs()
		b.SetParallelism(16) // 32 goroutines on 2 cores: requests overlap as under load
		b.RunParallel(func(pb *testing.PB) {
			w := &discardWriter{h: http.Header{}}
			for pb.Next() {
				br := <-reqs
				clear(w.h)
				w.status = http.StatusOK
				h.ServeHTTP(w, br.rewind())
				reqs <- br
				if w.status != http.StatusOK {
					b.Errorf("status %d", w.status)
					return
				}
			}
		})
	}
	b.Run("bare", func(b *testing.B) {
		run(b, bareRelay(&http.Client{Transport: &cannedFlowglad{billing: realisticBilling(b)}}, "https://flowglad.invalid"))
	})
	b.Run("bare-sized", func(b *testing.B) {
		run(b, bareRelaySized(&http.Client{Transport: &cannedFlowglad{billing: realisticBilling(b)}}, "https://flowglad.invalid"))
	})
	b.Run("bare-copy", func(b *testing.B) {
		run(b, bareRelayCopy(&http.Client{Transport: &cannedFlowglad{billing: realisticBilling(b)}}, "https://flowglad.invalid"))
	})
	b.Run("handler", func(b *testing.B) {
		h, _ := newCannedHandler(b, realisticBilling(b), 0)
		run(b, h)
	})
}
