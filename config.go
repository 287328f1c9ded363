package flowglad

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
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
	// NewService fail. They also refuse a key that can never work: a publishable key
	// (pk_...), a webhook secret (whsec_...), a control or non-ASCII character. Whether
	// Flowglad accepts the key is what Handler.Check and Service.Check verify.
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
	// TrustedOrigins are origins allowed to call the handler from a browser on another
	// origin, such as a frontend served from another domain. Each is written exactly as a
	// browser sends it in the Origin header, scheme://host[:port]: lowercase, without the
	// default port, path or trailing slash, and without wildcards (list each origin);
	// NewHandler refuses anything that could never match. Empty means same-origin browser
	// requests only. Requests that are not from a browser (no Origin or Sec-Fetch-Site
	// header) always pass. CORS itself (answering preflights) is the job of a CORS
	// middleware around the handler.
	TrustedOrigins []string
	// RedirectOrigins are the http(s) origins, written as TrustedOrigins, that a checkout's
	// successUrl and cancelUrl may lead to. Empty (the default) means any absolute http(s)
	// URL: whoever starts a checkout chooses where it ends. When set, both URLs must be on
	// one of these origins or, for a request to the handler, on the origin the request came
	// from (its Origin header, which the cross-origin check has vetted: the page itself, or
	// one of TrustedOrigins); anything else is a 400 invalid_body naming the field, checked
	// once the rest of the input is valid, before any Flowglad call. Service callers are
	// held to RedirectOrigins alone. NewHandler and NewService refuse a malformed origin.
	RedirectOrigins []string
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
	redirectOrigins map[string]bool
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
	if err := checkAPIKey(st.apiKey); err != nil {
		return st, err
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
	for i, o := range cfg.RedirectOrigins {
		if err := checkOrigin(o, true); err != nil {
			return st, fmt.Errorf("flowglad: Config.RedirectOrigins[%d]: %w", i, err)
		}
		if st.redirectOrigins == nil {
			st.redirectOrigins = map[string]bool{}
		}
		st.redirectOrigins[o] = true
	}
	return st, nil
}

// checkAPIKey refuses a key that can never work, so that the mistake shows at startup,
// not as a 502 on every request: a publishable key (pk_), which Flowglad's server API does
// not take; a webhook signing secret (whsec_), the other secret a Flowglad app holds; and
// anything with a control or non-ASCII character, which no key has (a stray byte pasted
// with it). Other shapes pass: a proxy or a self-hosted Flowglad may issue keys of its own
// form. The error never repeats any part of the key.
func checkAPIKey(key string) error {
	const fix = ": give the secret key (sk_test_... or sk_live_...) in Config.APIKey or FLOWGLAD_SECRET_KEY"
	k := strings.Trim(key, " \t") // as a header value, where they are not part of it
	if len(k) > 7 && strings.EqualFold(k[:7], "bearer ") {
		k = strings.Trim(k[7:], " \t")
	}
	switch {
	case hasPrefixFold(k, "pk_"):
		return errors.New("flowglad: the API key is a publishable key, which cannot call Flowglad's server API" + fix)
	case hasPrefixFold(k, "whsec_"):
		return errors.New("flowglad: the API key is a webhook signing secret, not an API key" + fix)
	}
	for _, r := range k {
		if r < 0x20 || r == 0x7f || r > 0x7e {
			return errors.New("flowglad: the API key has a control or non-ASCII character, which no key has" + fix)
		}
	}
	return nil
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// checkOrigin checks an origin of Config.TrustedOrigins or Config.RedirectOrigins. Origins
// are compared as strings with what browsers send (the Origin header, or the origin of a
// URL as urlOrigin writes it), so one that is not in that exact form could never match:
// the error says how to write it. webOnly restricts the scheme to http and https.
func checkOrigin(o string, webOnly bool) error {
	const form = "scheme://host[:port]"
	u, err := url.Parse(o)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		return fmt.Errorf("%q is not an origin: write it as %s", clip(o), form)
	case strings.Contains(u.Host, "*"):
		return fmt.Errorf("%q: wildcards are not supported: list each origin (%s)", clip(o), form)
	case o != u.Scheme+"://"+u.Host:
		return fmt.Errorf("%q: an origin has no user, path (not even a trailing /), query or fragment: write it as %s", clip(o), form)
	case webOnly && u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: only http and https origins are allowed", clip(o))
	case o != strings.ToLower(o):
		return fmt.Errorf("%q: write it in lowercase, as browsers send it: %q", clip(o), clip(strings.ToLower(o)))
	case strings.HasSuffix(u.Host, ":"):
		return fmt.Errorf("%q: an empty port: write it as %s", clip(o), form)
	case isDefaultPort(u.Scheme, u.Port()):
		return fmt.Errorf("%q: drop the default port, as browsers do: %q", clip(o), strings.TrimSuffix(o, ":"+u.Port()))
	}
	return nil
}

func isDefaultPort(scheme, port string) bool {
	return scheme == "https" && port == "443" || scheme == "http" && port == "80"
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
