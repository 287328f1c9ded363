package flowgladapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecodeModels: each decoder reads its typed fields (times from epoch milliseconds),
// keeps the object's bytes in Raw, and refuses a body without the object.
func TestDecodeModels(t *testing.T) {
	t.Parallel()
	const ms = 1767225600000
	when := time.UnixMilli(ms).UTC()

	t.Run("customer, plain and wrapped", func(t *testing.T) {
		for _, body := range []string{
			`{"customer": {"id": "cus_1", "externalId": "u1", "email": "a@example.com", "archived": true, "createdAt": 1767225600000}}`,
			`{"data": {"customer": {"id": "cus_1", "externalId": "u1", "email": "a@example.com", "archived": true, "createdAt": 1767225600000}}}`,
		} {
			c, err := flowgladapi.DecodeCustomer([]byte(body))
			require.NoError(t, err)
			assert.Equal(t, "cus_1", c.ID)
			assert.True(t, c.Archived)
			assert.Equal(t, when, c.CreatedAt)
			assert.JSONEq(t, `{"id": "cus_1", "externalId": "u1", "email": "a@example.com", "archived": true, "createdAt": 1767225600000}`, string(c.Raw))
		}
	})
	t.Run("checkout session", func(t *testing.T) {
		cs, err := flowgladapi.DecodeCheckoutSession([]byte(`{"checkoutSession": {"id": "cs_1", "type": "product", "status": "open", "quantity": 2, "expires": 1767225600000}, "url": "https://pay.example/cs_1"}`))
		require.NoError(t, err)
		assert.Equal(t, "cs_1", cs.ID)
		assert.Equal(t, "https://pay.example/cs_1", cs.URL)
		assert.Equal(t, flowgladapi.CheckoutSessionProduct, cs.Type)
		assert.Equal(t, int64(2), cs.Quantity)
		assert.Equal(t, when, cs.Expires)
	})
	t.Run("usage events", func(t *testing.T) {
		ev, err := flowgladapi.DecodeUsageEvent([]byte(`{"usageEvent": {"id": "ue_1", "amount": 3, "transactionId": "tx", "usageDate": 1767225600000}}`))
		require.NoError(t, err)
		assert.Equal(t, int64(3), ev.Amount)
		assert.Equal(t, when, ev.UsageDate)
		evs, err := flowgladapi.DecodeUsageEvents([]byte(`{"usageEvents": [{"id": "ue_1"}, {"id": "ue_2"}]}`))
		require.NoError(t, err)
		assert.Len(t, evs, 2)
	})
	t.Run("balances", func(t *testing.T) {
		bs, err := flowgladapi.DecodeUsageMeterBalances([]byte(`{"usageMeterBalances": [{"slug": "api", "availableBalance": 9.5}]}`))
		require.NoError(t, err)
		assert.InDelta(t, 9.5, bs[0].AvailableBalance, 0)
	})
	t.Run("resource claims", func(t *testing.T) {
		rc, err := flowgladapi.DecodeResourceClaims([]byte(`{"releasedClaims": [{"id": "c1", "externalId": null, "claimedAt": 1767225600000, "releasedAt": 1767225600000}], "usage": {"resourceSlug": "seats", "capacity": 5, "claimed": 0, "available": 5}}`), "releasedClaims")
		require.NoError(t, err)
		require.Len(t, rc.Claims, 1)
		assert.Empty(t, rc.Claims[0].ExternalID, "null is no name")
		assert.Equal(t, when, rc.Claims[0].ReleasedAt)
		assert.Equal(t, int64(5), rc.Usage.Available)
	})

	t.Run("resource lists and the pricing model", func(t *testing.T) {
		us, err := flowgladapi.DecodeResourceUsages([]byte(`[{"usage": {"resourceSlug": "seats", "capacity": 5, "claimed": 1, "available": 4}, "claims": []}, {"claims": []}]`))
		require.NoError(t, err)
		require.Len(t, us, 1, "an element without usage is skipped")
		assert.Equal(t, int64(4), us[0].Available)
		cs, err := flowgladapi.DecodeResourceClaimList([]byte(`{"claims": [{"id": "c1", "externalId": "e1"}]}`))
		require.NoError(t, err)
		require.Len(t, cs, 1)
		assert.Equal(t, "e1", cs[0].ExternalID)
		pm, err := flowgladapi.DecodePricingModel([]byte(`{"pricingModel": {"id": "pm_1", "products": []}}`))
		require.NoError(t, err)
		assert.Equal(t, "pm_1", pm.ID)
	})

	refusals := []struct {
		name   string
		decode func([]byte) error
		bodies []string
	}{
		{"customer", func(b []byte) error { _, err := flowgladapi.DecodeCustomer(b); return err },
			[]string{``, `[]`, `{}`, `{"customer": {"name": "no id"}}`, `{"customer": 1}`}},
		{"checkout session", func(b []byte) error { _, err := flowgladapi.DecodeCheckoutSession(b); return err },
			[]string{`[]`, `{"url": "https://x"}`, `{"checkoutSession": {"id": "cs"}}`, `{"checkoutSession": {"id": "cs"}, "url": "javascript:alert(1)"}`}},
		{"usage event", func(b []byte) error { _, err := flowgladapi.DecodeUsageEvent(b); return err },
			[]string{`[]`, `{}`, `{"usageEvent": {}}`, `{"usageEvent": 1}`}},
		{"usage events", func(b []byte) error { _, err := flowgladapi.DecodeUsageEvents(b); return err },
			[]string{`{}`, `{"usageEvents": {}}`}},
		{"balances", func(b []byte) error { _, err := flowgladapi.DecodeUsageMeterBalances(b); return err },
			[]string{`{}`, `{"usageMeterBalances": "x"}`}},
		{"resource usages", func(b []byte) error { _, err := flowgladapi.DecodeResourceUsages(b); return err },
			[]string{``, `{}`, `[{"usage": 1}]`, `"x"`, `null`}},
		{"claim list", func(b []byte) error { _, err := flowgladapi.DecodeResourceClaimList(b); return err },
			[]string{`[]`, `{}`, `{"claims": {}}`, `{"claims": null}`}},
		{"pricing model", func(b []byte) error { _, err := flowgladapi.DecodePricingModel(b); return err },
			[]string{`[]`, `{}`, `{"pricingModel": null}`, `{"pricingModel": 1}`}},
		{"claims", func(b []byte) error { _, err := flowgladapi.DecodeResourceClaims(b, "claims"); return err },
			[]string{`{}`, `{"claims": []}`, `{"claims": [], "usage": 1}`, `{"claims": {}, "usage": {}}`}},
	}
	for _, tc := range refusals {
		for _, body := range tc.bodies {
			assert.ErrorIs(t, tc.decode([]byte(body)), flowgladapi.ErrInvalidResponse, "%s: %s", tc.name, body)
		}
	}
}

// TestModelsMarshalAsSent: a decoded value marshals as Flowglad's bytes, so relaying it
// never re-encodes; a value built in Go marshals its fields.
func TestModelsMarshalAsSent(t *testing.T) {
	t.Parallel()
	b, err := flowgladapi.DecodeBilling([]byte(`{"customer": {"id": "c", "future": 1},
		"subscriptions": [{"id": "s", "experimental": {"featureItems": [{"slug": "f", "type": "toggle", "x": 1}], "usageMeterBalances": [{"slug": "m", "x": 1}]}}],
		"pricingModel": {"id": "pm", "x": 1, "products": [{"id": "p", "x": 1, "prices": [{"id": "pr", "x": 1}]}], "usageMeters": [{"id": "um", "x": 1}]},
		"purchases": [{"id": "pu", "x": 1}], "invoices": [{"invoice": {"id": "inv"}, "x": 1}]}`))
	require.NoError(t, err)
	sub := b.Subscriptions[0]
	for _, v := range []struct {
		value any
		raw   json.RawMessage
	}{
		{b.Customer, b.Customer.Raw},
		{sub, sub.Raw},
		{sub.FeatureItems[0], sub.FeatureItems[0].Raw},
		{sub.UsageMeterBalances[0], sub.UsageMeterBalances[0].Raw},
		{b.PricingModel, b.PricingModel.Raw},
		{b.PricingModel.Products[0], b.PricingModel.Products[0].Raw},
		{b.PricingModel.Products[0].Prices[0], b.PricingModel.Products[0].Prices[0].Raw},
		{b.PricingModel.UsageMeters[0], b.PricingModel.UsageMeters[0].Raw},
		{b.Purchases[0], b.Purchases[0].Raw},
		{b.Invoices[0], b.Invoices[0].Raw},
	} {
		got, err := json.Marshal(v.value)
		require.NoError(t, err)
		assert.JSONEq(t, string(v.raw), string(got), "%T", v.value)
	}

	// Built in Go (no Raw): the typed fields, under their JSON names.
	built := []struct {
		value any
		key   string
		want  string
	}{
		{flowgladapi.Customer{ID: "c"}, "id", "c"},
		{flowgladapi.CheckoutSession{ID: "cs"}, "id", "cs"},
		{flowgladapi.UsageEvent{TransactionID: "tx"}, "transactionId", "tx"},
		{flowgladapi.ResourceUsage{ResourceSlug: "seats"}, "resourceSlug", "seats"},
		{flowgladapi.ResourceClaim{ExternalID: "u1"}, "externalId", "u1"},
	}
	for _, b := range built {
		got, err := json.Marshal(b.value)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(got, &m), "%T", b.value)
		assert.Equal(t, b.want, m[b.key], "%T", b.value)
	}
	inv, err := json.Marshal(flowgladapi.Invoice{ID: "inv"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"invoice": {"id": "inv"}}`, string(inv))

	// A checkout session decodes on its own too, times included.
	var cs flowgladapi.CheckoutSession
	require.NoError(t, json.Unmarshal([]byte(`{"id": "cs_1", "expires": 1767225600000}`), &cs))
	assert.Equal(t, time.UnixMilli(1767225600000).UTC(), cs.Expires)
	assert.JSONEq(t, `{"id": "cs_1", "expires": 1767225600000}`, string(cs.Raw))
}
