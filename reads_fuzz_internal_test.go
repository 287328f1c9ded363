package flowglad

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The decoders turn browser bodies into inputs. Whatever the bytes, they must not panic,
// must be deterministic, must refuse with a 400 invalid_body listing at least one issue, and
// what they accept must satisfy the rules the actions rely on.

// seedBodies are shared starting points; each target's corpus in testdata/fuzz adds its own.
var seedBodies = []string{
	``, ` `, `{}`, `null`, `[]`, `"x"`, `{"a":`, `{}{}`, `{"subscriptionId": "sub_1"}`, `{"subscriptionId": ""}`,
	`{"subscriptionId": null}`, `{"resourceSlug": "seats", "quantity": 1}`, `{"limit": 2, "startingAfter": "inv_1"}`,
}

// onlyKeys fails unless every member of m is one of allowed.
func onlyKeys(t *testing.T, body []byte, m map[string]json.RawMessage, allowed ...string) {
	t.Helper()
	for k := range m {
		found := false
		for _, a := range allowed {
			found = found || k == a
		}
		if !found {
			t.Fatalf("%q: strict decoder accepted unknown member %q", body, k)
		}
	}
}

func notBlank(s string) bool { return strings.TrimSpace(s) != "" }

// addSeeds adds the shared seed bodies and extra to f's corpus.
func addSeeds(f *testing.F, extra ...string) {
	for _, s := range slices.Concat(seedBodies, extra) {
		f.Add([]byte(s))
	}
}

// checkOptionalID checks a member that, when present, must have been a non-blank string.
func checkOptionalID(t *testing.T, body []byte, m map[string]json.RawMessage, key, got string) {
	t.Helper()
	raw, ok := m[key]
	if !ok {
		if got != "" {
			t.Fatalf("%q: %s %q out of nowhere", body, key, got)
		}
		return
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || !notBlank(s) || s != got {
		t.Fatalf("%q: %s accepted as %q from %s", body, key, got, raw)
	}
}

func FuzzDecodeResourceUsages(f *testing.F) {
	addSeeds(f)
	fuzzDecoder(f, decodeResourceUsages, func(t *testing.T, body []byte, in ResourceUsagesParams, m map[string]json.RawMessage) {
		checkOptionalID(t, body, m, "subscriptionId", in.SubscriptionID)
	})
}

func FuzzDecodeResourceUsage(f *testing.F) {
	addSeeds(f, `{"resourceId": "res_1", "subscriptionId": "sub_1"}`, `{"resourceSlug": "seats", "resourceId": null}`)
	fuzzDecoder(f, decodeResourceUsage, func(t *testing.T, body []byte, in ResourceUsageParams, m map[string]json.RawMessage) {
		checkOptionalID(t, body, m, "subscriptionId", in.SubscriptionID)
		_, hasSlug := m["resourceSlug"]
		_, hasID := m["resourceId"]
		if hasSlug == hasID || notBlank(in.ResourceSlug) == notBlank(in.ResourceID) {
			t.Fatalf("%q: accepted without exactly one of resourceSlug and resourceId: %+v", body, in)
		}
	})
}

func FuzzDecodeResourceClaims(f *testing.F) {
	addSeeds(f, `{"resourceSlug": ""}`)
	fuzzDecoder(f, decodeResourceClaims, func(t *testing.T, body []byte, in ResourceClaimsParams, m map[string]json.RawMessage) {
		checkOptionalID(t, body, m, "subscriptionId", in.SubscriptionID)
		checkOptionalID(t, body, m, "resourceSlug", in.ResourceSlug)
	})
}

// checkModes checks that exactly one claim/release mode was taken, and only from a member
// that was present.
func checkModes(t *testing.T, body []byte, m map[string]json.RawMessage, set map[string]bool) {
	t.Helper()
	n := 0
	for key, isSet := range set {
		_, present := m[key]
		if present {
			n++
		}
		if isSet != present {
			t.Fatalf("%q: mode %s set=%v but present=%v", body, key, isSet, present)
		}
	}
	if n != 1 {
		t.Fatalf("%q: accepted with %d modes", body, n)
	}
}

func checkIDs(t *testing.T, body []byte, ids []string, max int) {
	t.Helper()
	for _, id := range ids {
		if !notBlank(id) || utf8.RuneCountInString(id) > max {
			t.Fatalf("%q: id %q accepted", body, id)
		}
	}
}

// acceptedUnits is what an accepted claim or release says about the units it names.
type acceptedUnits struct {
	subscriptionID, resourceSlug string
	quantity                     int64
	externalID                   string
	externalIDs, claimIDs        []string
}

// checkAcceptedUnits checks what claims and releases share: an optional subscription, a resource,
// exactly one way of naming units, taken from a member that was present, a quantity within
// int53 and ids of at most 255 characters.
func checkAcceptedUnits(t *testing.T, body []byte, m map[string]json.RawMessage, u acceptedUnits) {
	t.Helper()
	checkOptionalID(t, body, m, "subscriptionId", u.subscriptionID)
	if !notBlank(u.resourceSlug) {
		t.Fatalf("%q: accepted without a resourceSlug", body)
	}
	checkModes(t, body, m, map[string]bool{"quantity": u.quantity != 0, "externalId": u.externalID != "",
		"externalIds": len(u.externalIDs) > 0, "claimIds": len(u.claimIDs) > 0})
	if u.quantity < 0 || u.quantity > 1<<53-1 {
		t.Fatalf("%q: quantity %d accepted", body, u.quantity)
	}
	checkIDs(t, body, u.externalIDs, 255)
	checkIDs(t, body, u.claimIDs, 255)
	if u.externalID != "" {
		checkIDs(t, body, []string{u.externalID}, 255)
	}
}

func FuzzDecodeClaim(f *testing.F) {
	addSeeds(f, `{"resourceSlug": "seats", "externalIds": ["a", "b"], "metadata": {"n": 1e3, "ok": true}}`,
		`{"resourceSlug": "seats", "externalId": "a", "metadata": {"x": {}}}`)
	fuzzDecoder(f, decodeClaim, func(t *testing.T, body []byte, in ClaimResourceParams, m map[string]json.RawMessage) {
		checkAcceptedUnits(t, body, m, acceptedUnits{in.SubscriptionID, in.ResourceSlug, in.Quantity, in.ExternalID, in.ExternalIDs, nil})
		if _, ok := m["metadata"]; ok != (in.Metadata != nil) {
			t.Fatalf("%q: metadata present=%v decoded=%v", body, ok, in.Metadata != nil)
		}
		metadataValues(t, in.Metadata)
	})
}

func FuzzDecodeRelease(f *testing.F) {
	addSeeds(f, `{"resourceSlug": "seats", "claimIds": ["claim_1"]}`, `{"resourceSlug": "seats", "externalId": "a", "claimIds": []}`)
	fuzzDecoder(f, decodeRelease, func(t *testing.T, body []byte, in ReleaseResourceParams, m map[string]json.RawMessage) {
		checkAcceptedUnits(t, body, m, acceptedUnits{in.SubscriptionID, in.ResourceSlug, in.Quantity, in.ExternalID, in.ExternalIDs, in.ClaimIDs})
	})
}

func FuzzDecodeSubscriptionFilter(f *testing.F) {
	addSeeds(f, `{"subscriptionId": "sub_1", "x": 1}`)
	fuzzDecoder(f, decodeSubscriptionFilter, func(t *testing.T, body []byte, id string, m map[string]json.RawMessage) {
		onlyKeys(t, body, m, "subscriptionId")
		checkOptionalID(t, body, m, "subscriptionId", id)
	})
}

func FuzzDecodeEmpty(f *testing.F) {
	addSeeds(f)
	decode := func(b []byte) (struct{}, error) { return struct{}{}, decodeEmpty(b) }
	fuzzDecoder(f, decode, func(t *testing.T, body []byte, _ struct{}, m map[string]json.RawMessage) {
		if len(m) != 0 {
			t.Fatalf("%q: accepted with members", body)
		}
	})
}

func FuzzDecodePage(f *testing.F) {
	addSeeds(f, `{"limit": 1e2}`, `{"limit": -0}`)
	fuzzDecoder(f, decodePage, func(t *testing.T, body []byte, in pageInput, m map[string]json.RawMessage) {
		onlyKeys(t, body, m, "limit", "startingAfter")
		if _, ok := m["limit"]; ok != (in.Limit != nil) {
			t.Fatalf("%q: limit present=%v decoded=%v", body, ok, in.Limit != nil)
		}
		if in.Limit != nil && *in.Limit < 0 {
			t.Fatalf("%q: negative limit %d accepted", body, *in.Limit)
		}
		if raw, ok := m["startingAfter"]; ok {
			var s string
			if json.Unmarshal(raw, &s) != nil || s != in.StartingAfter {
				t.Fatalf("%q: startingAfter %q accepted from %s", body, in.StartingAfter, raw)
			}
		} else if in.StartingAfter != "" {
			t.Fatalf("%q: startingAfter out of nowhere", body)
		}
	})
}
