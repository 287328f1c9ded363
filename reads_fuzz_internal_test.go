package flowglad

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
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

// checkRefusal checks the error of a decoder: nil, or a 400 invalid_body with issues.
func checkRefusal(t *testing.T, body []byte, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("%q: error %T is not *Error: %v", body, err, err)
	}
	if ae.Status != http.StatusBadRequest || ae.Code != CodeInvalidBody {
		t.Fatalf("%q: refused with %d %s", body, ae.Status, ae.Code)
	}
	issues, _ := ae.Details["issues"].([]Issue)
	if len(issues) == 0 {
		t.Fatalf("%q: refused without issues", body)
	}
	for _, is := range issues {
		if is.Message == "" {
			t.Fatalf("%q: an issue without a message at %q", body, is.Path)
		}
	}
	if ae.Message == "" {
		t.Fatalf("%q: refused without a message", body)
	}
	return true
}

// members decodes an accepted body as the object it must be ({} when empty).
func members(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	m := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) == 0 {
		return m
	}
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		t.Fatalf("%q was accepted but is not a JSON object", body)
	}
	return m
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

// decodeTwice runs a decoder twice and checks it is deterministic.
func decodeTwice[T any](t *testing.T, body []byte, decode func([]byte) (T, error)) (T, error) {
	t.Helper()
	in, err := decode(body)
	in2, err2 := decode(bytes.Clone(body))
	if (err == nil) != (err2 == nil) || !reflect.DeepEqual(in, in2) {
		t.Fatalf("%q: decoding is not deterministic", body)
	}
	if err != nil && err.Error() != err2.Error() {
		t.Fatalf("%q: error is not deterministic: %v / %v", body, err, err2)
	}
	return in, err
}

func notBlank(s string) bool { return strings.TrimSpace(s) != "" }

func addSeeds(f *testing.F) {
	for _, s := range seedBodies {
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
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeTwice(t, body, decodeResourceUsages)
		if checkRefusal(t, body, err) {
			return
		}
		m := members(t, body)
		checkOptionalID(t, body, m, "subscriptionId", in.SubscriptionID)
	})
}

func FuzzDecodeResourceUsage(f *testing.F) {
	addSeeds(f)
	f.Add([]byte(`{"resourceId": "res_1", "subscriptionId": "sub_1"}`))
	f.Add([]byte(`{"resourceSlug": "seats", "resourceId": null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeTwice(t, body, decodeResourceUsage)
		if checkRefusal(t, body, err) {
			return
		}
		m := members(t, body)
		checkOptionalID(t, body, m, "subscriptionId", in.SubscriptionID)
		_, hasSlug := m["resourceSlug"]
		_, hasID := m["resourceId"]
		if hasSlug == hasID || notBlank(in.ResourceSlug) == notBlank(in.ResourceID) {
			t.Fatalf("%q: accepted without exactly one of resourceSlug and resourceId: %+v", body, in)
		}
	})
}

func FuzzDecodeResourceClaims(f *testing.F) {
	addSeeds(f)
	f.Add([]byte(`{"resourceSlug": ""}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeTwice(t, body, decodeResourceClaims)
		if checkRefusal(t, body, err) {
			return
		}
		m := members(t, body)
		checkOptionalID(t, body, m, "subscriptionId", in.SubscriptionID)
		checkOptionalID(t, body, m, "resourceSlug", in.ResourceSlug)
	})
}

// checkMetadata checks accepted metadata values: strings of at most 500 characters, numbers
// or booleans.
func checkMetadata(t *testing.T, body []byte, md map[string]any) {
	t.Helper()
	for k, v := range md {
		switch v := v.(type) {
		case string:
			if utf8.RuneCountInString(v) > 500 {
				t.Fatalf("%q: metadata %q longer than 500 characters", body, k)
			}
		case json.Number:
			if _, err := v.Float64(); err != nil {
				t.Fatalf("%q: metadata %q = %s is not a finite number", body, k, v)
			}
		case bool:
		default:
			t.Fatalf("%q: metadata %q of type %T accepted", body, k, v)
		}
	}
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

func FuzzDecodeClaim(f *testing.F) {
	addSeeds(f)
	f.Add([]byte(`{"resourceSlug": "seats", "externalIds": ["a", "b"], "metadata": {"n": 1e3, "ok": true}}`))
	f.Add([]byte(`{"resourceSlug": "seats", "externalId": "a", "metadata": {"x": {}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeTwice(t, body, decodeClaim)
		if checkRefusal(t, body, err) {
			return
		}
		m := members(t, body)
		checkOptionalID(t, body, m, "subscriptionId", in.SubscriptionID)
		if !notBlank(in.ResourceSlug) {
			t.Fatalf("%q: accepted without a resourceSlug", body)
		}
		checkModes(t, body, m, map[string]bool{"quantity": in.Quantity != 0, "externalId": in.ExternalID != "", "externalIds": len(in.ExternalIDs) > 0})
		if in.Quantity < 0 || in.Quantity > 1<<53-1 {
			t.Fatalf("%q: quantity %d accepted", body, in.Quantity)
		}
		checkIDs(t, body, append([]string{}, in.ExternalIDs...), 255)
		if in.ExternalID != "" {
			checkIDs(t, body, []string{in.ExternalID}, 255)
		}
		if _, ok := m["metadata"]; ok != (in.Metadata != nil) {
			t.Fatalf("%q: metadata present=%v decoded=%v", body, ok, in.Metadata != nil)
		}
		checkMetadata(t, body, in.Metadata)
	})
}

func FuzzDecodeRelease(f *testing.F) {
	addSeeds(f)
	f.Add([]byte(`{"resourceSlug": "seats", "claimIds": ["claim_1"]}`))
	f.Add([]byte(`{"resourceSlug": "seats", "externalId": "a", "claimIds": []}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeTwice(t, body, decodeRelease)
		if checkRefusal(t, body, err) {
			return
		}
		m := members(t, body)
		checkOptionalID(t, body, m, "subscriptionId", in.SubscriptionID)
		if !notBlank(in.ResourceSlug) {
			t.Fatalf("%q: accepted without a resourceSlug", body)
		}
		checkModes(t, body, m, map[string]bool{"quantity": in.Quantity != 0, "externalId": in.ExternalID != "",
			"externalIds": len(in.ExternalIDs) > 0, "claimIds": len(in.ClaimIDs) > 0})
		if in.Quantity < 0 {
			t.Fatalf("%q: quantity %d accepted", body, in.Quantity)
		}
		checkIDs(t, body, in.ExternalIDs, 255)
		checkIDs(t, body, in.ClaimIDs, 255)
		if in.ExternalID != "" {
			checkIDs(t, body, []string{in.ExternalID}, 255)
		}
	})
}

func FuzzDecodeSubscriptionFilter(f *testing.F) {
	addSeeds(f)
	f.Add([]byte(`{"subscriptionId": "sub_1", "x": 1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := decodeTwice(t, body, decodeSubscriptionFilter)
		if checkRefusal(t, body, err) {
			return
		}
		m := members(t, body)
		onlyKeys(t, body, m, "subscriptionId")
		checkOptionalID(t, body, m, "subscriptionId", id)
	})
}

func FuzzDecodeEmpty(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := decodeTwice(t, body, func(b []byte) (struct{}, error) { return struct{}{}, decodeEmpty(b) })
		if checkRefusal(t, body, err) {
			return
		}
		if m := members(t, body); len(m) != 0 {
			t.Fatalf("%q: accepted with members", body)
		}
	})
}

func FuzzDecodePage(f *testing.F) {
	addSeeds(f)
	f.Add([]byte(`{"limit": 1e2}`))
	f.Add([]byte(`{"limit": -0}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeTwice(t, body, decodePage)
		if checkRefusal(t, body, err) {
			return
		}
		m := members(t, body)
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
