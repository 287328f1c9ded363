package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary headers and bodies to the verifier: it must
// not panic, and it may accept only a delivery that carries the right v1
// signature of exactly what it was given.
func FuzzVerify(f *testing.F) {
	key := []byte("fuzzing key, 24 bytes!!!")
	now := time.Unix(1767225600, 0)
	body := []byte(`{"id":"sub_1","object":"subscription"}`)
	f.Add("msg_1", "1767225600", "v1,"+string(signature(key, "msg_1", "1767225600", body)), body)
	f.Add("msg_1", "1767225600", "v2,abc v1,def v1,", body)
	f.Add("", "", "", []byte(nil))
	f.Add("msg_1", "+1767225600", "v1", []byte("{}"))
	f.Add("msg_1", "99999999999999999999", " ", []byte("{"))
	c := verifyConfig{maxAge: DefaultMaxAge, maxFuture: DefaultMaxFuture, now: func() time.Time { return now }}

	f.Fuzz(func(t *testing.T, id, ts, sigs string, payload []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sigs)
		s, err := verify(key, payload, h, c)
		if err != nil {
			return
		}
		want := "v1," + string(signature(key, id, ts, payload))
		if !strings.Contains(" "+strings.Join(strings.Fields(sigs), " ")+" ", " "+want+" ") {
			t.Fatalf("accepted %q without its signature", sigs)
		}
		if s.id != id || s.ts.Unix() < now.Add(-DefaultMaxAge).Unix() || s.ts.Unix() > now.Add(DefaultMaxFuture).Unix() {
			t.Fatalf("accepted id %q at %v", s.id, s.ts)
		}
	})
}

// FuzzSignVerify: whatever is signed verifies, and nothing else does.
func FuzzSignVerify(f *testing.F) {
	f.Add("msg_1", []byte(`{"id":"cus_1","object":"customer"}`), byte(0))
	f.Add("msg with spaces", []byte{}, byte(7))
	const secret = "whsec_Zmxvd2dsYWQtZ28gZXhhbXBsZSBrZXku"
	now := time.Unix(1767225600, 0)
	clock := WithClock(func() time.Time { return now })

	f.Fuzz(func(t *testing.T, id string, payload []byte, flip byte) {
		h, err := Sign(secret, id, now, payload)
		if id == "" {
			if err == nil {
				t.Fatal("signed an empty id")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(payload, h, secret, clock); err != nil {
			t.Fatalf("signed delivery refused: %v", err)
		}
		tampered := append([]byte{}, payload...)
		if len(tampered) == 0 {
			tampered = append(tampered, flip)
		} else {
			tampered[int(flip)%len(tampered)] ^= 1 << (flip % 8)
		}
		if err := Verify(tampered, h, secret, clock); err == nil {
			t.Fatal("tampered delivery accepted")
		}
	})
}
