package flowglad

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// The decoders turn untrusted browser bodies into action inputs. Whatever the body, they must
// not panic; a refusal is always a 400 invalid_body *Error listing at least one issue; an
// acceptance yields an input that keeps the documented invariants. Seeds live in
// testdata/fuzz/<FuzzName>/.

// checkDecoded checks what every decoder promises and reports whether the body was accepted
// (after which body is known to be empty or one JSON object, whose members it returns). A
// refusal is a 400 invalid_body *Error with a message and issues that have messages.
// Decoding is deterministic: a second decode of a copy of body gives the same input or the
// same error.
func checkDecoded[T any](t *testing.T, body []byte, decode func([]byte) (T, error)) (T, map[string]json.RawMessage, bool) {
	t.Helper()
	in, err := decode(body)
	in2, err2 := decode(bytes.Clone(body))
	if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !reflect.DeepEqual(in, in2) {
		t.Fatalf("%q: not deterministic: %v then %v", body, err, err2)
	}
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) {
			t.Fatalf("%q: error %T is not an *Error: %v", body, err, err)
		}
		if ae.Status != http.StatusBadRequest || ae.Code != CodeInvalidBody || ae.Message == "" {
			t.Fatalf("%q: refusal is %d %q %q, want 400 invalid_body with a message", body, ae.Status, ae.Code, ae.Message)
		}
		issues, _ := ae.Details["issues"].([]Issue)
		if len(issues) == 0 {
			t.Fatalf("%q: refusal without issues: %v", body, err)
		}
		for _, is := range issues {
			if is.Message == "" {
				t.Fatalf("%q: issue %q without a message", body, is.Path)
			}
		}
		var zero T
		return zero, nil, false
	}
	members := map[string]json.RawMessage{}
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 {
		if trimmed[0] != '{' || json.Unmarshal(trimmed, &members) != nil || members == nil {
			t.Fatalf("accepted a body that is not one JSON object: %q", body)
		}
	}
	return in, members, true
}

// fuzzDecoder fuzzes decode (from the corpus and the seeds added to f) and passes every
// input it accepts, with the body and its members, to check.
func fuzzDecoder[T any](f *testing.F, decode func([]byte) (T, error), check func(t *testing.T, body []byte, in T, m map[string]json.RawMessage)) {
	f.Fuzz(func(t *testing.T, body []byte) {
		if in, m, ok := checkDecoded(t, body, decode); ok {
			check(t, body, in, m)
		}
	})
}

// absoluteHTTP is the URL rule, checked independently of the decoder's helper.
func absoluteHTTP(t *testing.T, name, s string) {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Fatalf("%s %q accepted but is not an absolute http(s) URL", name, s)
	}
}

func nonBlank(t *testing.T, name, s string) {
	t.Helper()
	if !notBlank(s) {
		t.Fatalf("%s accepted blank", name)
	}
}

func positive(t *testing.T, name string, n int64) {
	t.Helper()
	if n < 1 || n > maxSafeInteger {
		t.Fatalf("%s = %d accepted; want a positive int53", name, n)
	}
}

// exactlyOneSet checks that exactly one of vals is non-blank and that the members with the
// other names are absent from the body.
func exactlyOneSet(t *testing.T, members map[string]json.RawMessage, names []string, vals ...string) {
	t.Helper()
	set := 0
	for i, v := range vals {
		if strings.TrimSpace(v) != "" {
			set++
			continue
		}
		if _, ok := members[names[i]]; ok {
			t.Fatalf("%s present beside another identifier", names[i])
		}
	}
	if set != 1 {
		t.Fatalf("%d of %v set, want exactly one: %v", set, names, vals)
	}
}

// metadataValues checks accepted metadata values: strings of at most 500 characters, finite
// numbers or booleans.
func metadataValues(t *testing.T, m map[string]any) {
	t.Helper()
	for k, v := range m {
		switch v := v.(type) {
		case string:
			if utf8.RuneCountInString(v) > 500 {
				t.Fatalf("metadata %q longer than 500 characters accepted", k)
			}
		case json.Number:
			if _, err := v.Float64(); err != nil {
				t.Fatalf("metadata %q = %s is not a finite number", k, v)
			}
		case bool:
		default:
			t.Fatalf("metadata %q of type %T accepted", k, v)
		}
	}
}

func FuzzDecodeCheckoutSession(f *testing.F) {
	fuzzDecoder(f, decodeCheckoutSession, func(t *testing.T, _ []byte, in CheckoutSessionParams, m map[string]json.RawMessage) {
		absoluteHTTP(t, "successUrl", in.SuccessURL)
		absoluteHTTP(t, "cancelUrl", in.CancelURL)
		exactlyOneSet(t, m, []string{"priceId", "priceSlug"}, in.PriceID, in.PriceSlug)
		if _, has := m["quantity"]; has {
			positive(t, "quantity", in.Quantity)
		} else if in.Quantity != 0 {
			t.Fatalf("quantity %d out of nowhere (0 means the default)", in.Quantity)
		}
		metadataValues(t, in.OutputMetadata)
	})
}

func fuzzPaymentMethodCheckout(f *testing.F, decode func([]byte) (PaymentMethodCheckoutParams, error), targetRequired bool) {
	fuzzDecoder(f, decode, func(t *testing.T, _ []byte, in PaymentMethodCheckoutParams, m map[string]json.RawMessage) {
		absoluteHTTP(t, "successUrl", in.SuccessURL)
		absoluteHTTP(t, "cancelUrl", in.CancelURL)
		if _, has := m["targetSubscriptionId"]; has || targetRequired {
			nonBlank(t, "targetSubscriptionId", in.TargetSubscriptionID)
		} else if in.TargetSubscriptionID != "" {
			t.Fatalf("target %q out of nowhere", in.TargetSubscriptionID)
		}
		metadataValues(t, in.OutputMetadata)
	})
}

func FuzzDecodeAddPaymentMethodCheckout(f *testing.F) {
	fuzzPaymentMethodCheckout(f, decodeAddPaymentMethodCheckout, false)
}

func FuzzDecodeActivateSubscriptionCheckout(f *testing.F) {
	fuzzPaymentMethodCheckout(f, decodeActivateSubscriptionCheckout, true)
}

func FuzzDecodeCancel(f *testing.F) {
	fuzzDecoder(f, decodeCancel, func(t *testing.T, _ []byte, in CancelSubscriptionParams, _ map[string]json.RawMessage) {
		nonBlank(t, "id", in.SubscriptionID)
		if in.Timing != flowgladapi.CancelAtEndOfPeriod && in.Timing != flowgladapi.CancelImmediately {
			t.Fatalf("timing %q accepted", in.Timing)
		}
	})
}

func FuzzDecodeUncancel(f *testing.F) {
	fuzzDecoder(f, decodeUncancel, func(t *testing.T, _ []byte, in UncancelSubscriptionParams, _ map[string]json.RawMessage) {
		nonBlank(t, "id", in.SubscriptionID)
	})
}

func FuzzDecodeAdjust(f *testing.F) {
	fuzzDecoder(f, decodeAdjust, func(t *testing.T, _ []byte, in AdjustSubscriptionParams, m map[string]json.RawMessage) {
		switch in.Timing {
		case flowgladapi.AdjustAuto, flowgladapi.AdjustImmediately, flowgladapi.AdjustAtEndOfPeriod:
		case "":
			if _, has := m["timing"]; has {
				t.Fatal("an empty timing accepted")
			}
		default:
			t.Fatalf("timing %q accepted", in.Timing)
		}
		if _, has := m["prorate"]; has != (in.Prorate != nil) {
			t.Fatalf("prorate given: %v, decoded: %v", has, in.Prorate)
		}
		if len(in.Items) > 0 {
			if in.PriceSlug != "" || in.PriceID != "" {
				t.Fatal("items beside a price")
			}
			if _, has := m["quantity"]; has {
				t.Fatal("a top-level quantity accepted with subscriptionItems")
			}
			for _, it := range in.Items {
				exactlyOneSet(t, nil, []string{"priceId", "priceSlug"}, it.PriceID, it.PriceSlug)
				if it.Quantity != 0 {
					positive(t, "item quantity", it.Quantity)
				}
			}
		} else {
			exactlyOneSet(t, m, []string{"priceSlug", "priceId", "subscriptionItems"}, in.PriceSlug, in.PriceID, "")
			if in.Quantity != 0 {
				positive(t, "quantity", in.Quantity)
			}
		}
		for _, it := range in.items() {
			positive(t, "item quantity sent", it.Quantity)
		}
	})
}

func FuzzDecodeListSubscriptions(f *testing.F) {
	fuzzDecoder(f, decodeListSubscriptions, func(t *testing.T, _ []byte, in ListSubscriptionsParams, m map[string]json.RawMessage) {
		for k := range m {
			if k != "includeHistorical" {
				t.Fatalf("unknown member %q accepted by a strict action", k)
			}
		}
		if want := string(m["includeHistorical"]) == "true"; in.IncludeHistorical != want {
			t.Fatalf("includeHistorical = %v, body says %s", in.IncludeHistorical, m["includeHistorical"])
		}
	})
}

func FuzzDecodeUsageEvent(f *testing.F) {
	fuzzDecoder(f, decodeUsageEvent, func(t *testing.T, _ []byte, in UsageEventParams, m map[string]json.RawMessage) {
		exactlyOneSet(t, m, []string{"priceId", "priceSlug", "usageMeterId", "usageMeterSlug"},
			in.PriceID, in.PriceSlug, in.UsageMeterID, in.UsageMeterSlug)
		if _, has := m["amount"]; has {
			positive(t, "amount", in.Amount)
		}
		if _, has := m["transactionId"]; has {
			if in.TransactionID == "" || utf8.RuneCountInString(in.TransactionID) > 255 {
				t.Fatalf("transactionId %q accepted", in.TransactionID)
			}
		} else if in.TransactionID != "" {
			t.Fatalf("transactionId %q out of nowhere", in.TransactionID)
		}
		if _, has := m["subscriptionId"]; has {
			nonBlank(t, "subscriptionId", in.SubscriptionID)
		}
		if d := in.UsageDate; !d.IsZero() && (d.UnixMilli() < 0 || d.UnixMilli() > maxSafeInteger) {
			t.Fatalf("usageDate %v accepted", d)
		}
	})
}

func FuzzDecodeUpdateCustomer(f *testing.F) {
	fuzzDecoder(f, decodeUpdateCustomer, func(t *testing.T, _ []byte, in UpdateCustomerParams, _ map[string]json.RawMessage) {
		if in.Name == nil && in.Email == nil && in.Phone == nil && in.BillingAddress == nil {
			t.Fatal("an update that changes nothing accepted")
		}
		if in.Email != nil {
			if !strings.Contains(*in.Email, "@") || !validEmail(*in.Email) {
				t.Fatalf("email %q accepted", *in.Email)
			}
		}
		if in.BillingAddress != nil {
			var addr map[string]any
			if json.Unmarshal(in.BillingAddress, &addr) != nil || addr == nil {
				t.Fatalf("billingAddress %s is not an object", in.BillingAddress)
			}
		}
	})
}

func BenchmarkDecodeCheckoutBody(b *testing.B) {
	body := []byte(`{"successUrl": "https://app.example.com/ok", "cancelUrl": "https://app.example.com/cancel",
		"priceSlug": "pro-monthly", "quantity": 3, "type": "product", "autoRedirect": true,
		"outputMetadata": {"plan": "pro", "seats": 3, "trial": false}, "outputName": "Pro for Alice"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeCheckoutSession(body); err != nil {
			b.Fatal(err)
		}
	}
}
