package flowgladapitest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/webhook"
)

// receiver plays a webhook endpoint per event type (at /<type>): it
// verifies each delivery with its endpoint's secret on the fake's clock,
// records it, and answers what answer says (204 by default).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	secrets map[string]string // path -> secret
	got     []delivered
	answer  func(d delivered) int
}

type delivered struct {
	path, msgID string
	body        string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{secrets: map[string]string{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		rc.mu.Lock()
		secret, answer := rc.secrets[r.URL.Path], rc.answer
		rc.mu.Unlock()
		assert.NoError(t, webhook.Verify(body, r.Header, secret, webhook.WithClock(fixedClock)), r.URL.Path)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		d := delivered{path: r.URL.Path, msgID: r.Header.Get("svix-id"), body: string(body)}
		rc.mu.Lock()
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		status := http.StatusNoContent
		if answer != nil {
			status = answer(d)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// listen registers one endpoint per type on s, pointing at the receiver.
func (rc *receiver) listen(t *testing.T, s *Fake, types ...webhook.EventType) []Webhook {
	t.Helper()
	var out []Webhook
	for _, typ := range types {
		w, err := s.AddWebhook(rc.srv.URL+"/"+string(typ), typ)
		require.NoError(t, err)
		rc.mu.Lock()
		rc.secrets["/"+string(typ)] = w.Secret
		rc.mu.Unlock()
		out = append(out, w)
	}
	return out
}

// events waits for the deliveries, checks that the receiver got each one,
// and describes them in the order the events happened (deliveries run
// concurrently, so they may arrive in another):
// "<type> <object>/<id> <customer id>/<external id>".
func (rc *receiver) events(t *testing.T, s *Fake) []string {
	t.Helper()
	require.NoError(t, s.WaitWebhookDeliveries(t.Context()))
	var out, sent []string
	for _, d := range s.WebhookDeliveries() {
		assert.True(t, d.Delivered, "%+v", d)
		var b struct {
			ID, Object, PricingModelID string
			Customer                   struct{ ID, ExternalID string }
		}
		require.NoError(t, json.Unmarshal(d.Payload, &b))
		assert.Equal(t, DemoPricingModelID, b.PricingModelID)
		out = append(out, ev(string(d.EventType), b.Object, b.ID, b.Customer.ID, b.Customer.ExternalID))
		sent = append(sent, d.MessageID+" /"+string(d.EventType)+" "+string(d.Payload))
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var got []string
	for _, g := range rc.got {
		got = append(got, g.msgID+" "+g.path+" "+g.body)
	}
	assert.ElementsMatch(t, sent, got)
	return out
}

func ev(typ, object, id, customerID, externalID string) string {
	return typ + " " + object + "/" + id + " " + customerID + "/" + externalID
}

// expected is an event a change should send; update ones only with
// WithWebhookUpdates.
type expected struct {
	ev     string
	update bool
}

func TestWebhookEvents(t *testing.T) {
	t.Parallel()
	alice, bob := "/api/v1/customers/"+DemoCustomerAlice, "/api/v1/customers/"+DemoCustomerBob
	aliceSub := "/api/v1/subscriptions/" + DemoAliceSubscriptionID
	aliceCanceled := expected{ev: ev("subscription.canceled", "subscription", DemoAliceSubscriptionID, DemoAliceCustomerID, DemoCustomerAlice)}
	aliceUpdated := expected{ev: ev("subscription.updated", "subscription", DemoAliceSubscriptionID, DemoAliceCustomerID, DemoCustomerAlice), update: true}
	cancelAt := func(timing string) map[string]any {
		return map[string]any{"cancellation": map[string]any{"timing": timing}}
	}
	adjustTo := func(slug string) map[string]any {
		return map[string]any{"adjustment": map[string]any{"timing": "immediately", "newSubscriptionItems": []any{map[string]any{"priceSlug": slug}}}}
	}
	// newSub is the event for the subscription a change added.
	newSub := func(t *testing.T, s *Server, ext string) expected {
		c, ok := s.Customer(ext)
		require.True(t, ok)
		last := c.Subscriptions[len(c.Subscriptions)-1]
		return expected{ev: ev("subscription.created", "subscription", last.ID, c.ID, ext)}
	}
	// paid is the payment.succeeded event of the invoice a checkout paid last.
	paid := func(t *testing.T, s *Server, ext string) expected {
		c, ok := s.Customer(ext)
		require.True(t, ok)
		last := c.Invoices[len(c.Invoices)-1]
		require.NotEmpty(t, last.PaymentID, "a checkout's invoice names its payment")
		return expected{ev: ev("payment.succeeded", "payment", last.PaymentID, c.ID, ext)}
	}

	tests := []struct {
		name string
		run  func(t *testing.T, s *Server) []expected
	}{
		{"create a customer", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodPost, "/api/v1/customers",
				map[string]any{"customer": map[string]any{"externalId": DemoCustomerCarol, "email": "carol@example.com", "name": "Carol"}}))
			c, _ := s.Customer(DemoCustomerCarol)
			return []expected{{ev: ev("customer.created", "customer", c.ID, c.ID, DemoCustomerCarol)}, newSub(t, s, DemoCustomerCarol)}
		}},
		{"update a customer", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodPut, alice, map[string]any{"customer": map[string]any{"name": "Alice B."}}))
			return []expected{{ev: ev("customer.updated", "customer", DemoAliceCustomerID, DemoAliceCustomerID, DemoCustomerAlice), update: true}}
		}},
		{"archive a customer", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodPost, bob+"/archive", map[string]any{}))
			return []expected{
				{ev: ev("customer.updated", "customer", DemoBobCustomerID, DemoBobCustomerID, DemoCustomerBob), update: true},
				{ev: ev("subscription.canceled", "subscription", DemoBobSubscriptionID, DemoBobCustomerID, DemoCustomerBob)},
			}
		}},
		{"cancel immediately", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodPost, aliceSub+"/cancel", cancelAt("immediately")))
			return []expected{aliceCanceled}
		}},
		{"schedule a cancellation, then uncancel", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodPost, aliceSub+"/cancel", cancelAt("at_end_of_current_billing_period")))
			ok(t, call(t, s, http.MethodPost, aliceSub+"/uncancel", nil))
			return []expected{aliceUpdated, aliceUpdated}
		}},
		{"the scheduled cancellation takes effect", func(t *testing.T, s *Server) []expected {
			require.NoError(t, s.SetSubscriptionStatus(DemoAliceSubscriptionID, StatusCanceled))
			return []expected{aliceCanceled}
		}},
		{"adjust", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodPost, aliceSub+"/adjust", adjustTo(DemoPriceTeamMonthly)))
			return []expected{aliceUpdated}
		}},
		{"create a subscription, replacing the free plan silently", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions", map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly}))
			return []expected{newSub(t, s, DemoCustomerBob)}
		}},
		{"checkout of a subscription", func(t *testing.T, s *Server) []expected {
			_, err := s.AddCustomer(Customer{ExternalID: "user_dave"}) // no subscription yet
			require.NoError(t, err)
			ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions",
				checkoutBody("product", map[string]any{"customerExternalId": "user_dave", "priceSlug": DemoPriceProMonthly})))
			_, err = s.CompleteCheckout(s.CheckoutSessions()[0].ID)
			require.NoError(t, err)
			return []expected{newSub(t, s, "user_dave"), paid(t, s, "user_dave")}
		}},
		{"checkout moving a subscription to another price", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions",
				checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceTeamMonthly})))
			_, err := s.CompleteCheckout(s.CheckoutSessions()[0].ID)
			require.NoError(t, err)
			return []expected{aliceUpdated, paid(t, s, DemoCustomerAlice)}
		}},
		{"checkout of a single payment", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions",
				checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceCredits})))
			_, err := s.CompleteCheckout(s.CheckoutSessions()[0].ID)
			require.NoError(t, err)
			c, _ := s.Customer(DemoCustomerAlice)
			return []expected{paid(t, s, DemoCustomerAlice),
				{ev: ev("purchase.completed", "purchase", c.Purchases[len(c.Purchases)-1].ID, DemoAliceCustomerID, DemoCustomerAlice)}}
		}},
		{"reads and refused changes send nothing", func(t *testing.T, s *Server) []expected {
			ok(t, call(t, s, http.MethodGet, alice+"/billing", nil))
			assert.Equal(t, http.StatusNotFound, call(t, s, http.MethodPost, "/api/v1/subscriptions/sub_nope/cancel", cancelAt("immediately")).status)
			assert.Equal(t, http.StatusBadRequest, call(t, s, http.MethodPut, alice, map[string]any{"customer": map[string]any{"email": ""}}).status)
			return nil
		}},
		{"seeding sends nothing", func(t *testing.T, s *Server) []expected {
			_, err := s.AddCustomer(Customer{ExternalID: "user_dave", Subscriptions: []Subscription{{Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}}}})
			require.NoError(t, err)
			_, err = s.AddPurchase(DemoCustomerAlice, Purchase{PriceSlug: DemoPriceCredits})
			require.NoError(t, err)
			return nil
		}},
	}
	for _, updates := range []bool{false, true} {
		for _, tc := range tests {
			name := tc.name
			if updates {
				name += " (with updates)"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				opts := []Option{}
				if updates {
					opts = append(opts, WithWebhookUpdates())
				}
				s := newSpecServer(t, opts...)
				rc := newReceiver(t)
				rc.listen(t, s.Fake, knownEventTypes...)
				var want []string
				for _, e := range tc.run(t, s) {
					if updates || !e.update {
						want = append(want, e.ev)
					}
				}
				assert.Equal(t, want, rc.events(t, s.Fake))
			})
		}
	}
}

func TestWebhookRoutes(t *testing.T) {
	t.Parallel()
	s := newSpecServer(t)
	rc := newReceiver(t)
	created := ok(t, call(t, s, http.MethodPost, "/api/v1/webhooks", map[string]any{"webhook": map[string]any{
		"url": rc.srv.URL + "/canceled", "name": "cancellations", "filterTypes": []string{"subscription.canceled"},
		"pricingModelId": DemoPricingModelID,
	}}))
	secret, _ := created["secret"].(string)
	assert.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	id, _ := dig(t, created, "webhook", "id").(string)
	assert.Equal(t, true, dig(t, created, "webhook", "active"), "active by default")
	assert.Equal(t, []Webhook{{ID: id, Name: "cancellations", URL: rc.srv.URL + "/canceled",
		FilterTypes: []webhook.EventType{webhook.SubscriptionCanceled}, Active: true,
		PricingModelID: DemoPricingModelID, Secret: secret}}, s.Webhooks())

	got := ok(t, call(t, s, http.MethodGet, "/api/v1/webhooks/"+id, nil))
	assert.Equal(t, created["webhook"], got["webhook"])
	assert.NotContains(t, got, "secret", "the secret is shown once")

	updated := ok(t, call(t, s, http.MethodPut, "/api/v1/webhooks/"+id, map[string]any{"webhook": map[string]any{
		"id": id, "url": rc.srv.URL + "/all", "filterTypes": []string{"subscription.canceled", "subscription.created"}, "active": false,
	}}))
	assert.Equal(t, false, dig(t, updated, "webhook", "active"))
	assert.Equal(t, "cancellations", dig(t, updated, "webhook", "name"), "a name left out is kept")
	assert.Equal(t, []any{"subscription.canceled", "subscription.created"}, dig(t, updated, "webhook", "filterTypes"))

	// An inactive endpoint receives nothing.
	ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/cancel",
		map[string]any{"cancellation": map[string]any{"timing": "immediately"}}))
	require.NoError(t, s.WaitWebhookDeliveries(t.Context()))
	assert.Empty(t, s.WebhookDeliveries())
}

func TestWebhookRoutesRefuse(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t)
	valid := func() map[string]any {
		return map[string]any{"url": "https://app.example.com/hook", "name": "n", "filterTypes": []string{"customer.created"}, "pricingModelId": DemoPricingModelID}
	}
	with := func(k string, v any) map[string]any {
		w := valid()
		if v == nil {
			delete(w, k)
		} else {
			w[k] = v
		}
		return map[string]any{"webhook": w}
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"no url", http.MethodPost, "/api/v1/webhooks", with("url", nil), http.StatusBadRequest},
		{"relative url", http.MethodPost, "/api/v1/webhooks", with("url", "/hook"), http.StatusBadRequest},
		{"no name", http.MethodPost, "/api/v1/webhooks", with("name", nil), http.StatusBadRequest},
		{"no filterTypes", http.MethodPost, "/api/v1/webhooks", with("filterTypes", nil), http.StatusBadRequest},
		{"unknown event type", http.MethodPost, "/api/v1/webhooks", with("filterTypes", []string{"invoice.paid"}), http.StatusBadRequest},
		{"filterTypes not an array", http.MethodPost, "/api/v1/webhooks", with("filterTypes", "customer.created"), http.StatusBadRequest},
		{"active not a boolean", http.MethodPost, "/api/v1/webhooks", with("active", "yes"), http.StatusBadRequest},
		{"unknown pricing model", http.MethodPost, "/api/v1/webhooks", with("pricingModelId", "pm_nope"), http.StatusNotFound},
		{"no pricing model", http.MethodPost, "/api/v1/webhooks", with("pricingModelId", nil), http.StatusBadRequest},
		{"no webhook object", http.MethodPost, "/api/v1/webhooks", map[string]any{}, http.StatusBadRequest},
		{"get unknown", http.MethodGet, "/api/v1/webhooks/webhook_nope", nil, http.StatusNotFound},
		{"update unknown", http.MethodPut, "/api/v1/webhooks/webhook_nope",
			map[string]any{"webhook": map[string]any{"id": "webhook_nope", "url": "https://a.example.com", "filterTypes": []string{}}}, http.StatusNotFound},
		{"update without id", http.MethodPut, "/api/v1/webhooks/webhook_nope",
			map[string]any{"webhook": map[string]any{"url": "https://a.example.com", "filterTypes": []string{}}}, http.StatusBadRequest},
	}
	for _, tc := range tests {
		r := call(t, s, tc.method, tc.path, tc.body)
		assert.Equal(t, tc.status, r.status, "%s: %s", tc.name, r.body)
	}
	assert.Empty(t, s.Webhooks())

	for _, bad := range []struct {
		url   string
		types []webhook.EventType
	}{{"not a url", nil}, {"https://a.example.com", []webhook.EventType{"invoice.paid"}}} {
		_, err := s.AddWebhook(bad.url, bad.types...)
		assert.Error(t, err)
	}
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		failFirst int // attempts answered 500
		retries   int
		attempts  int
		delivered bool
	}{
		{"delivered at once", 0, 3, 1, true},
		{"delivered on the third attempt", 2, 3, 3, true},
		{"given up after the retries", 10, 2, 3, false},
		{"no retries", 1, 0, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSpecServer(t, WithWebhookRetries(tc.retries, time.Millisecond))
			rc := newReceiver(t)
			var n atomic.Int32
			rc.answer = func(delivered) int {
				if int(n.Add(1)) <= tc.failFirst {
					return http.StatusInternalServerError
				}
				return http.StatusOK
			}
			rc.listen(t, s.Fake, webhook.SubscriptionCanceled)
			ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/cancel",
				map[string]any{"cancellation": map[string]any{"timing": "immediately"}}))
			require.NoError(t, s.WaitWebhookDeliveries(t.Context()))

			ds := s.WebhookDeliveries()
			require.Len(t, ds, 1)
			d := ds[0]
			assert.Equal(t, tc.attempts, d.Attempts)
			assert.Equal(t, tc.delivered, d.Delivered)
			assert.True(t, d.Done)
			assert.Equal(t, webhook.SubscriptionCanceled, d.EventType)
			rc.mu.Lock()
			defer rc.mu.Unlock()
			require.Len(t, rc.got, tc.attempts)
			for _, g := range rc.got {
				assert.Equal(t, d.MessageID, g.msgID, "every attempt carries the same svix-id")
				assert.JSONEq(t, string(d.Payload), g.body)
			}
		})
	}
}

// One event goes to every endpoint subscribed to its type, with one
// message id; endpoints for other types get nothing.
func TestWebhookFanOut(t *testing.T) {
	t.Parallel()
	s := newSpecServer(t)
	rc := newReceiver(t)
	a, err := s.AddWebhook(rc.srv.URL+"/a", webhook.SubscriptionCanceled, webhook.SubscriptionCreated)
	require.NoError(t, err)
	b, err := s.AddWebhook(rc.srv.URL+"/b", webhook.SubscriptionCanceled)
	require.NoError(t, err)
	c, err := s.AddWebhook(rc.srv.URL+"/c", webhook.CustomerCreated)
	require.NoError(t, err)
	assert.NotEqual(t, a.Secret, b.Secret)
	rc.mu.Lock()
	rc.secrets = map[string]string{"/a": a.Secret, "/b": b.Secret, "/c": c.Secret}
	rc.mu.Unlock()

	ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/cancel",
		map[string]any{"cancellation": map[string]any{"timing": "immediately"}}))
	require.NoError(t, s.WaitWebhookDeliveries(t.Context()))
	ds := s.WebhookDeliveries()
	require.Len(t, ds, 2)
	assert.Equal(t, []string{a.ID, b.ID}, []string{ds[0].WebhookID, ds[1].WebhookID})
	assert.Equal(t, ds[0].MessageID, ds[1].MessageID)
	assert.True(t, ds[0].Delivered && ds[1].Delivered)
}

// A receiver may call the fake back while it handles a delivery (to read
// billing, say): the fake holds no lock while it delivers, and the change
// is visible.
func TestWebhookReceiverCallsBack(t *testing.T) {
	t.Parallel()
	s := newSpecServer(t)
	rc := newReceiver(t)
	var status atomic.Value
	rc.answer = func(delivered) int {
		// On the receiver's goroutine: assert, never require.
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/subscriptions/"+DemoAliceSubscriptionID, nil)
		req.Header.Set("Authorization", s.APIKey())
		resp, err := http.DefaultClient.Do(req)
		if !assert.NoError(t, err) {
			return http.StatusInternalServerError
		}
		defer resp.Body.Close()
		var sub struct{ Subscription struct{ Status string } }
		assert.NoError(t, json.NewDecoder(resp.Body).Decode(&sub))
		status.Store(sub.Subscription.Status)
		return http.StatusNoContent
	}
	rc.listen(t, s.Fake, webhook.SubscriptionCanceled)
	ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/cancel",
		map[string]any{"cancellation": map[string]any{"timing": "immediately"}}))
	require.NoError(t, s.WaitWebhookDeliveries(t.Context()))
	assert.Equal(t, StatusCanceled, status.Load())
}

// CloseWebhooks ends deliveries that hang or wait to be retried.
func TestCloseWebhooks(t *testing.T) {
	t.Parallel()
	s := New(WithSeed(DemoSeed()), WithClock(fixedClock), WithWebhookRetries(5, time.Hour))
	srv := httptest.NewServer(s)
	defer srv.Close()
	hang := make(chan struct{})
	receiving := make(chan struct{}, 2)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		receiving <- struct{}{}
		if r.URL.Path == "/hang" {
			select {
			case <-r.Context().Done():
			case <-hang:
			}
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer hook.Close()
	defer close(hang)
	_, err := s.AddWebhook(hook.URL+"/hang", webhook.SubscriptionCanceled)
	require.NoError(t, err)
	_, err = s.AddWebhook(hook.URL+"/fail", webhook.SubscriptionCanceled)
	require.NoError(t, err)
	require.NoError(t, s.SetSubscriptionStatus(DemoAliceSubscriptionID, StatusCanceled))
	<-receiving
	<-receiving

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, s.WaitWebhookDeliveries(ctx), context.Canceled, "deliveries are still pending")

	s.CloseWebhooks()
	for _, d := range s.WebhookDeliveries() {
		assert.True(t, d.Done)
		assert.False(t, d.Delivered)
	}
	require.NoError(t, s.SetSubscriptionStatus(DemoBobSubscriptionID, StatusCanceled))
	assert.Len(t, s.WebhookDeliveries(), 2, "nothing is sent once closed")
	s.CloseWebhooks() // twice is fine
}
