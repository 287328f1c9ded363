package flowgladapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy controls how a Client retries a call that is safe to repeat.
//
// Only idempotent calls are retried: every GET, and the usage-event POSTs,
// whose transactionId is fixed before the first attempt so Flowglad
// deduplicates a repeat. Checkout sessions, subscription creation, cancel,
// uncancel and adjust, resource claim and release, and customer
// create/update/archive are sent exactly once, whatever the policy.
//
// A call is retried after a connection failure (not a cancelled context and
// not a certificate error), a 408, 429 or 5xx response, a 401 to a key that
// has had a 2xx answer before (Flowglad's answer to a rate-limited key: see
// ErrRateLimited), or a 2xx whose body
// is not JSON at all (empty, cut short or garbled on the way back: for a usage
// event the repeat is deduplicated by its transactionId). JSON of the wrong
// kind is final. Waits grow
// exponentially from MinBackoff to MaxBackoff with full jitter (a uniformly
// random wait up to the current bound). A Retry-After header replaces the
// backoff, capped at MaxRetryAfter. Every wait ends early when the call's
// context is done.
//
// The zero value never retries. Zero durations take the defaults noted below.
type RetryPolicy struct {
	// MaxRetries is the number of attempts after the first; 0 never retries.
	MaxRetries int
	// MinBackoff is the bound of the first wait (zero means 100ms); the bound
	// doubles on each retry.
	MinBackoff time.Duration
	// MaxBackoff caps the bound of any wait (zero means 2s).
	MaxBackoff time.Duration
	// MaxRetryAfter caps an honoured Retry-After (zero means 5s): a longer
	// hint is shortened to it rather than holding a user request hostage.
	// Retry-After is only consulted when another attempt will follow.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy returns the policy a Client uses unless WithRetryPolicy
// is given: 2 retries, backoff from 100ms up to 2s, Retry-After capped at 5s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxRetries:    2,
		MinBackoff:    100 * time.Millisecond,
		MaxBackoff:    2 * time.Second,
		MaxRetryAfter: 5 * time.Second,
	}
}

func (p RetryPolicy) minBackoff() time.Duration {
	if p.MinBackoff > 0 {
		return p.MinBackoff
	}
	return 100 * time.Millisecond
}

func (p RetryPolicy) maxBackoff() time.Duration {
	if p.MaxBackoff > 0 {
		return p.MaxBackoff
	}
	return 2 * time.Second
}

func (p RetryPolicy) maxRetryAfter() time.Duration {
	if p.MaxRetryAfter > 0 {
		return p.MaxRetryAfter
	}
	return 5 * time.Second
}

// backoff returns the wait before retry number attempt+1 (attempt counts from
// 0): jitter applied to min(MaxBackoff, MinBackoff·2^attempt).
func (p RetryPolicy) backoff(attempt int, jitter func(time.Duration) time.Duration) time.Duration {
	bound := p.minBackoff()
	limit := p.maxBackoff()
	for i := 0; i < attempt && bound < limit; i++ {
		bound *= 2 // cannot overflow: bound < limit before doubling
	}
	return jitter(min(bound, limit))
}

// fullJitter returns a uniformly random duration in [0, d] ("full jitter"
// spreads simultaneous retries from many clients apart).
func fullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// sleepContext waits d, or returns ctx.Err() as soon as ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// shouldRetry reports whether a failed attempt may be repeated (assuming the
// call is idempotent and attempts remain), and why, for the log. Context
// errors are handled by the caller before this is consulted.
func shouldRetry(err error) (bool, string) {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.StatusCode == http.StatusRequestTimeout:
			return true, "408 request timeout"
		case apiErr.StatusCode == http.StatusTooManyRequests:
			return true, "429 rate limited"
		case apiErr.RateLimited():
			// Live Flowglad answers a rate-limited key with 401; this key has worked.
			return true, "401 to a key that has worked: rate limited"
		case apiErr.StatusCode >= 500:
			return true, strconv.Itoa(apiErr.StatusCode) + " server error"
		}
		return false, "status " + strconv.Itoa(apiErr.StatusCode) + " is final"
	}
	var ie *invalidResponseError
	if errors.As(err, &ie) {
		if ie.garbled {
			return true, "garbled 2xx body"
		}
		return false, "2xx body of the wrong kind is final"
	}
	var te *transportError
	if errors.As(err, &te) {
		// A certificate problem will not fix itself within seconds.
		var certErr *tls.CertificateVerificationError
		var unknownAuth x509.UnknownAuthorityError
		var hostErr x509.HostnameError
		if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) {
			return false, "certificate error"
		}
		return true, "connection error"
	}
	return false, "not retryable"
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3). It returns 0 when absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Clamp absurd values before converting, to avoid overflow.
		const maxSecs = int64(24 * time.Hour / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
