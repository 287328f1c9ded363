package billingread

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIndexBilling: the narrow view reads the customer and the subscriptions wherever they
// are, tolerates nulls, and refuses members of the wrong type, as the typed view does.
func TestIndexBilling(t *testing.T) {
	x, err := indexJSON(`{"pricingModel": {"products": [{"id": "p", "prices": [{"id": "\"}"}]}]},
		"customer": {"id": "cus_1", "name": null},
		"subscriptions": [{"id": "s_old", "customerId": "cus_1", "status": "canceled"}],
		"currentSubscriptions": [{"id": "s_1", "customerId": "cus_1", "status": "active", "experimental": {"featureItems": [{"slug": "x"}]}}],
		"currentSubscription": {"id": "s_1", "customerId": "cus_1", "status": "active"}}`)
	require.NoError(t, err)
	assert.Equal(t, "cus_1", x.CustomerID)
	assert.Equal(t, "canceled", x.Subscription("s_old").Status)
	assert.Equal(t, "active", x.Subscription("s_1").Status, "found among the current ones")
	assert.Nil(t, x.Subscription(""))
	assert.Nil(t, x.Subscription("s_other"))
	assert.Nil(t, x.CurrentByID("s_old"), "not current")
	require.NotNil(t, x.Primary)
	sub, err := x.CurrentByID("s_1").Decode()
	require.NoError(t, err)
	assert.Equal(t, "s_1", sub.ID)
	assert.Equal(t, "x", sub.FeatureItems[0].Slug, "the whole subscription decodes from its bytes")

	x, err = indexJSON(`{"customer": null, "currentSubscription": null, "subscriptions": null}`)
	require.NoError(t, err)
	assert.Empty(t, x.CustomerID)
	assert.Nil(t, x.Primary)

	onlyPrimary, err := indexJSON(`{"currentSubscription": {"id": "s_9"}}`)
	require.NoError(t, err)
	assert.Equal(t, "s_9", onlyPrimary.Subscription("s_9").ID)

	for _, bad := range []string{
		`[]`,
		`{"customer": "cus_1"}`,
		`{"customer": {"id": 7}}`,
		`{"subscriptions": {"id": "s"}}`,
		`{"subscriptions": ["s"]}`,
		`{"currentSubscriptions": [{"status": true}]}`,
		`{"currentSubscription": 1}`,
	} {
		_, err := indexJSON(bad)
		assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse, bad)
	}
	_, err = (&SubscriptionRef{Raw: []byte(`{"id": 1}`)}).Decode()
	assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse)
}

// TestSharedStoreRefusesForeignBodies: what a shared cache returns is used only when it is
// one JSON object (what the loader stored); anything else is forgotten and read again.
func TestSharedStoreRefusesForeignBodies(t *testing.T) {
	cache := newMapCache()
	st := NewSharedStore(cache, time.Second, NewEntry)
	for _, body := range []string{``, `   `, `[1]`, `{"a":`, `null`} {
		require.NoError(t, cache.Set(t.Context(), "k", []byte(body), 0))
		e, found, err := st.get(t.Context(), "k")
		require.NoError(t, err)
		assert.False(t, found, "%q", body)
		assert.Nil(t, e, "%q", body)
		_, stored, _ := cache.Get(t.Context(), "k")
		assert.False(t, stored, "%q was deleted", body)
	}
	require.NoError(t, cache.Set(t.Context(), "k", []byte(` {"customer": {}}`), 0))
	e, found, err := st.get(t.Context(), "k")
	require.NoError(t, err)
	require.True(t, found)
	require.NotNil(t, e)
}

// indexJSON indexes a body as the loader does: members located when it is checked.
func indexJSON(raw string) (*Index, error) {
	body, err := flowgladapi.ParseBillingBody([]byte(raw))
	if err != nil {
		return nil, err
	}
	return indexBilling(body)
}

// BenchmarkIndexBilling: checking a compact, realistic billing body and building its
// narrow view.
func BenchmarkIndexBilling(b *testing.B) {
	pretty, err := os.ReadFile("../../flowgladapi/testdata/billing.json")
	require.NoError(b, err)
	var buf bytes.Buffer
	require.NoError(b, json.Compact(&buf, pretty))
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		body, err := flowgladapi.ParseBillingBody(buf.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := indexBilling(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEntryViews: what each view of a realistic billing body costs to decode: the
// whole typed view (Service.Billing), the current subscriptions (the middleware's gates,
// features/access) and the narrow index (ownership checks).
func BenchmarkEntryViews(b *testing.B) {
	pretty, err := os.ReadFile("../../flowgladapi/testdata/billing.json")
	require.NoError(b, err)
	var buf bytes.Buffer
	require.NoError(b, json.Compact(&buf, pretty))
	body, err := flowgladapi.ParseBillingBody(buf.Bytes())
	require.NoError(b, err)
	for name, view := range map[string]func(e *Entry) error{
		"typed":   func(e *Entry) error { _, err := e.Typed(); return err },
		"current": func(e *Entry) error { _, err := e.Current(); return err },
		"index":   func(e *Entry) error { _, err := e.Index(); return err },
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := view(NewEntry(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBillingMembers: a member is decoded as DecodeBilling decodes that field, alone; a
// member of the wrong type is Flowglad's fault (ErrInvalidResponse) and absent or null ones
// are zero.
func TestBillingMembers(t *testing.T) {
	good := entryOf(t, `{"invoices": [{"invoice": {"id": "inv_1"}}], "billingPortalUrl": null,
		"currentSubscriptions": [{"id": "s_1", "experimental": {"featureItems": [{"type": "toggle", "slug": "sso"}]}}]}`)
	invoices, err := Member[[]flowgladapi.Invoice](good, "invoices")
	require.NoError(t, err)
	require.Len(t, invoices, 1)
	assert.Equal(t, "inv_1", invoices[0].ID)
	portal, err := Member[*string](good, "billingPortalUrl")
	require.NoError(t, err)
	assert.Nil(t, portal)
	purchases, err := Member[[]flowgladapi.Purchase](good, "purchases")
	require.NoError(t, err)
	assert.Nil(t, purchases, "absent")
	current, err := good.Current()
	require.NoError(t, err)
	require.Len(t, current, 1)
	assert.True(t, current[0].HasFeature("sso"), "feature items as the typed view reads them")

	none, err := entryOf(t, `{}`).Current()
	require.NoError(t, err)
	assert.Equal(t, []flowgladapi.Subscription{}, none, "no current subscriptions: empty, not nil")

	bad := entryOf(t, `{"invoices": 1, "currentSubscriptions": "x"}`)
	_, err = Member[[]flowgladapi.Invoice](bad, "invoices")
	assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse)
	_, err = bad.Current()
	assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse)
}

// refSeeds are subscription lists whose ids, customers and statuses the index must read as
// encoding/json decodes them: escapes in some fields and not others, repeated keys, nulls,
// strings longer than the index's stack buffer.
var refSeeds = []string{
	`[{"id":"s_1","customerId":"cus_1","status":"active"}]`,
	`[{"id":"s\u00e9","customerId":"cus_1","status":"a\"b"},{"status":"x","id":"s_2"}]`,
	`[{"id":"a","id":"b","id":null,"customerId":null,"status":"\ud83d\ude00"}]`,
	`[{"id":"` + strings.Repeat("x", 200) + `","customerId":"` + strings.Repeat("c", 90) + `","status":"\n"}]`,
	`[{"\u0069d":"escaped key","other":"y"},{}]`,
	`[]`,
}

// TestSubscriptionRefsAsDecoded: each ref's strings are what encoding/json decodes.
func TestSubscriptionRefsAsDecoded(t *testing.T) {
	for _, s := range refSeeds {
		checkRefs(t, []byte(s))
	}
}

// FuzzSubscriptionRefs holds SubscriptionRefs to encoding/json on any list of subscriptions
// in valid UTF-8 (without escapes, invalid UTF-8 is read as it is sent, where encoding/json
// replaces it).
func FuzzSubscriptionRefs(f *testing.F) {
	for _, s := range refSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkRefs(t, body) })
}

func checkRefs(t *testing.T, body []byte) {
	want, ok := decodeRefs(body)
	if !ok {
		return
	}
	refs, bad := SubscriptionRefs(body)
	require.False(t, bad, "%s", body)
	require.Len(t, refs, len(want), "%s", body)
	for i, w := range want {
		assert.Equal(t, w, [3]string{refs[i].ID, refs[i].CustomerID, refs[i].Status}, "%s", body)
	}
}

// decodeRefs decodes each subscription's id, customerId and status with encoding/json:
// the keys compared exactly (a struct's fields would match any case), the last string of
// a repeated key kept, a null ignored. False when body is not valid UTF-8, not an array of
// objects, or one of the three is neither a string nor null.
func decodeRefs(body []byte) ([][3]string, bool) {
	var elems []json.RawMessage
	if !utf8.Valid(body) || json.Unmarshal(body, &elems) != nil || body[0] != '[' {
		return nil, false
	}
	out := make([][3]string, len(elems))
	for i, raw := range elems {
		if raw[0] != '{' {
			return nil, false
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		_, _ = dec.Token() // {
		for dec.More() {
			tok, _ := dec.Token()
			var v json.RawMessage
			if dec.Decode(&v) != nil {
				return nil, false
			}
			j := slices.Index([]string{"id", "customerId", "status"}, tok.(string))
			if j < 0 || string(v) == "null" {
				continue
			}
			if json.Unmarshal(v, &out[i][j]) != nil {
				return nil, false
			}
		}
	}
	return out, true
}
