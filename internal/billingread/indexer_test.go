package billingread

import (
	"os"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// indexerSeeds are billing bodies, good and bad, that the Indexer and indexBilling must read
// alike.
var indexerSeeds = []string{
	`{"pricingModel": {"products": [{"id": "p", "prices": [{"id": "\"}"}]}]},
		"customer": {"id": "cus_1", "name": null},
		"subscriptions": [{"id": "s_old", "customerId": "cus_1", "status": "canceled"}],
		"currentSubscriptions": [{"id": "s_1", "customerId": "cus_1", "status": "active", "experimental": {"featureItems": [{"slug": "x"}]}}],
		"currentSubscription": {"id": "s_1", "customerId": "cus_1", "status": "active"}}`,
	`{"customer": null, "currentSubscription": null, "subscriptions": null}`,
	`{"currentSubscription": {"id": "s_9"}}`,
	`{"customer": {"id": "a", "id": "b"}, "customer": {"id": "c"}}`,
	`{"subscriptions": [{"id": "a"}], "subscriptions": [{"id": "b"}, {"id": null, "status": "x"}]}`,
	`{"customer": "cus_1"}`,
	`{"customer": {"id": 7}}`,
	`{"subscriptions": {"id": "s"}}`,
	`{"subscriptions": ["s"]}`,
	`{"currentSubscriptions": [{"status": true}]}`,
	`{"currentSubscription": 1}`,
	`{"currentSubscription": {"id": "s_1", "status": ["x"]}}`,
	`{"currentSubscriptions": [{"id": "s\u00e9\n"}], "customer": {"id": "\ud83d\ude00"}}`,
}

// checkIndexer reads body with an Indexer in the pass that checks it and with indexBilling
// afterwards: the same index, or both an error.
func checkIndexer(t *testing.T, body []byte) {
	var ix Indexer
	parsed, err := flowgladapi.ParseBillingBodyVisit(body, &ix)
	if err != nil {
		return // not a billing body: nothing is indexed
	}
	want, wantErr := indexBilling(parsed)
	got, gotErr := ix.index()
	if wantErr != nil {
		assert.Error(t, gotErr, "%s", body)
		return
	}
	require.NoError(t, gotErr, "%s", body)
	assert.Equal(t, want, got, "%s", body)
}

// TestIndexerReadsWhatIndexBillingReads: the index read in the pass that checks a body is
// the one a walk of its own reads afterwards, on hand-made bodies and Flowglad's realistic one.
func TestIndexerReadsWhatIndexBillingReads(t *testing.T) {
	for _, s := range indexerSeeds {
		checkIndexer(t, []byte(s))
	}
	real, err := os.ReadFile("../../flowgladapi/testdata/billing.json")
	require.NoError(t, err)
	checkIndexer(t, real)
}

// FuzzIndexer holds the Indexer to indexBilling on any input.
func FuzzIndexer(f *testing.F) {
	for _, s := range indexerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkIndexer(t, body) })
}

// TestSetIndexFrom: an entry takes the index an Indexer read only from its own body's visit.
func TestSetIndexFrom(t *testing.T) {
	body := []byte(`{"customer": {"id": "cus_1"}, "currentSubscriptions": [{"id": "s_1"}]}`)
	var ix Indexer
	parsed, err := flowgladapi.ParseBillingBodyVisit(body, &ix)
	require.NoError(t, err)
	ix.x.CustomerID = "from the visit" // tells the visit's index from a walk's

	other := NewEntry(parsed)
	other.SetIndexFrom(&ix) // ix.Body not set: not known to be this body's
	x, err := other.Index()
	require.NoError(t, err)
	assert.Equal(t, "cus_1", x.CustomerID)

	ix.Body = parsed
	e := NewEntry(parsed)
	e.SetIndexFrom(&ix)
	x, err = e.Index()
	require.NoError(t, err)
	assert.Equal(t, "from the visit", x.CustomerID)
	assert.Equal(t, "s_1", x.Current[0].ID)

	last, err := flowgladapi.ParseBillingBody(body)
	require.NoError(t, err)
	e = NewEntry(last) // another body (last-known billing, say)
	e.SetIndexFrom(&ix)
	x, err = e.Index()
	require.NoError(t, err)
	assert.Equal(t, "cus_1", x.CustomerID)
	e.SetIndexFrom(nil)
}
