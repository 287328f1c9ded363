package flowglad

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// Defaults of [Config].
const (
	// DefaultBasePath is where the React SDK looks for the route.
	DefaultBasePath = "/api/flowglad"
	// DefaultMaxBodyBytes caps request bodies.
	DefaultMaxBodyBytes = 1 << 20
)

// Config configures a [Handler] (NewHandler) or a [Service] (NewService). A Handler needs
// Auth; a Service needs none of the HTTP settings (BasePath, Auth, MaxBodyBytes,
// TrustedOrigins), which it ignores. Both need an API key, which may come from the
// environment; every other zero value is a documented default.
type Config struct {
	// APIKey is your Flowglad secret key (sk_test_... or sk_live_...). Empty means the
	// FLOWGLAD_SECRET_KEY environment variable; if both are empty, NewHandler and
	// NewService fail.
	APIKey string
	// BaseURL is Flowglad's API origin. Empty means the FLOWGLAD_BASE_URL environment
	// variable, else https://app.flowglad.com. It must be https, or plain http to a loopback
	// host (a local fake): anywhere else the secret key would travel in clear.
	BaseURL string
	// BasePath is the path the handler is mounted at; the action key is the rest of the
	// request path. Empty means "/api/flowglad", the React SDK's default. The handler also
	// works behind http.StripPrefix and chi's Mount, which hide or keep this prefix.
	BasePath string
	// Auth derives the signed-in customer from a request. Required by NewHandler.
	Auth Authenticator
	// LookupCustomer supplies a customer's name and email when the Flowglad customer must
	// be created (the customer's first visit) and the Customer at hand has no email: a B2B
	// app whose Customer is an organization id looks up the owner's address here, once,
	// instead of on every request. It is called with the customer's external id, at most
	// once per creation (concurrent first visits share it), and only the Name and Email of
	// its result are used. Nil means the Customer must carry an email whenever Flowglad
	// does not know the customer yet.
	LookupCustomer func(ctx context.Context, externalID string) (Customer, error)
	// HTTPClient makes the calls to Flowglad. Nil means a client with a pooled transport of
	// its own. Its Timeout, if any, bounds each attempt.
	HTTPClient *http.Client
	// Logger receives one line per failed request (5xx at Error, 4xx at Debug) with the
	// action key and a request id, and warnings about failures the library recovers from;
	// never a secret or a customer's email or name. Nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; larger ones get 413. Zero means 1 MiB.
	MaxBodyBytes int64
	// TrustedOrigins are origins (scheme://host[:port]) allowed to call the handler from a
	// browser on another origin, such as a frontend served from another domain. Empty means
	// same-origin browser requests only. Requests that are not from a browser (no Origin or
	// Sec-Fetch-Site header) always pass. CORS itself (answering preflights) is the job of a
	// CORS middleware around the handler.
	TrustedOrigins []string
	// Timeout bounds each call to Flowglad, retries included. Zero means 30 seconds.
	Timeout time.Duration
	// RetryPolicy says how reads (and usage events, which carry an idempotency key) are
	// retried on 408, 429, 5xx and connection errors. Nil means
	// flowgladapi.DefaultRetryPolicy(): at most 2 retries with jittered backoff. Other
	// writes are never retried.
	RetryPolicy *flowgladapi.RetryPolicy
	// BillingCacheTTL keeps a customer's billing for this long after reading it. Zero (the
	// default) disables caching; concurrent reads for one customer are shared either way,
	// and every mutation made through the handler or the Service forgets the customer's
	// billing.
	BillingCacheTTL time.Duration
	// BillingCache stores billing when BillingCacheTTL > 0. Nil means in-process memory,
	// bounded by BillingCacheMaxBytes; a deployment with several instances plugs a shared
	// store (cache/rediscache).
	BillingCache BillingCache
	// BillingCacheMaxBytes bounds the in-process billing cache: the bodies it keeps weigh
	// at most this much in all, the least recently used going first. Zero means
	// DefaultBillingCacheMaxBytes (32 MiB, some 500 customers of 60 KB). Unused with a
	// BillingCache.
	BillingCacheMaxBytes int64
}

// settings are a Config with its defaults and the environment applied.
type settings struct {
	apiKey, baseURL string
	logger          *slog.Logger
}

// resolve applies the environment and defaults shared by NewHandler and NewService, and
// checks what both need.
func (cfg Config) resolve() (settings, error) {
	st := settings{apiKey: cfg.APIKey, baseURL: cfg.BaseURL, logger: cfg.Logger}
	if st.apiKey == "" {
		st.apiKey = os.Getenv("FLOWGLAD_SECRET_KEY")
	}
	if st.apiKey == "" {
		return st, errors.New("flowglad: no API key: set Config.APIKey or FLOWGLAD_SECRET_KEY")
	}
	if st.baseURL == "" {
		st.baseURL = os.Getenv("FLOWGLAD_BASE_URL")
	}
	if st.baseURL == "" {
		st.baseURL = flowgladapi.DefaultBaseURL
	}
	if cfg.Timeout < 0 {
		return st, errors.New("flowglad: Config.Timeout must not be negative")
	}
	if cfg.BillingCacheTTL < 0 {
		return st, errors.New("flowglad: Config.BillingCacheTTL must not be negative")
	}
	if cfg.BillingCacheMaxBytes < 0 {
		return st, errors.New("flowglad: Config.BillingCacheMaxBytes must not be negative")
	}
	if st.logger == nil {
		st.logger = slog.Default()
	}
	return st, nil
}

// client builds the Flowglad REST client of a Handler or Service.
func (cfg Config) client(st settings) (*flowgladapi.Client, error) {
	opts := []flowgladapi.Option{flowgladapi.WithBaseURL(st.baseURL), flowgladapi.WithLogger(st.logger)}
	if cfg.HTTPClient != nil {
		opts = append(opts, flowgladapi.WithHTTPClient(cfg.HTTPClient))
	}
	if cfg.Timeout > 0 {
		opts = append(opts, flowgladapi.WithTimeout(cfg.Timeout))
	}
	if cfg.RetryPolicy != nil {
		opts = append(opts, flowgladapi.WithRetryPolicy(*cfg.RetryPolicy))
	}
	client, err := flowgladapi.NewClient(st.apiKey, opts...)
	if err != nil {
		return nil, fmt.Errorf("flowglad: %w", err)
	}
	return client, nil
}
