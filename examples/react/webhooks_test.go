package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/webhook"
)

// readBilling reads the signed-in customer's billing through the page's route.
func readBilling(t *testing.T, c *http.Client, appURL string) *flowgladapi.Billing {
	t.Helper()
	r := call(t, c, "POST", appURL+"/api/flowglad/customers/billing", "{}")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var answer struct {
		Data *flowgladapi.Billing `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.body, &answer), "%s", r.body)
	require.NotNil(t, answer.Data)
	require.NotNil(t, answer.Data.CurrentSubscription)
	return answer.Data
}

func apiCallsLeft(t *testing.T, b *flowgladapi.Billing) float64 {
	t.Helper()
	bal := b.CheckUsageBalance(apiCallsMeter)
	require.NotNil(t, bal, "no %s balance in billing", apiCallsMeter)
	return bal.AvailableBalance
}

// waitDeliveries waits for the fake's webhook deliveries and returns those made since
// the first `seen`.
func waitDeliveries(t *testing.T, fake *flowgladapitest.Fake, seen int) []flowgladapitest.WebhookDelivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, fake.WaitWebhookDeliveries(ctx))
	return fake.WebhookDeliveries()[seen:]
}

// The demo's billing cache holds a customer's billing for a minute; the webhooks are what
// keep it true when Flowglad changes the customer.
func TestWebhooksKeepCachedBillingFresh(t *testing.T) {
	app, fake := startDemo(t)
	const sub = flowgladapitest.DemoAliceSubscriptionID

	// One endpoint per billing event, at the app's own URL.
	var registered []string
	for _, w := range fake.Webhooks() {
		require.Len(t, w.FilterTypes, 1)
		registered = append(registered, string(w.FilterTypes[0])+" "+w.URL)
	}
	var want []string
	for _, typ := range billingEvents {
		want = append(want, string(typ)+" "+app.URL+webhookPath(typ))
	}
	assert.Equal(t, want, registered)

	c := newClient(t)
	signIn(t, c, app.URL, flowgladapitest.DemoCustomerAlice)
	before := readBilling(t, c, app.URL)
	require.Equal(t, "active", before.CurrentSubscription.Status)
	left := apiCallsLeft(t, before)

	// The cache is on: usage recorded straight on Flowglad (by another service, say; usage
	// sends no webhook) does not show until the cached billing is forgotten.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/v1/usage-events", strings.NewReader(
		`{"usageEvent":{"subscriptionId":"`+sub+`","usageMeterSlug":"api-calls","amount":5,"transactionId":"elsewhere-1"}}`))
	req.Header.Set("Authorization", fake.APIKey())
	req.Header.Set("Content-Type", "application/json")
	fake.ServeHTTP(rec, req)
	require.Less(t, rec.Code, 300, "%s", rec.Body)
	assert.Equal(t, left, apiCallsLeft(t, readBilling(t, c, app.URL)), "billing is cached")

	// A delivery not signed with the endpoint's secret is refused and forgets nothing.
	body := []byte(`{"id":"` + sub + `","object":"subscription","customer":{"id":"cus_alice","externalId":"user_alice"}}`)
	forged, err := webhook.Sign("whsec_"+strings.Repeat("A", 32), "msg_forged", time.Now(), body)
	require.NoError(t, err)
	r := call(t, app.Client(), "POST", app.URL+webhookPath(webhook.SubscriptionUpdated), string(body),
		"svix-id", forged.Get("svix-id"), "svix-timestamp", forged.Get("svix-timestamp"), "svix-signature", forged.Get("svix-signature"))
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, left, apiCallsLeft(t, readBilling(t, c, app.URL)), "still cached after a forged delivery")

	// Cancel through the page's route: the fake sends subscription.updated, which the app
	// verifies and handles (204: anything else is retried). The route's own mutation also
	// forgets the cached billing, so the read below shows the delivery arrived, not that it
	// invalidated anything: the change made on the fake alone, further down, shows that.
	seen := len(fake.WebhookDeliveries())
	r = call(t, c, "POST", app.URL+"/api/flowglad/subscriptions/cancel",
		`{"id":"`+sub+`","cancellation":{"timing":"at_end_of_current_billing_period"}}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	delivered := waitDeliveries(t, fake, seen)
	require.Len(t, delivered, 1, "one event for the cancellation")
	d := delivered[0]
	assert.Equal(t, webhook.SubscriptionUpdated, d.EventType)
	assert.Equal(t, app.URL+webhookPath(webhook.SubscriptionUpdated), d.URL)
	assert.True(t, d.Delivered)
	assert.Equal(t, http.StatusNoContent, d.StatusCode, "the app verified and handled the delivery")
	after := readBilling(t, c, app.URL)
	assert.Equal(t, "cancellation_scheduled", after.CurrentSubscription.Status)
	assert.Equal(t, left-5, apiCallsLeft(t, after))

	// A change the app did not make (in Flowglad's dashboard, say): only the webhook can
	// tell the cache, and the next read through the route shows it within the TTL.
	seen = len(fake.WebhookDeliveries())
	require.NoError(t, fake.SetSubscriptionStatus(sub, "active"))
	delivered = waitDeliveries(t, fake, seen)
	require.Len(t, delivered, 1)
	assert.Equal(t, http.StatusNoContent, delivered[0].StatusCode)
	assert.Equal(t, "active", readBilling(t, c, app.URL).CurrentSubscription.Status)
}
