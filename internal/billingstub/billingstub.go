// Package billingstub is a stand-in for Flowglad's billing endpoint that a test controls,
// for the tests of billing reads (the root package's and internal/billingread's): it counts
// reads and customer creations, can hold every read until the test releases it, and
// answers a body that says which version of billing it is. Test code only.
package billingstub

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// Pending is one billing read the stub received and holds until the test releases it.
type Pending struct {
	// Version is the billing version when the read arrived.
	Version int
	// Release, closed by the test, lets the read answer.
	Release chan struct{}
	// Canceled is closed when the client gave up on the read before its release.
	Canceled chan struct{}
}

// Server answers GET …/billing with `{"customer": {…, "name": "v<version>"}, …}` and
// POST /api/v1/customers with a created customer. In gated mode every read waits for the
// test's release (Arrival hands it over).
type Server struct {
	// URL is the stub's base URL.
	URL      string
	srv      *httptest.Server
	arrivals chan *Pending

	mu      sync.Mutex
	gated   bool
	version int
	gets    int
	posts   int
	missing bool // the customer does not exist until created
}

// New starts a stub at version 1 that t.Cleanup stops.
func New(t testing.TB, gated bool) *Server {
	t.Helper()
	s := &Server{arrivals: make(chan *Pending, 100), gated: gated, version: 1}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

// Close stops the stub: Flowglad is unreachable from then on.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/customers" {
		s.posts++
		s.missing = false
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data": {"customer": {"id": "cus_1", "externalId": "u1"}}}`))
		return
	}
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/billing") {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	s.gets++
	p := &Pending{Version: s.version, Release: make(chan struct{}), Canceled: make(chan struct{})}
	gated, missing := s.gated, s.missing
	s.mu.Unlock()
	if gated {
		s.arrivals <- p
		select {
		case <-p.Release:
		case <-r.Context().Done():
			close(p.Canceled)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if missing {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error": "Customer not found", "code": "NOT_FOUND"}`))
		return
	}
	_, _ = fmt.Fprintf(w, `{"customer": {"id": "cus_1", "externalId": "u1", "name": "v%d"}, "currentSubscriptions": []}`, p.Version)
}

// Counts returns the billing reads and customer creations received.
func (s *Server) Counts() (gets, posts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.posts
}

// Bump moves billing to its next version: reads that arrive from now on answer it.
func (s *Server) Bump() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
}

// SetMissing makes the customer unknown (reads answer 404) until a creation.
func (s *Server) SetMissing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.missing = true
}

// Arrival waits for the next read to reach the stub (gated mode).
func (s *Server) Arrival(t testing.TB) *Pending {
	t.Helper()
	select {
	case p := <-s.arrivals:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no billing read reached Flowglad")
		return nil
	}
}

// NoArrival checks that no further read reached the stub (reads that would arrive do so
// within the wait given, as nothing else is running).
func (s *Server) NoArrival(t testing.TB) {
	t.Helper()
	select {
	case p := <-s.arrivals:
		t.Fatalf("an unexpected billing read reached Flowglad (version %d)", p.Version)
	case <-time.After(50 * time.Millisecond):
	}
}

// Result is what one billing call returned: the customer's name, which says which version
// of billing it was ("v1", ...), or the error.
type Result struct {
	Name string
	Err  error
}

// Version returns the version of billing r got, failing t if the call failed.
func (r Result) Version(t testing.TB) string {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("the billing call failed: %v", r.Err)
	}
	return r.Name
}

// Go runs read on a goroutine and returns where its result arrives.
func Go(read func() (*flowgladapi.Billing, error)) <-chan Result {
	out := make(chan Result, 1)
	go func() {
		b, err := read()
		if err != nil {
			out <- Result{Err: err}
			return
		}
		out <- Result{Name: b.Customer.Name}
	}()
	return out
}

// Receive waits for a result of Go, failing t after 10 s.
func Receive(t testing.TB, ch <-chan Result) Result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Billing did not return")
		return Result{}
	}
}
