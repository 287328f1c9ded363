package flowgladapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readBilling(tb testing.TB) []byte {
	tb.Helper()
	raw, err := os.ReadFile("testdata/billing.json")
	require.NoError(tb, err)
	return raw
}

// TestDecodeBillingFixture decodes the spec-shaped fixture and checks every
// typed field and that Raw slices are the original bytes.
func TestDecodeBillingFixture(t *testing.T) {
	t.Parallel()
	raw := readBilling(t)
	b, err := flowgladapi.DecodeBilling(raw)
	require.NoError(t, err)

	assert.Equal(t, raw, []byte(b.Raw))
	raw[0] = ' ' // DecodeBilling keeps a copy
	assert.Equal(t, byte('{'), b.Raw[0])

	assert.Equal(t, "cust_9Zt3WbN5", b.Customer.ID)
	assert.Equal(t, "user_42", b.Customer.ExternalID)
	assert.Equal(t, "ada@example.com", b.Customer.Email)
	assert.Equal(t, "Ada Lovelace", b.Customer.Name)
	assert.False(t, b.Customer.Livemode)
	assert.Equal(t, time.UnixMilli(1767225600000).UTC(), b.Customer.CreatedAt)
	assert.Equal(t, time.UnixMilli(1767312000000).UTC(), b.Customer.UpdatedAt)

	require.Len(t, b.Subscriptions, 2)
	require.Len(t, b.CurrentSubscriptions, 1)
	require.NotNil(t, b.CurrentSubscription)
	pro := b.CurrentSubscriptions[0]
	assert.Equal(t, "sub_pro_2", pro.ID)
	assert.Equal(t, "cust_9Zt3WbN5", pro.CustomerID)
	assert.Equal(t, "active", pro.Status)
	assert.Equal(t, "price_pro_monthly", pro.PriceID)
	assert.True(t, pro.Current)
	require.Len(t, pro.FeatureItems, 3)
	assert.Equal(t, flowgladapi.FeatureItem{ID: "sif_reports", Slug: "advanced_reports", Name: "Advanced reports", Type: "toggle", Raw: pro.FeatureItems[0].Raw}, pro.FeatureItems[0])
	require.Len(t, pro.UsageMeterBalances, 1)
	bal := pro.UsageMeterBalances[0]
	assert.Equal(t, "usage_meter_api_calls", bal.ID)
	assert.Equal(t, "api_calls", bal.Slug)
	assert.Equal(t, "API calls", bal.Name)
	assert.Equal(t, "sub_pro_2", bal.SubscriptionID)
	assert.InDelta(t, 7342.5, bal.AvailableBalance, 0)
	assert.Equal(t, "canceled", b.Subscriptions[1].Status)
	assert.False(t, b.Subscriptions[1].Current)
	assert.Nil(t, b.Subscriptions[1].FeatureItems)

	assert.Equal(t, "pricing_model_4hT8nQ", b.PricingModel.ID)
	require.Len(t, b.PricingModel.Products, 4)
	free := b.PricingModel.Products[0]
	assert.Equal(t, "free", free.Slug)
	assert.True(t, free.Default)
	require.Len(t, b.PricingModel.UsageMeters, 1)
	assert.Equal(t, "api_calls", b.PricingModel.UsageMeters[0].Slug)
	require.Len(t, b.Purchases, 2)
	assert.Equal(t, "price_onboarding", b.Purchases[1].PriceID)
	assert.Equal(t, "Onboarding session", b.Purchases[1].Name)
	require.Len(t, b.Invoices, 3)
	assert.Equal(t, "inv_1", b.Invoices[0].ID)
	assert.Contains(t, string(b.Invoices[0].Raw), `"invoiceLineItems"`)
	assert.Contains(t, string(b.PaymentMethods), `"pm_card_visa"`)
	require.NotNil(t, b.BillingPortalURL)
	assert.Contains(t, *b.BillingPortalURL, "billing-portal")

	// Each Raw is the element as sent: re-decoding it gives the same view.
	var again flowgladapi.Subscription
	require.NoError(t, json.Unmarshal(pro.Raw, &again))
	assert.Equal(t, pro, again)
	var generic map[string]any
	require.NoError(t, json.Unmarshal(b.PricingModel.Products[1].Prices[0].Raw, &generic))
	assert.Equal(t, "pro_monthly", generic["slug"])
	assert.EqualValues(t, 14, generic["trialPeriodDays"])
}

func TestBillingHelpersOnFixture(t *testing.T) {
	t.Parallel()
	b, err := flowgladapi.DecodeBilling(readBilling(t))
	require.NoError(t, err)

	assert.True(t, b.CheckFeatureAccess("advanced_reports"))
	assert.True(t, b.CheckFeatureAccessFor("sub_pro_2", "csv_export"))
	assert.False(t, b.CheckFeatureAccess("sso"), "an enterprise feature")
	assert.False(t, b.CheckFeatureAccess("api_credits"), "a usage credit grant is not a toggle")
	assert.False(t, b.CheckFeatureAccessFor("sub_free_1", "csv_export"), "a canceled subscription is never chosen")

	bal := b.CheckUsageBalance("api_calls")
	require.NotNil(t, bal)
	assert.InDelta(t, 7342.5, bal.AvailableBalance, 0)
	assert.Nil(t, b.CheckUsageBalance("nope"))

	require.NotNil(t, b.Product("enterprise"))
	assert.Equal(t, "prod_enterprise", b.Product("enterprise").ID)
	require.NotNil(t, b.Price("pro_yearly"))
	assert.Equal(t, int64(29000), b.Price("pro_yearly").UnitPrice)
	assert.Equal(t, "prod_pro", b.Price("pro_yearly").ProductID)
	usage := b.Price("api_overage")
	require.NotNil(t, usage, "usage meters' prices are searched too")
	assert.Equal(t, "usage", usage.Type)
	assert.Equal(t, "usage_meter_api_calls", usage.UsageMeterID)

	assert.True(t, b.HasPurchased("pro"))
	assert.True(t, b.HasPurchased("onboarding"))
	assert.False(t, b.HasPurchased("enterprise"))
	assert.False(t, b.HasPurchased("nope"))

	require.NotNil(t, b.Subscription("sub_free_1"))
	assert.Equal(t, "canceled", b.Subscription("sub_free_1").Status)
	assert.Nil(t, b.Subscription("sub_nope"))
}

// TestBillingHelpers covers the React SDK's rules on small payloads.
func TestBillingHelpers(t *testing.T) {
	t.Parallel()
	const twoSubs = `{
	  "currentSubscriptions": [
	    {"id": "sub_a", "featureItems": [{"type": "toggle", "slug": "top"}],
	     "experimental": {"featureItems": [{"type": "toggle", "slug": "exp"}],
	                      "usageMeterBalances": [{"slug": "m", "availableBalance": 1}, {"slug": "m", "availableBalance": 2}]}},
	    {"id": "sub_b", "experimental": {"featureItems": [{"type": "toggle", "slug": "exp_b"}, {"type": "resource", "slug": "seats"}],
	                                     "usageMeterBalances": [{"slug": "m", "availableBalance": 9}]}}
	  ]}`
	tests := []struct {
		name    string
		billing string
		slug    string
		sub     []string
		access  bool
		balance *float64
	}{
		{"top-level featureItems win", twoSubs, "top", nil, true, nil},
		{"experimental ignored when top-level present", twoSubs, "exp", nil, false, nil},
		{"experimental used as fallback", twoSubs, "exp_b", []string{"sub_b"}, true, nil},
		{"non-toggle never grants", twoSubs, "seats", []string{"sub_b"}, false, nil},
		{"an empty id names no subscription", twoSubs, "top", []string{""}, false, nil},
		{"unknown subscription id", twoSubs, "top", []string{"sub_zzz"}, false, nil},
		{"balance: last match wins", twoSubs, "m", nil, false, ptr(2.0)},
		{"balance of chosen subscription", twoSubs, "m", []string{"sub_b"}, false, ptr(9.0)},
		{"balance: unknown subscription", twoSubs, "m", []string{"sub_zzz"}, false, nil},
		{"no current subscriptions key", `{"subscriptions": [{"id": "s", "featureItems": [{"type": "toggle", "slug": "f"}]}]}`, "f", nil, false, nil},
		{"empty current subscriptions", `{"currentSubscriptions": []}`, "f", nil, false, nil},
		{"null featureItems falls back", `{"currentSubscriptions": [{"id": "s", "featureItems": null, "experimental": {"featureItems": [{"type": "toggle", "slug": "f"}], "usageMeterBalances": []}}]}`, "f", nil, true, nil},
		{"no experimental", `{"currentSubscriptions": [{"id": "s"}]}`, "f", nil, false, nil},
		{"currentSubscription alone is not used", `{"currentSubscription": {"id": "s", "featureItems": [{"type": "toggle", "slug": "f"}]}}`, "f", nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := flowgladapi.DecodeBilling([]byte(tt.billing))
			require.NoError(t, err)
			assert.NotNil(t, b.CurrentSubscriptions)
			var got *flowgladapi.UsageMeterBalance
			if tt.sub == nil {
				assert.Equal(t, tt.access, b.CheckFeatureAccess(tt.slug))
				got = b.CheckUsageBalance(tt.slug)
			} else {
				assert.Equal(t, tt.access, b.CheckFeatureAccessFor(tt.sub[0], tt.slug))
				got = b.CheckUsageBalanceFor(tt.sub[0], tt.slug)
			}
			if tt.balance == nil {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.InDelta(t, *tt.balance, got.AvailableBalance, 0)
		})
	}
}

func TestBillingCatalogHelpers(t *testing.T) {
	t.Parallel()
	const pm = `{
	  "pricingModel": {
	    "products": [
	      {"id": "p1", "slug": "pro", "prices": [{"id": "pr1", "slug": "dup"}, {"id": "pr_null", "slug": null}]},
	      {"id": "p2", "slug": "pro", "prices": [{"id": "pr2", "slug": "pro_2"}]},
	      {"id": "p3", "slug": "solo", "prices": [{"id": "pr3", "slug": "dup"}]}
	    ],
	    "usageMeters": [{"id": "m1", "slug": "meter", "prices": [{"id": "pr_usage", "slug": "dup", "type": "usage"}]}, {"id": "m2", "slug": "no_prices"}]
	  },
	  "purchases": [{"id": "pu1", "priceId": "pr2"}, {"id": "pu2"}]
	}`
	b, err := flowgladapi.DecodeBilling([]byte(pm))
	require.NoError(t, err)

	require.NotNil(t, b.Product("pro"))
	assert.Equal(t, "p2", b.Product("pro").ID, "last product with a slug wins, as in the SDK's map")
	assert.Nil(t, b.Product("nope"))
	assert.Nil(t, b.Product(""))

	require.NotNil(t, b.Price("dup"))
	assert.Equal(t, "pr_usage", b.Price("dup").ID, "usage meter prices win a slug clash")
	assert.Nil(t, b.Price(""), "a null slug never matches")
	assert.Nil(t, b.Price("nope"))

	assert.True(t, b.HasPurchased("pro"), "the winning product p2 has pr2")
	assert.False(t, b.HasPurchased("solo"))
	assert.False(t, b.HasPurchased("meter"), "usage meters are not products")

	var nilBilling *flowgladapi.Billing
	assert.False(t, nilBilling.CheckFeatureAccess("x"))
	assert.Nil(t, nilBilling.CheckUsageBalance("x"))
	assert.Nil(t, nilBilling.Product("x"))
	assert.Nil(t, nilBilling.Price("x"))
	assert.False(t, nilBilling.HasPurchased("x"))
	assert.Nil(t, nilBilling.Subscription("x"))
}

func TestBillingSubscriptionLookup(t *testing.T) {
	t.Parallel()
	b, err := flowgladapi.DecodeBilling([]byte(`{
	  "subscriptions": [{"id": "s_old", "status": "canceled"}],
	  "currentSubscriptions": [{"id": "s_cur", "status": "active"}],
	  "currentSubscription": {"id": "s_only_here", "status": "trialing"}
	}`))
	require.NoError(t, err)
	for id, status := range map[string]string{"s_old": "canceled", "s_cur": "active", "s_only_here": "trialing"} {
		s := b.Subscription(id)
		require.NotNil(t, s, id)
		assert.Equal(t, status, s.Status)
	}
	assert.Nil(t, b.Subscription(""))
	assert.Nil(t, b.Subscription("nope"))
}

func TestDecodeBillingLenient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		wantErr bool
		check   func(t *testing.T, b *flowgladapi.Billing)
	}{
		{name: "empty object", body: `{}`, check: func(t *testing.T, b *flowgladapi.Billing) {
			assert.Equal(t, []flowgladapi.Subscription{}, b.CurrentSubscriptions)
			assert.Nil(t, b.CurrentSubscription)
			assert.Nil(t, b.PaymentMethods)
			assert.Nil(t, b.BillingPortalURL)
		}},
		{name: "unknown fields ignored", body: `{"brandNew": {"x": 1}, "customer": {"id": "c", "future": true}}`, check: func(t *testing.T, b *flowgladapi.Billing) {
			assert.Equal(t, "c", b.Customer.ID)
			assert.JSONEq(t, `{"id": "c", "future": true}`, string(b.Customer.Raw))
		}},
		{name: "nulls", body: `{"paymentMethods": null, "billingPortalUrl": null, "currentSubscription": null, "currentSubscriptions": null}`, check: func(t *testing.T, b *flowgladapi.Billing) {
			assert.Nil(t, b.PaymentMethods)
			assert.Nil(t, b.BillingPortalURL)
			assert.Nil(t, b.CurrentSubscription)
			assert.NotNil(t, b.CurrentSubscriptions)
		}},
		{name: "string timestamps read as RFC 3339", body: `{"customer": {"createdAt": "2026-01-01T00:00:00Z"}}`, check: func(t *testing.T, b *flowgladapi.Billing) {
			assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), b.Customer.CreatedAt)
		}},
		{name: "odd times are zero, not an error", body: `{"customer": {"createdAt": true, "updatedAt": "yesterday"}, "currentSubscriptions": [{"id": "s", "canceledAt": null, "trialEnd": 1.5e12}]}`, check: func(t *testing.T, b *flowgladapi.Billing) {
			assert.True(t, b.Customer.CreatedAt.IsZero())
			assert.True(t, b.Customer.UpdatedAt.IsZero())
			assert.True(t, b.CurrentSubscriptions[0].CanceledAt.IsZero())
			assert.Equal(t, time.UnixMilli(1.5e12).UTC(), b.CurrentSubscriptions[0].TrialEnd)
		}},
		{name: "leading whitespace", body: " \n{}", check: func(t *testing.T, b *flowgladapi.Billing) {}},
		{name: "array", body: `[]`, wantErr: true},
		{name: "empty", body: ``, wantErr: true},
		{name: "null", body: `null`, wantErr: true},
		{name: "broken", body: `{"customer":`, wantErr: true},
		{name: "wrong type in subscription", body: `{"subscriptions": [{"id": 1}]}`, wantErr: true},
		{name: "wrong type in feature item", body: `{"currentSubscriptions": [{"id": "s", "experimental": {"featureItems": [{"slug": 1}]}}]}`, wantErr: true},
		{name: "wrong type in balance", body: `{"currentSubscriptions": [{"id": "s", "experimental": {"usageMeterBalances": [{"availableBalance": "1"}]}}]}`, wantErr: true},
		{name: "wrong type in price", body: `{"pricingModel": {"products": [{"prices": [{"unitPrice": "9"}]}]}}`, wantErr: true},
		{name: "wrong type in usage meter", body: `{"pricingModel": {"usageMeters": [{"slug": 1}]}}`, wantErr: true},
		{name: "wrong type in product", body: `{"pricingModel": {"products": [{"default": "yes"}]}}`, wantErr: true},
		{name: "wrong type in pricing model", body: `{"pricingModel": {"id": 1}}`, wantErr: true},
		{name: "wrong type in purchase", body: `{"purchases": [{"priceId": 1}]}`, wantErr: true},
		{name: "wrong type in invoice", body: `{"invoices": [{"invoice": {"id": 1}}]}`, wantErr: true},
		{name: "wrong type in customer", body: `{"customer": {"livemode": "no"}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := flowgladapi.DecodeBilling([]byte(tt.body))
			if tt.wantErr {
				require.Error(t, err)
				assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse)
				assert.Regexp(t, `^flowgladapi: invalid response: billing: `, err.Error())
				assert.Nil(t, b)
				return
			}
			require.NoError(t, err)
			tt.check(t, b)
		})
	}
}

func TestDecodeSubscription(t *testing.T) {
	t.Parallel()
	s, err := flowgladapi.DecodeSubscription([]byte(`{"subscription": {"id": "sub_1", "status": "cancellation_scheduled", "customerId": "c", "priceId": "p", "current": true, "renews": true}}`))
	require.NoError(t, err)
	assert.Equal(t, "sub_1", s.ID)
	assert.Equal(t, "cancellation_scheduled", s.Status)
	assert.True(t, s.Current)
	assert.Contains(t, string(s.Raw), `"renews": true`)
	assert.Nil(t, s.FeatureItems)

	for _, bad := range []string{`{}`, `{"subscription": null}`, `[]`, ``, `{"subscription": {"id": 5}}`} {
		_, err := flowgladapi.DecodeSubscription([]byte(bad))
		assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse, bad)
	}
}

// BenchmarkDecodeBilling decodes the fixture in its wire form (Flowglad
// sends compact JSON; the fixture is indented for reading).
func BenchmarkDecodeBilling(b *testing.B) {
	var buf bytes.Buffer
	require.NoError(b, json.Compact(&buf, readBilling(b)))
	raw := buf.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		bl, err := flowgladapi.DecodeBilling(raw)
		if err != nil || !bl.CheckFeatureAccess("advanced_reports") {
			b.Fatal("decode failed", err)
		}
	}
}

func BenchmarkBillingHelpers(b *testing.B) {
	bl, err := flowgladapi.DecodeBilling(readBilling(b))
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if !bl.CheckFeatureAccess("csv_export") || bl.Price("api_overage") == nil || !bl.HasPurchased("pro") {
			b.Fatal("helper failed")
		}
	}
}

// TestBillingBody: a body's members are found as encoding/json would decode them (escaped
// keys unquoted, the last of repeated keys), and only one JSON object is accepted.
func TestBillingBody(t *testing.T) {
	t.Parallel()
	b, err := flowgladapi.ParseBillingBody([]byte(` {"customer": {"id": "c1"}, "a\u0062c": [1, 2],
		"customer": {"id": "c2"}, "none": null} `))
	require.NoError(t, err)
	assert.Equal(t, `{"id": "c2"}`, string(b.Member("customer")), "the last one counts")
	assert.Equal(t, `[1, 2]`, string(b.Member("abc")), "an escaped key is compared unquoted")
	assert.Equal(t, `null`, string(b.Member("none")))
	assert.Nil(t, b.Member("missing"))

	for _, bad := range []string{``, `[]`, `{"a": 1`, `{"a": 1} {}`, `"x"`, `{"a": 01}`} {
		_, err := flowgladapi.ParseBillingBody([]byte(bad))
		assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse, "%q", bad)
	}
}

// TestGetBillingBodyAfterRetry: the members are those of the body returned, not of a
// garbled answer retried before it.
func TestGetBillingBodyAfterRetry(t *testing.T) {
	t.Parallel()
	c, s := newStub(t, sequence(
		jsonReply(200, `{"customer": {"id": "garbled"}, "pricingModel": {`),
		jsonReply(200, `{"customer": {"id": "good"}}`)),
		flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{MaxRetries: 1, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	b, err := c.GetBillingBody(t.Context(), "u1")
	require.NoError(t, err)
	assert.Len(t, s.requests(), 2)
	assert.Equal(t, `{"id": "good"}`, string(b.Member("customer")))
	assert.Nil(t, b.Member("pricingModel"))

	c, _ = newStub(t, jsonReply(200, `["not", "an", "object"]`))
	_, err = c.GetBillingBody(t.Context(), "u1")
	assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse)
}
