package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors returned (possibly wrapped) by [Verify] and [Sign]; branch
// with [errors.Is]. None of them carries the secret, the body or a signature.
var (
	// ErrMissingHeader: the request lacks svix-id, svix-timestamp or
	// svix-signature (and does not carry the complete webhook-* set either).
	// The error names the first missing header.
	ErrMissingHeader = errors.New("webhook: missing signature header")
	// ErrBadTimestamp: the timestamp header is not a whole number of seconds.
	ErrBadTimestamp = errors.New("webhook: timestamp is not a number of seconds")
	// ErrTooOld: the timestamp is further in the past than the tolerance
	// allows (a replayed or long-delayed delivery).
	ErrTooOld = errors.New("webhook: timestamp too old")
	// ErrTooNew: the timestamp is further in the future than the tolerance
	// allows (clock skew, or a forged timestamp).
	ErrTooNew = errors.New("webhook: timestamp too far in the future")
	// ErrNoValidSignature: no v1 signature in the header matches the
	// payload: the body, id or timestamp were changed, or the secret is not
	// this endpoint's.
	ErrNoValidSignature = errors.New("webhook: no valid signature")
	// ErrBadSecret: the signing secret is not "whsec_" followed by the
	// standard base64 encoding of a non-empty key. It is a configuration
	// error, not a property of the request.
	ErrBadSecret = errors.New("webhook: invalid signing secret")
)

// Header names of Svix's signature scheme, as Flowglad sends them. Svix's
// own libraries also accept the Standard Webhooks names (webhook-id,
// webhook-timestamp, webhook-signature); Verify does too.
const (
	HeaderID        = "svix-id"
	HeaderTimestamp = "svix-timestamp"
	HeaderSignature = "svix-signature"
)

// Default tolerances of the timestamp check. They are Flowglad's own
// (packages/server/src/webhook.ts): Svix's libraries allow five minutes on
// both sides, Flowglad narrows the future side to one minute.
const (
	DefaultMaxAge    = 5 * time.Minute
	DefaultMaxFuture = time.Minute
)

// secretPrefix starts every Svix signing secret.
const secretPrefix = "whsec_"

// A VerifyOption changes how [Verify] checks a delivery.
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	maxAge, maxFuture time.Duration
	now               func() time.Time
}

// WithTolerance sets how far the delivery's timestamp may lie in the past
// (maxAge, default [DefaultMaxAge]) and in the future (maxFuture, default
// [DefaultMaxFuture]) of the clock. Both are counted in whole seconds, and a
// timestamp exactly at the limit passes. A zero or negative value keeps the
// default: there is no way to switch the check off.
func WithTolerance(maxAge, maxFuture time.Duration) VerifyOption {
	return func(c *verifyConfig) {
		if maxAge > 0 {
			c.maxAge = maxAge
		}
		if maxFuture > 0 {
			c.maxFuture = maxFuture
		}
	}
}

// WithClock sets the clock the timestamp is compared with (default
// [time.Now]), for tests and for fakes that run on a fixed clock.
func WithClock(now func() time.Time) VerifyOption {
	return func(c *verifyConfig) {
		if now != nil {
			c.now = now
		}
	}
}

func newVerifyConfig(opts []VerifyOption) verifyConfig {
	c := verifyConfig{maxAge: DefaultMaxAge, maxFuture: DefaultMaxFuture, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// Verify checks that payload and the headers h are a delivery signed with
// secret, as Flowglad sends them through Svix, and returns nil if so.
//
// payload must be the raw request body, byte for byte: re-encoded JSON does
// not verify. secret is the endpoint's signing secret, "whsec_<base64 key>"
// as Flowglad shows it; like Svix's libraries (and unlike Flowglad's
// TypeScript SDK, which insists on the prefix) Verify also accepts the
// base64 key alone.
//
// The checks run in this order, and the first failure is returned: the
// secret ([ErrBadSecret]); the three headers, svix-* or else webhook-*
// ([ErrMissingHeader]); the timestamp's format ([ErrBadTimestamp]) and age
// ([ErrTooOld], [ErrTooNew]; see [WithTolerance]); then the signatures. The
// signature header is a space-separated list of "<version>,<base64>"
// entries (several during a secret rotation); entries of a version other
// than v1 are skipped, and one v1 entry that matches HMAC-SHA256 of
// "<id>.<timestamp>.<payload>" is enough. Comparison is constant-time.
// Otherwise the error is [ErrNoValidSignature].
//
// Verify does not remember ids: a valid delivery verifies again when it is
// sent again (Flowglad delivers at least once). [Handler] adds the
// once-per-id bookkeeping.
func Verify(payload []byte, h http.Header, secret string, opts ...VerifyOption) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	_, err = verify(key, payload, h, newVerifyConfig(opts))
	return err
}

// signed is what a successful verification learned from the headers.
type signed struct {
	id string
	ts time.Time
}

// verify is Verify with a decoded key.
func verify(key, payload []byte, h http.Header, c verifyConfig) (signed, error) {
	id, rawTS, sigs, err := signatureHeaders(h)
	if err != nil {
		return signed{}, err
	}
	ts, err := parseTimestamp(rawTS)
	if err != nil {
		return signed{}, err
	}
	now := c.now().Unix()
	if now-ts > int64(c.maxAge/time.Second) {
		return signed{}, ErrTooOld
	}
	if ts-now > int64(c.maxFuture/time.Second) {
		return signed{}, ErrTooNew
	}
	want := signature(key, id, rawTS, payload)
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		if hmac.Equal([]byte(sig), want) {
			return signed{id: id, ts: time.Unix(ts, 0).UTC()}, nil
		}
	}
	return signed{}, ErrNoValidSignature
}

// signatureHeaders returns the id, timestamp and signature headers: the
// svix-* set when it is complete, else the webhook-* set when that one is
// (Svix's libraries do the same; the sets are never mixed).
func signatureHeaders(h http.Header) (id, ts, sigs string, err error) {
	for _, names := range [...][3]string{
		{HeaderID, HeaderTimestamp, HeaderSignature},
		{"webhook-id", "webhook-timestamp", "webhook-signature"},
	} {
		id, ts, sigs = h.Get(names[0]), h.Get(names[1]), h.Get(names[2])
		if id != "" && ts != "" && sigs != "" {
			return id, ts, sigs, nil
		}
	}
	// Neither set is complete: name the first svix-* header missing.
	for _, name := range []string{HeaderID, HeaderTimestamp} {
		if h.Get(name) == "" {
			return "", "", "", fmt.Errorf("%w: %s", ErrMissingHeader, name)
		}
	}
	return "", "", "", fmt.Errorf("%w: %s", ErrMissingHeader, HeaderSignature)
}

// parseTimestamp reads unix seconds written as plain ASCII digits, as Svix
// writes them. Signs, spaces and fractions are refused rather than
// normalised, because the signature covers the header's exact text.
func parseTimestamp(s string) (int64, error) {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrBadTimestamp
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil { // empty, or out of range
		return 0, ErrBadTimestamp
	}
	return n, nil
}

// decodeSecret returns the HMAC key of a Svix signing secret. Its errors wrap
// ErrBadSecret with what is wrong, in words that quote nothing of the secret:
// they end up in logs and startup errors.
func decodeSecret(secret string) ([]byte, error) {
	if secret == "" {
		return nil, fmt.Errorf("%w: it is empty", ErrBadSecret)
	}
	raw, prefixed := strings.CutPrefix(secret, secretPrefix)
	if prefixed && raw == "" {
		return nil, fmt.Errorf("%w: no key after %s", ErrBadSecret, secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err == nil && len(key) > 0 {
		return key, nil
	}
	if strings.TrimSpace(secret) != secret {
		return nil, fmt.Errorf("%w: it has white space around it", ErrBadSecret)
	}
	if prefixed {
		return nil, fmt.Errorf("%w: what follows %s is not standard base64", ErrBadSecret, secretPrefix)
	}
	return nil, fmt.Errorf("%w: want %s followed by the standard base64 key Flowglad shows", ErrBadSecret, secretPrefix)
}

// signature is the base64 HMAC-SHA256 of "<id>.<timestamp>.<payload>".
func signature(key []byte, id, ts string, payload []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(payload)
	sum := mac.Sum(nil)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum)
	return out
}

// Sign returns the headers Flowglad (through Svix) sends with payload when
// it delivers message msgID at time ts, signed with secret: svix-id,
// svix-timestamp (ts in unix seconds) and svix-signature (one v1 entry).
// It is meant for tests of code that receives webhooks:
//
//	h, err := webhook.Sign(secret, "msg_1", time.Now(), body)
//	req := httptest.NewRequest("POST", "/webhooks/flowglad", bytes.NewReader(body))
//	maps.Copy(req.Header, h)
//
// The error is [ErrBadSecret] for an invalid secret, or an error for an
// empty msgID (Verify would refuse it as a missing header).
func Sign(secret, msgID string, ts time.Time, payload []byte) (http.Header, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	if msgID == "" {
		return nil, errors.New("webhook: sign: empty message id")
	}
	rawTS := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, rawTS)
	h.Set(HeaderSignature, "v1,"+string(signature(key, msgID, rawTS, payload)))
	return h, nil
}
