package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/webhook"
)

// testKey and otherKey are HMAC keys; the secrets are what Flowglad shows.
var (
	testKey     = []byte("flowglad-go webhook key!") // 24 bytes, like Svix's keys
	otherKey    = []byte("some other endpoint's key")
	testSecret  = "whsec_" + base64.StdEncoding.EncodeToString(testKey)
	otherSecret = "whsec_" + base64.StdEncoding.EncodeToString(otherKey)
)

// testNow is the clock of these tests: 2026-01-01T00:00:00Z.
var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

// hmacSig signs like Svix, written out independently of the package: the
// base64 HMAC-SHA256 of "<id>.<ts>.<body>".
func hmacSig(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func unix(offset time.Duration) string {
	return strconv.FormatInt(testNow.Add(offset).Unix(), 10)
}

func svixHeaders(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", ts)
	h.Set("svix-signature", sig)
	return h
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"sub_1","object":"subscription","customer":{"id":"cus_1","externalId":"user_1"},"pricingModelId":"pm_1"}`)
	now := unix(0)
	good := "v1," + hmacSig(testKey, "msg_1", now, body)
	at := func(offset time.Duration) http.Header {
		ts := unix(offset)
		return svixHeaders("msg_1", ts, "v1,"+hmacSig(testKey, "msg_1", ts, body))
	}
	without := func(name string) http.Header {
		h := svixHeaders("msg_1", now, good)
		h.Del(name)
		return h
	}
	withTS := func(ts string) http.Header {
		return svixHeaders("msg_1", ts, "v1,"+hmacSig(testKey, "msg_1", ts, body))
	}

	tests := []struct {
		name        string
		header      http.Header
		body        []byte // default body
		secret      string // default testSecret, unless emptySecret
		emptySecret bool
		opts        []webhook.VerifyOption
		wantErr     error
	}{
		{name: "one valid entry", header: svixHeaders("msg_1", now, good)},
		{name: "one valid entry among several",
			header: svixHeaders("msg_1", now, "v1,"+hmacSig(otherKey, "msg_1", now, body)+" v1a,xyz  "+good+" v2,"+hmacSig(testKey, "msg_1", now, body))},
		{name: "webhook-* headers", header: http.Header{
			"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {now}, "Webhook-Signature": {good}}},
		{name: "webhook-* set used when the svix-* set is incomplete", header: http.Header{
			"Svix-Id": {"msg_1"}, "Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {now}, "Webhook-Signature": {good}}},
		{name: "sets are not mixed", wantErr: webhook.ErrMissingHeader, header: http.Header{
			"Svix-Id": {"msg_1"}, "Webhook-Timestamp": {now}, "Webhook-Signature": {good}}},
		{name: "secret without whsec_ prefix", header: svixHeaders("msg_1", now, good),
			secret: base64.StdEncoding.EncodeToString(testKey)},
		{name: "leading zeros are signed as sent", header: withTS("0" + now)},
		{name: "clock fractions do not count", header: at(-5 * time.Minute),
			opts: []webhook.VerifyOption{webhook.WithClock(func() time.Time { return testNow.Add(999 * time.Millisecond) })}},

		{name: "exactly max age", header: at(-5 * time.Minute)},
		{name: "one second older than max age", header: at(-5*time.Minute - time.Second), wantErr: webhook.ErrTooOld},
		{name: "exactly max future", header: at(time.Minute)},
		{name: "one second past max future", header: at(time.Minute + time.Second), wantErr: webhook.ErrTooNew},
		{name: "custom tolerance: exactly max age", header: at(-10 * time.Minute),
			opts: []webhook.VerifyOption{webhook.WithTolerance(10*time.Minute, 2*time.Minute)}},
		{name: "custom tolerance: one second too old", header: at(-10*time.Minute - time.Second), wantErr: webhook.ErrTooOld,
			opts: []webhook.VerifyOption{webhook.WithTolerance(10*time.Minute, 2*time.Minute)}},
		{name: "custom tolerance: exactly max future", header: at(2 * time.Minute),
			opts: []webhook.VerifyOption{webhook.WithTolerance(10*time.Minute, 2*time.Minute)}},
		{name: "custom tolerance: one second too new", header: at(2*time.Minute + time.Second), wantErr: webhook.ErrTooNew,
			opts: []webhook.VerifyOption{webhook.WithTolerance(10*time.Minute, 2*time.Minute)}},
		{name: "zero tolerance keeps the defaults", header: at(-5 * time.Minute),
			opts: []webhook.VerifyOption{webhook.WithTolerance(0, -time.Second)}},
		{name: "zero future tolerance keeps the default", header: at(time.Minute),
			opts: []webhook.VerifyOption{webhook.WithTolerance(-time.Second, 0)}},
		{name: "old timestamp checked before the signature", header: svixHeaders("msg_1", unix(-time.Hour), "v1,bogus"), wantErr: webhook.ErrTooOld},

		{name: "tampered body", header: svixHeaders("msg_1", now, good), body: []byte(`{"id":"sub_2"}`), wantErr: webhook.ErrNoValidSignature},
		{name: "signature of another id", header: svixHeaders("msg_2", now, good), wantErr: webhook.ErrNoValidSignature},
		{name: "signature of another timestamp", header: svixHeaders("msg_1", unix(-time.Second), good), wantErr: webhook.ErrNoValidSignature},
		{name: "wrong secret", header: svixHeaders("msg_1", now, good), secret: otherSecret, wantErr: webhook.ErrNoValidSignature},
		{name: "non-v1 entries only", header: svixHeaders("msg_1", now, "v2,"+hmacSig(testKey, "msg_1", now, body)+" v1a,"+hmacSig(testKey, "msg_1", now, body)), wantErr: webhook.ErrNoValidSignature},
		{name: "entry without comma", header: svixHeaders("msg_1", now, "v1"+hmacSig(testKey, "msg_1", now, body)), wantErr: webhook.ErrNoValidSignature},
		{name: "empty v1 entry", header: svixHeaders("msg_1", now, "v1,"), wantErr: webhook.ErrNoValidSignature},
		{name: "signature as hex", header: svixHeaders("msg_1", now, "v1,0123456789abcdef"), wantErr: webhook.ErrNoValidSignature},
		{name: "signature header of spaces", header: svixHeaders("msg_1", now, "   "), wantErr: webhook.ErrNoValidSignature},

		{name: "missing svix-id", header: without("svix-id"), wantErr: webhook.ErrMissingHeader},
		{name: "missing svix-timestamp", header: without("svix-timestamp"), wantErr: webhook.ErrMissingHeader},
		{name: "missing svix-signature", header: without("svix-signature"), wantErr: webhook.ErrMissingHeader},
		{name: "no headers", header: http.Header{}, wantErr: webhook.ErrMissingHeader},

		{name: "timestamp in letters", header: withTS("yesterday"), wantErr: webhook.ErrBadTimestamp},
		{name: "timestamp with fraction", header: withTS(now + ".5"), wantErr: webhook.ErrBadTimestamp},
		{name: "timestamp with plus sign", header: withTS("+" + now), wantErr: webhook.ErrBadTimestamp},
		{name: "negative timestamp", header: withTS("-1"), wantErr: webhook.ErrBadTimestamp},
		{name: "timestamp with space", header: withTS(" " + now), wantErr: webhook.ErrBadTimestamp},
		{name: "timestamp in milliseconds out of range", header: withTS("99999999999999999999"), wantErr: webhook.ErrBadTimestamp},
		{name: "timestamp in exponent form", header: withTS("1.7e9"), wantErr: webhook.ErrBadTimestamp},

		{name: "undecodable secret", header: svixHeaders("msg_1", now, good), secret: "whsec_not*base64", wantErr: webhook.ErrBadSecret},
		{name: "empty key", header: svixHeaders("msg_1", now, good), secret: "whsec_", wantErr: webhook.ErrBadSecret},
		{name: "empty secret", header: svixHeaders("msg_1", now, good), emptySecret: true, wantErr: webhook.ErrBadSecret},
		{name: "unpadded key", header: svixHeaders("msg_1", now, good), secret: "whsec_YWJj" + "ZA", wantErr: webhook.ErrBadSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, secret := body, testSecret
			if tc.body != nil {
				b = tc.body
			}
			if tc.secret != "" || tc.emptySecret {
				secret = tc.secret
			}
			opts := append([]webhook.VerifyOption{webhook.WithClock(fixedClock)}, tc.opts...)
			err := webhook.Verify(b, tc.header, secret, opts...)
			if tc.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			assert.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(testKey), "the secret never shows in errors")
		})
	}
}

func TestVerifyMissingHeaderNamesIt(t *testing.T) {
	t.Parallel()
	h := svixHeaders("msg_1", unix(0), "v1,x")
	h.Del("svix-timestamp")
	err := webhook.Verify(nil, h, testSecret, webhook.WithClock(fixedClock))
	require.ErrorIs(t, err, webhook.ErrMissingHeader)
	assert.Contains(t, err.Error(), "svix-timestamp")
}

func TestSign(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"cus_1","object":"customer"}`)
	h, err := webhook.Sign(testSecret, "msg_7", testNow, body)
	require.NoError(t, err)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	assert.Equal(t, http.Header{
		"Svix-Id":        {"msg_7"},
		"Svix-Timestamp": {ts},
		"Svix-Signature": {"v1," + hmacSig(testKey, "msg_7", ts, body)},
	}, h)
	assert.NoError(t, webhook.Verify(body, h, testSecret, webhook.WithClock(fixedClock)))

	_, err = webhook.Sign("whsec_***", "msg_7", testNow, body)
	require.ErrorIs(t, err, webhook.ErrBadSecret)
	_, err = webhook.Sign(testSecret, "", testNow, body)
	assert.Error(t, err)
}
