package flowgladapi

import (
	"context"
	"net/http"
	"time"
)

// Hooks for the external tests (package flowgladapi_test): they replace the
// client's sleeping, jitter and clock so retry waits are recorded, not spent.

func SetSleep(c *Client, f func(ctx context.Context, d time.Duration) error) { c.sleep = f }
func SetJitter(c *Client, f func(d time.Duration) time.Duration)             { c.jitter = f }
func SetNow(c *Client, f func() time.Time)                                   { c.now = f }

var (
	ParseRetryAfter = parseRetryAfter
	ShouldRetry     = shouldRetry
	SleepContext    = sleepContext
	FullJitter      = fullJitter
	ParseErrorBody  = parseErrorBody
)

func (p RetryPolicy) Backoff(attempt int, jitter func(time.Duration) time.Duration) time.Duration {
	return p.backoff(attempt, jitter)
}

// NewTransportError builds the unexported connection-failure error type.
func NewTransportError(err error) error {
	return &transportError{method: "GET", path: "/api/v1/x", err: err}
}

func Timeout(c *Client) time.Duration { return c.timeout }
func BaseURL(c *Client) string        { return c.baseURL }
func Policy(c *Client) RetryPolicy    { return c.retry }
func HasLogger(c *Client) bool        { return c.log != nil }
func HasHTTPClient(c *Client) bool    { return c.hc != nil }

// Transport is the RoundTripper of the client's HTTP client.
func Transport(c *Client) http.RoundTripper { return c.hc.Transport }
