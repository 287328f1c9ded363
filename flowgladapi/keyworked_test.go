package flowgladapi_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUnauthorizedAfterTheKeyWorked: live Flowglad answers a rate-limited key with 401. A
// 401 to a key that never had a 2xx is a wrong key (final, not rate limited); a 401 to a
// key that has worked is rate limiting: retried with backoff like a 429 (idempotent calls
// only), and matched by ErrRateLimited.
func TestUnauthorizedAfterTheKeyWorked(t *testing.T) {
	t.Parallel()
	policy := flowgladapi.RetryPolicy{MaxRetries: 2, MinBackoff: 10 * time.Millisecond, MaxBackoff: 15 * time.Millisecond, MaxRetryAfter: time.Second}
	tests := []struct {
		name        string
		replies     []http.HandlerFunc
		warmUp      bool // one successful call first
		idempotent  bool
		wantN       int // attempts of the failing call
		rateLimited bool
	}{
		{"a key that never worked: final", []http.HandlerFunc{failWith(401)}, false, true, 1, false},
		{"a key that worked: retried as rate limited", []http.HandlerFunc{jsonReply(200, `{"customer":{}}`), failWith(401)}, true, true, 3, true},
		{"a key that worked, then recovers", []http.HandlerFunc{jsonReply(200, `{"customer":{}}`), failWith(401), jsonReply(200, `{"customer":{}}`)}, true, true, 2, false},
		{"a key that worked: a non-idempotent call is sent once", []http.HandlerFunc{jsonReply(200, `{"customer":{}}`), failWith(401)}, true, false, 1, true},
		{"403 after it worked is still a refusal", []http.HandlerFunc{jsonReply(200, `{"customer":{}}`), failWith(403)}, true, true, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := newStub(t, sequence(tt.replies...), flowgladapi.WithRetryPolicy(policy))
			recordWaits(c)
			before := 0
			if tt.warmUp {
				_, err := c.GetCustomer(t.Context(), "u1")
				require.NoError(t, err)
				before = len(s.requests())
			}
			var err error
			if tt.idempotent {
				_, err = c.GetCustomer(t.Context(), "u1")
			} else {
				_, err = c.CancelSubscription(t.Context(), "sub_1", flowgladapi.CancelImmediately)
			}
			assert.Len(t, s.requests()[before:], tt.wantN)
			if tt.wantN == 2 {
				assert.NoError(t, err, "the retry succeeded")
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.rateLimited, errors.Is(err, flowgladapi.ErrRateLimited))
			var apiErr *flowgladapi.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.warmUp, apiErr.KeyWorked)
		})
	}
}

// TestErrorIsRateLimited pins which errors match ErrRateLimited.
func TestErrorIsRateLimited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *flowgladapi.Error
		want bool
	}{
		{&flowgladapi.Error{StatusCode: 429}, true},
		{&flowgladapi.Error{StatusCode: 429, KeyWorked: true}, true},
		{&flowgladapi.Error{StatusCode: 401}, false},
		{&flowgladapi.Error{StatusCode: 401, KeyWorked: true}, true},
		{&flowgladapi.Error{StatusCode: 403, KeyWorked: true}, false},
		{&flowgladapi.Error{StatusCode: 503, KeyWorked: true}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, errors.Is(tt.err, flowgladapi.ErrRateLimited), "%d worked=%v", tt.err.StatusCode, tt.err.KeyWorked)
		assert.Equal(t, tt.want, tt.err.RateLimited())
		assert.Equal(t, tt.err.StatusCode == 401, errors.Is(tt.err, flowgladapi.ErrUnauthorized), "a 401 is still ErrUnauthorized")
	}
}
