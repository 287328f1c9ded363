package snippets

// The application around the documentation's snippets: every name a README or doc.go
// snippet takes from its surroundings (h, mux, r, w, user, job, doTheWork, ...) is declared
// here, set afresh by setup before each snippet runs, against a fake Flowglad API seeded
// with flowgladapitest.DemoSeed and with Alice (user_alice, on Pro) signed in.
//
// A new snippet that uses a new name: declare it here (a variable set in setup, or a
// function), never by editing the snippet into something a reader would not write. A
// snippet that uses a new package: add it to the import map of readme_test.go. A snippet
// whose effect should be checked: name it in the README (<!-- snippet: NAME --> on the
// line before its fence) and add checks[NAME].

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"snippets/myapp"
)

// alice is the signed-in user: DemoSeed's customer on Pro, with 1000 api-calls.
var alice = myapp.User{ID: flowgladapitest.DemoCustomerAlice, Name: "Alice Example", Email: "alice@example.com"}

// webhookSecret is the signing secret of every webhook endpoint a snippet mounts.
const webhookSecret = "whsec_c25pcHBldHMtb2YtdGhlLXJlYWRtZS1zaWduaW5nLWtleQ=="

// Names the snippets use.
var (
	t    *testing.T // the running snippet's test, for snippets that are tests
	ctx  context.Context
	auth flowglad.Authenticator // the application's authenticator (myapp's session)
	h    *flowglad.Handler      // the handler, mounted by the application
	mux  *http.ServeMux
	app  *httptest.Server // the application's server, serving mux

	// r and w are the request and answer of the application's handler a snippet runs in:
	// a POST signed in as Alice.
	r *http.Request
	w *httptest.ResponseRecorder

	user           myapp.User
	customer       flowglad.Customer
	subscriptionID string // one of the customer's current subscriptions
	okURL, backURL string // a checkout's success and cancel URLs

	reports http.Handler // an endpoint of the application
	result  any          // what the application's endpoint answers
	jobID   string       // the id of the work an endpoint does

	db  appDB
	job struct {
		ID, OrgID string
		Units     int64
	}
)

// workUnits is what doTheWork reports it used.
const workUnits = 3

// doTheWork is the application's work: it reports the units it used.
func doTheWork(c flowglad.Customer) int64 { return workUnits }

// stopped records the customers stopWorkers was called for.
var stopped []string

// stopWorkers is what the application does when a subscription ends.
func stopWorkers(ctx context.Context, externalID string) error {
	stopped = append(stopped, externalID)
	return nil
}

// appDB is the application's database.
type appDB struct{}

// OrgOwner returns the owner of an organization.
func (appDB) OrgOwner(ctx context.Context, orgID string) (struct{ Name, Email string }, error) {
	return struct{ Name, Email string }{"Alice Example", "alice@example.com"}, nil
}

// fake is the Flowglad API every snippet talks to (through FLOWGLAD_BASE_URL).
var fake *flowgladapitest.Server

// setup declares the surroundings afresh for one snippet.
func setup(tt *testing.T) {
	t = tt
	fake = flowgladapitest.NewServer(tt, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	// The snippets take their key and Flowglad's URL from the environment, as in
	// production.
	tt.Setenv("FLOWGLAD_SECRET_KEY", fake.APIKey())
	tt.Setenv("FLOWGLAD_BASE_URL", fake.URL)
	tt.Setenv("FLOWGLAD_WEBHOOK_SECRET_SUBSCRIPTION_CANCELED", webhookSecret)
	ctx = tt.Context()
	auth = flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
		u, ok := myapp.UserFromContext(r.Context())
		if !ok {
			return flowglad.Customer{}, flowglad.ErrUnauthenticated
		}
		return flowglad.Customer{ExternalID: u.ID, Name: u.Name, Email: u.Email}, nil
	})
	var err error
	// The handler caches billing, as a deployment that cares about round trips does, and
	// has Alice's in its cache already: what a write does to that cache shows.
	h, err = flowglad.NewHandler(flowglad.Config{
		Auth:            auth,
		BillingCacheTTL: time.Minute,
		Logger:          slog.New(slog.NewTextHandler(tt.Output(), nil)),
	})
	require.NoError(tt, err)
	require.Equal(tt, 1000.0, handlerCalls(tt), "Alice's balance, cached by the handler")
	mux = http.NewServeMux()
	app = httptest.NewServer(withAlice(mux))
	tt.Cleanup(app.Close)
	user = alice
	customer = flowglad.Customer{ExternalID: alice.ID}
	subscriptionID = flowgladapitest.DemoAliceSubscriptionID
	okURL, backURL = "https://app.example.com/billing?upgraded=1", "https://app.example.com/pricing"
	r = httptest.NewRequestWithContext(myapp.WithUser(ctx, alice), http.MethodPost, "/api/something", nil)
	w = httptest.NewRecorder()
	reports = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	result = map[string]string{"text": "done"}
	jobID = "job-42"
	job.ID, job.OrgID, job.Units = "42", alice.ID, 5
	stopped = nil
}

// withAlice signs Alice in on every request, as the application's session middleware would.
func withAlice(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(myapp.WithUser(r.Context(), alice)))
	})
}

// afterEach fails a snippet that answered its request with an error.
func afterEach(t *testing.T) {
	assert.Less(t, w.Code, 400, "the snippet answered %d: %s", w.Code, w.Body)
}

// checks run after the snippet of that name, to show it does what the README says.
var checks = map[string]func(t *testing.T){
	// The gated, metered endpoint serves Alice and meters what the work used.
	"generate": func(t *testing.T) {
		before := aliceCalls(t)
		rec := serve(t, http.MethodPost, "/api/generate", `{}`, nil)
		require.Equal(t, http.StatusOK, rec.Code, "POST /api/generate as Alice: %s", rec.Body)
		assert.Equal(t, before-workUnits, aliceCalls(t), "the work's units are metered")
	},
	// The billing read answers what Alice's plan grants.
	"read-billing": func(t *testing.T) {
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var got map[string]any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
		assert.Equal(t, true, got["premium"])
		assert.Equal(t, 1000.0, got["callsLeft"])
	},
	// The checkout redirects to Flowglad's (here the fake's) checkout page.
	"checkout": func(t *testing.T) {
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		assert.True(t, strings.HasPrefix(w.Header().Get("Location"), fake.URL+"/checkout/"), w.Header().Get("Location"))
	},
	// The worker's usage event lands on Alice's balance, and the handler, whose cache is
	// not the worker's Service's, still answers the balance from before it: the gap the
	// README describes.
	"worker": func(t *testing.T) {
		assert.Equal(t, 1000.0-float64(job.Units), aliceCalls(t))
		assert.Equal(t, 1000.0, handlerCalls(t), "the handler's cached billing, until its TTL")
	},
	// Through the handler's own Service the route sees the write at once.
	"worker-in-process": func(t *testing.T) {
		assert.Equal(t, 999.0, aliceCalls(t))
		assert.Equal(t, 999.0, handlerCalls(t), "the write forgot the handler's cached billing")
	},
	// A delivery signed with the endpoint's secret reaches the application's function.
	"webhook": func(t *testing.T) {
		body := []byte(`{"id":"sub_alice_pro","object":"subscription","customer":{"id":"cus_alice","externalId":"user_alice"},"pricingModelId":"pm_demo"}`)
		hdr, err := webhook.Sign(webhookSecret, "msg_1", time.Now(), body)
		require.NoError(t, err)
		rec := serve(t, http.MethodPost, "/webhooks/flowglad/subscription-canceled", string(body), hdr)
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		assert.Equal(t, []string{alice.ID}, stopped)
	},
}

// serve sends a request to mux as Alice and returns the answer.
func serve(t *testing.T, method, path, body string, hdr http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(myapp.WithUser(t.Context(), alice), method, path, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

// handlerCalls returns Alice's api-calls balance as the handler's Service reads it (from
// its cache when it has it).
func handlerCalls(t *testing.T) float64 {
	t.Helper()
	b, err := h.Service().Billing(t.Context(), flowglad.Customer{ExternalID: alice.ID})
	require.NoError(t, err)
	bal := b.CheckUsageBalance(flowgladapitest.DemoUsageMeterAPICalls)
	require.NotNil(t, bal)
	return bal.AvailableBalance
}

// aliceCalls returns Alice's api-calls balance in the fake.
func aliceCalls(t *testing.T) float64 {
	t.Helper()
	b, ok := fake.UsageBalance(flowgladapitest.DemoAliceSubscriptionID, flowgladapitest.DemoUsageMeterAPICalls)
	require.True(t, ok)
	return b
}

// onCanceled is the application's webhook callback for canceled subscriptions.
func onCanceled(ctx context.Context, e webhook.Event) error { return nil }
