package flowgladapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowglad-go/flowglad/internal/jsonscan"
	"github.com/flowglad-go/flowglad/internal/redact"
)

// DefaultBaseURL is the Flowglad API origin used when WithBaseURL is not given.
const DefaultBaseURL = "https://app.flowglad.com"

// DefaultTimeout bounds one client call, all attempts and waits included, when
// WithTimeout is not given.
const DefaultTimeout = 30 * time.Second

// userAgent identifies this library to Flowglad (useful in their request logs).
const userAgent = "flowglad-go/0.1.0"

const (
	// maxErrorBody caps how much of an error response is read and kept in
	// Error.Body: enough for any real Flowglad error, bounded against a
	// misbehaving proxy.
	maxErrorBody = 64 << 10
	// maxSuccessBody caps a 2xx body. A billing payload for a large customer is
	// well under a megabyte; the cap only guards memory against a broken peer.
	maxSuccessBody = 32 << 20
	// maxDrain is how much of an unread body is discarded so the connection
	// can be reused; beyond it, closing the connection is cheaper.
	maxDrain = 64 << 10
)

// Client calls Flowglad's REST API with a secret key. It is safe for
// concurrent use by multiple goroutines; create one per key and reuse it, so
// connections are pooled.
//
// Every method takes a context that bounds the whole call (all attempts and
// the waits between them); the client's timeout (WithTimeout) is a backstop on
// top of it.
type Client struct {
	apiKey  string
	baseURL string // scheme://host[/prefix] with no trailing slash
	// origin and prefix split baseURL: scheme://host, and the escaped path prefix ("" or
	// "/…"). A request is made from the origin and given its path, so that no call
	// concatenates and parses its whole URL (see attempt).
	origin, prefix string
	// authValue is the Authorization header's value slice, made once: every request
	// shares it (see constant headers, attempt).
	authValue []string
	hc        *http.Client
	log       *slog.Logger
	retry     RetryPolicy
	timeout   time.Duration // <= 0: none

	// secret removes apiKey, in any form or fragment, from echoed text.
	secret *redact.Secret
	// worked records that Flowglad has answered a call made with apiKey with a 2xx: the
	// key is valid, so a later 401 is most likely rate limiting (live Flowglad answers a
	// rate-limited key with 401), not a misconfiguration. See Error.KeyWorked.
	worked atomic.Bool

	// sleep waits d or until ctx is done; tests replace it to record waits.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a uniformly random duration in [0, d]; tests replace it
	// to make backoff deterministic.
	jitter func(d time.Duration) time.Duration
	// now is the clock used to interpret an HTTP-date Retry-After.
	now func() time.Time

	// reads holds *[]byte buffers that bodies of unknown length are read into (readBody),
	// reused from call to call.
	reads sync.Pool
	// bodies holds *[]byte buffers that pooled billing bodies are read into
	// (GetBillingBodyPooled), back from BillingBody.Release.
	bodies sync.Pool
}

// Option configures a Client in NewClient.
type Option func(*Client) error

// WithBaseURL sets the API origin, an absolute https URL such as
// "https://app.flowglad.com" (a trailing "/" is ignored). A path prefix is
// kept, which lets the client go through a proxy mounted under a path. Plain
// http is accepted only for a loopback host (localhost, 127.0.0.0/8, ::1),
// such as a test server: anywhere else the secret key would cross the
// network in clear.
func WithBaseURL(rawURL string) Option {
	return func(c *Client) error {
		base, err := parseBaseURL(rawURL)
		if err != nil {
			return err
		}
		c.baseURL = base
		return nil
	}
}

// WithHTTPClient sets the HTTP client used for every request. Its Timeout, if
// any, applies per attempt; prefer WithTimeout, which covers retries too. nil
// restores the default: a client with a pooled transport of its own.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			hc = defaultHTTPClient()
		}
		c.hc = hc
		return nil
	}
}

// WithLogger sets the logger for per-request Debug lines (method, path,
// status, attempt, duration) and Warn lines for retries. The API key, the
// Authorization header and bodies are never logged. nil discards logs, which
// is also the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.log = l
		return nil
	}
}

// WithRetryPolicy sets how failed idempotent calls are retried. See
// RetryPolicy for which calls and failures qualify.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxRetries < 0 || p.MinBackoff < 0 || p.MaxBackoff < 0 || p.MaxRetryAfter < 0 {
			return errors.New("flowgladapi: retry policy values must not be negative")
		}
		c.retry = p
		return nil
	}
}

// WithTimeout bounds each client call, all attempts and backoff waits
// included. 0 means DefaultTimeout; a negative value disables the client's own
// bound, leaving only the caller's context.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d == 0 {
			d = DefaultTimeout
		}
		c.timeout = d
		return nil
	}
}

// NewClient returns a client authenticating with apiKey, a Flowglad secret key
// (sk_test_… or sk_live_…), sent raw in the Authorization header as
// Flowglad's own SDKs do. It fails on an empty key, an invalid base URL or an
// option that reports an error; nil options are skipped.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("flowgladapi: empty API key")
	}
	if strings.ContainsAny(apiKey, "\r\n") {
		// Never echo the key: it is a secret even when malformed.
		return nil, errors.New("flowgladapi: API key contains a line break")
	}
	c := &Client{
		apiKey:  apiKey,
		secret:  redact.NewSecret(apiKey),
		baseURL: DefaultBaseURL,
		hc:      defaultHTTPClient(),
		log:     slog.New(slog.DiscardHandler),
		retry:   DefaultRetryPolicy(),
		timeout: DefaultTimeout,
		sleep:   sleepContext,
		jitter:  fullJitter,
		now:     time.Now,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	c.origin, c.prefix = splitBaseURL(c.baseURL)
	c.authValue = []string{apiKey}
	return c, nil
}

// splitBaseURL splits base, as parseBaseURL returns it (scheme://host[/prefix]), into its
// origin and its path prefix.
func splitBaseURL(base string) (origin, prefix string) {
	rest := base[strings.Index(base, "://")+len("://"):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return base[:len(base)-len(rest)+i], rest[i:]
	}
	return base, ""
}

// Idle connections the default transport keeps. A client talks to one host,
// and a server handling N concurrent requests holds up to N connections to it
// at once: every one the pool cannot keep when the burst ends is closed, and
// the next burst pays a new TCP and TLS handshake for it (tens of
// milliseconds to Flowglad). With 32 kept, 256 concurrent requests opened
// ~1,700 new connections per 10,000 requests and doubled the p99; 256 covers
// such a burst. Idle connections cost a file descriptor and a little memory
// each, and close after IdleConnTimeout (90 s).
const (
	defaultMaxIdleConnsPerHost = 256
	defaultMaxIdleConns        = defaultMaxIdleConnsPerHost // one host
)

// defaultHTTPClient clones http.DefaultTransport so our pool settings do not
// leak into (or depend on) the process-wide default. No http.Client.Timeout:
// the per-call context deadline bounds every attempt, including retries.
func defaultHTTPClient() *http.Client {
	var rt http.RoundTripper
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.MaxIdleConnsPerHost = defaultMaxIdleConnsPerHost
		t.MaxIdleConns = defaultMaxIdleConns
		rt = t
	} else {
		rt = http.DefaultTransport
	}
	return &http.Client{Transport: rt}
}

func parseBaseURL(rawURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return "", fmt.Errorf("flowgladapi: invalid base URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("flowgladapi: base URL %q: scheme must be http or https", u.Redacted())
	case u.Host == "":
		return "", fmt.Errorf("flowgladapi: base URL %q: missing host", u.Redacted())
	case u.User != nil:
		// Credentials belong in the API key; a userinfo would also end up in
		// logs and errors.
		return "", fmt.Errorf("flowgladapi: base URL %q: must not contain credentials", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("flowgladapi: base URL %q: must not have a query or fragment", u.Redacted())
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", fmt.Errorf("flowgladapi: base URL %q: plain http would send the API key in clear: use https "+
			"(http is allowed only for localhost, 127.0.0.0/8 and ::1)", u.Redacted())
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// isLoopback reports whether host (no port, no brackets) stays on this
// machine: "localhost" or a loopback IP. Other names are not resolved: what a
// name resolves to can change after the check.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// request describes one logical API call; do turns it into one or more
// attempts.
type request struct {
	op     string // Flowglad operationId, logged at Warn instead of the path (which holds ids)
	method string
	path   string // already escaped, starting with "/api/v1/"
	query  url.Values
	body   any // marshalled once, before the first attempt; nil = no body
	// payload, when set, is the body already encoded (body is then ignored): for a call
	// whose body is a few known bytes, spared encoding/json's reflection.
	payload []byte
	// idempotent marks a call safe to repeat: a GET, or a POST whose dedupe
	// key was fixed before the first attempt.
	idempotent bool
	// want is the first byte a 2xx body must start with ('{' or '['); it
	// catches an HTML page or a wrong shape early as ErrInvalidResponse.
	want byte
	// members, when set (with want '{'), records the body's top-level members as it is
	// checked.
	members *BillingBody
	// pooled reads a 2xx body of declared length into one of the client's pooled buffers,
	// which members (set too) then holds until BillingBody.Release.
	pooled bool
}

// where names the call in error messages: "GET /api/v1/...".
func (r request) where() string { return r.method + " " + r.path }

// pathf joins escaped segments: every argument is url.PathEscape'd, so an
// external id like "a b/c?d" stays one segment.
func pathf(segments ...string) string {
	const prefix = "/api/v1"
	// Grown once to the length of the path when no segment needs escaping (the usual
	// case), so the path costs one allocation.
	n := len(prefix)
	for _, s := range segments {
		n += 1 + len(s)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(prefix)
	for _, s := range segments {
		b.WriteByte('/')
		// Literal segments from our code escape to themselves; ids from
		// callers must stay one segment whatever they contain.
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// do performs r with retries and returns the 2xx body.
func (c *Client) do(ctx context.Context, r request) ([]byte, error) {
	if ctx == nil {
		return nil, errors.New("flowgladapi: nil context")
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	payload := r.payload
	if payload == nil && r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("flowgladapi: %s %s: encode request: %w", r.method, r.path, err)
		}
	}
	var query string
	if len(r.query) > 0 {
		query = r.query.Encode()
	}

	maxRetries := 0
	if r.idempotent {
		maxRetries = c.retry.MaxRetries
	}
	for attempt := 0; ; attempt++ {
		body, err := c.attempt(ctx, r, query, payload, attempt)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, c.ctxError(ctx, r, err)
		}
		if attempt >= maxRetries {
			return nil, err
		}
		retry, reason := shouldRetry(err)
		if !retry {
			return nil, err
		}
		wait := c.retry.backoff(attempt, c.jitter)
		var apiErr *Error
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			// Honour the server's hint, already capped at MaxRetryAfter
			// (newError): never hang a user request on it.
			wait = apiErr.RetryAfter
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "flowglad request retrying",
			slog.String("operation", r.op),
			slog.String("method", r.method),
			slog.Int("attempt", attempt+1),
			slog.String("reason", reason),
			slog.Duration("wait", wait))
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, c.ctxError(ctx, r, err)
		}
	}
}

// ctxError reports that the caller's context (or the per-call timeout) ended
// the call. It wraps ctx.Err() only, so errors.Is(err,
// context.DeadlineExceeded) is true and no stale API sentinel leaks through;
// the last failure is kept as text.
func (c *Client) ctxError(ctx context.Context, r request, last error) error {
	cerr := ctx.Err()
	if cerr == nil {
		return last
	}
	if last == nil || errors.Is(last, cerr) {
		return fmt.Errorf("flowgladapi: %s %s: %w", r.method, r.path, cerr)
	}
	var apiErr *Error
	if errors.As(last, &apiErr) {
		return fmt.Errorf("flowgladapi: %s %s: %w (last response: %d)", r.method, r.path, cerr, apiErr.StatusCode)
	}
	return fmt.Errorf("flowgladapi: %s %s: %w", r.method, r.path, cerr)
}

// The constant headers' value slices, shared by every request (Header.Set would make one
// per header per request). Nothing modifies a request's header values in place: net/http
// reads them, and Client.Do copies the header before a redirect.
var (
	headerJSON      = []string{"application/json"}
	headerUserAgent = []string{userAgent}
)

// attempt sends one HTTP request and classifies its outcome. query is r.query encoded.
func (c *Client) attempt(ctx context.Context, r request, query string, payload []byte, attempt int) ([]byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	// The request is made from the origin alone and given its path and query here: the
	// same URL that parsing origin+prefix+path+"?"+query gives, without building and
	// parsing that string on every call.
	req, err := http.NewRequestWithContext(ctx, r.method, c.origin, body)
	if err != nil {
		return nil, fmt.Errorf("flowgladapi: %s %s: %w", r.method, r.path, err)
	}
	if err := setPath(req.URL, c.prefix+r.path); err != nil {
		return nil, fmt.Errorf("flowgladapi: %s %s: %w", r.method, r.path, err)
	}
	req.URL.RawQuery = query
	req.Header["Authorization"] = c.authValue
	req.Header["Accept"] = headerJSON
	req.Header["User-Agent"] = headerUserAgent
	if payload != nil {
		req.Header["Content-Type"] = headerJSON
	}

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelDebug, "flowglad request",
			slog.String("method", r.method),
			slog.String("path", r.path),
			slog.Int("attempt", attempt+1),
			slog.Duration("duration", time.Since(start)),
			slog.String("err", "transport error"))
		return nil, &transportError{method: r.method, path: r.path, err: unwrapURLError(err)}
	}
	// ended: the body was read to its end, so closing it returns the connection to the
	// pool without the bounded drain of closeBody (whose io.CopyN costs an allocation).
	ended := false
	defer func() {
		if ended {
			_ = resp.Body.Close()
			return
		}
		closeBody(resp.Body)
	}()
	c.log.LogAttrs(ctx, slog.LevelDebug, "flowglad request",
		slog.String("method", r.method),
		slog.String("path", r.path),
		slog.Int("status", resp.StatusCode),
		slog.Int("attempt", attempt+1),
		slog.Duration("duration", time.Since(start)))

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var raw []byte
		raw, ended, _ = c.readBody(resp, maxErrorBody)
		e := newError(r, resp, raw, c.secret, c.now(), c.retry.maxRetryAfter())
		e.KeyWorked = c.worked.Load()
		return nil, e
	}
	// Any 2xx proves the key, whatever its body: Flowglad authenticated the call.
	if !c.worked.Load() { // a store on every call would move the cache line between cores
		c.worked.Store(true)
	}
	var raw []byte
	var buf *[]byte // the pooled buffer raw is part of, nil when none
	if r.pooled {
		raw, buf, ended, err = c.readPooled(resp)
	} else {
		raw, ended, err = c.readBody(resp, maxSuccessBody+1)
	}
	if err != nil {
		c.putBody(buf)
		return nil, &transportError{method: r.method, path: r.path, err: fmt.Errorf("read response: %w", err)}
	}
	if len(raw) > maxSuccessBody {
		c.putBody(buf)
		return nil, invalidResponse(r.where(), fmt.Sprintf("body larger than %d bytes", maxSuccessBody))
	}
	if garbled, err := checkJSON(raw, r.want, r.members); err != nil {
		c.putBody(buf)
		return nil, &invalidResponseError{where: r.where(), detail: fmt.Sprintf("%d response: %v", resp.StatusCode, err), garbled: garbled}
	}
	if buf != nil {
		r.members.hold(c, buf)
	}
	return raw, nil
}

// readPooled reads a 2xx body of declared length, at most maxPooledRead bytes, into one of
// the client's pooled buffers (buf, which raw is part of); any other body as readBody does
// (buf nil).
func (c *Client) readPooled(resp *http.Response) (raw []byte, buf *[]byte, ended bool, err error) {
	n := resp.ContentLength
	if n >= maxPooledRead {
		raw, ended, err = c.readBody(resp, maxSuccessBody+1)
		return raw, nil, ended, err
	}
	if n < 0 {
		return c.readPooledUnsized(resp.Body)
	}
	buf, _ = c.bodies.Get().(*[]byte)
	if buf == nil || int64(cap(*buf)) < n+1 {
		b := make([]byte, n+1)
		buf = &b
	}
	b := (*buf)[:n+1] // one byte more than declared, to see the end (as readBody)
	m, ended, err := readFull(resp.Body, b)
	if err == nil && m <= int(n) {
		return b[:m:m], buf, ended, nil
	}
	// A failed read, or a body longer than declared (a RoundTripper may send one): read as
	// readBody does, the pooled buffer given back.
	var rest []byte
	if err == nil {
		rest, ended, err = c.readUnsized(resp.Body, maxSuccessBody+1-int64(m))
	}
	raw = append(append(make([]byte, 0, m+len(rest)), b[:m]...), rest...)
	c.putBody(buf)
	return raw, nil, ended, err
}

// readPooledUnsized is readPooled for a body of unknown length (what a gzipped or chunked
// answer is once net/http has it): read into one of the client's pooled buffers, grown as
// it must be, and kept in it (buf) unless it grew past what the pool keeps.
func (c *Client) readPooledUnsized(r io.Reader) (raw []byte, buf *[]byte, ended bool, err error) {
	buf, _ = c.bodies.Get().(*[]byte)
	if buf == nil {
		b := make([]byte, 0, 32<<10)
		buf = &b
	}
	out, ended, err := readAppend(r, (*buf)[:0], maxSuccessBody+1)
	switch {
	case err != nil:
		// A failed read: nothing of it is returned (out may be in the buffer given back).
		c.putBody(buf)
		return nil, nil, ended, err
	case cap(out) > maxPooledRead:
		// Too large to pool: out grew past the pooled buffer (never that large), which
		// goes back, and is the body's own.
		c.putBody(buf)
		return out[:len(out):len(out)], nil, ended, nil
	}
	*buf = out[:0] // the buffer out is in (grown, maybe): the one given back on release
	return out[:len(out):len(out)], buf, ended, nil
}

// readAppend reads r, at most limit bytes, appending to buf (grown as needed); ended
// reports that r ended (io.EOF is no error).
func readAppend(r io.Reader, buf []byte, limit int64) (out []byte, ended bool, err error) {
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		free := buf[len(buf):cap(buf)]
		if left := limit - int64(len(buf)); int64(len(free)) > left {
			free = free[:left]
		}
		var k int
		k, err = r.Read(free)
		buf = buf[:len(buf)+k]
		if err != nil {
			break
		}
	}
	if err == io.EOF {
		err, ended = nil, true
	}
	return buf, ended, err
}

// putBody gives a pooled body's buffer back; nil is none.
func (c *Client) putBody(buf *[]byte) {
	if buf != nil {
		c.bodies.Put(buf)
	}
}

// setPath gives u the escaped path, as url.Parse would: Path unescaped, and RawPath the
// escaped form when the two differ. The segments of escaped were escaped by pathf, so
// without a '%' it is its own unescaped form.
func setPath(u *url.URL, escaped string) error {
	if strings.IndexByte(escaped, '%') < 0 {
		u.Path, u.RawPath = escaped, ""
		return nil
	}
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return err
	}
	u.Path, u.RawPath = p, escaped
	return nil
}

// readBody reads at most limit bytes of a response body; ended reports that it read to the
// body's end. The slice it returns has exactly
// the body's length and capacity: callers keep it (relayed, cached for minutes), so spare
// capacity would be memory held that nothing reads. A declared length is read in place, in
// one allocation; a body of unknown length (a compressed or chunked answer: net/http
// decompresses gzip and drops the length) is read into one of the client's pooled buffers
// and copied out once, where io.ReadAll would grow a new buffer, copying the body, about
// twenty times on the way to a billing body's size.
func (c *Client) readBody(resp *http.Response, limit int64) (body []byte, ended bool, err error) {
	n := resp.ContentLength
	if n < 0 || n >= limit {
		return c.readUnsized(resp.Body, limit)
	}
	// One byte more than declared, to see the body end without a second buffer.
	buf := make([]byte, n+1)
	m, ended, err := readFull(resp.Body, buf)
	if err != nil || m <= int(n) { // the body as declared (or shorter), or a failed read
		return buf[:m:m], ended, err
	}
	// Longer than declared (net/http's transport enforces the length; a RoundTripper
	// may not): the rest is part of the body too.
	rest, ended, err := c.readUnsized(resp.Body, limit-n-1)
	return append(buf, rest...)[: m+len(rest) : m+len(rest)], ended, err
}

// readFull reads r into buf until buf is full or r ends (ended); the end is not an error.
func readFull(r io.Reader, buf []byte) (m int, ended bool, err error) {
	for m < len(buf) {
		k, err := r.Read(buf[m:])
		m += k
		if err == io.EOF {
			return m, true, nil
		}
		if err != nil {
			return m, false, err
		}
	}
	return m, false, nil
}

// maxPooledRead is the largest read buffer kept for reuse: one body near the 32 MB cap
// must not pin that much memory in the pool for good.
const maxPooledRead = 1 << 20

// readUnsized reads at most limit bytes of r into a pooled buffer and returns a copy of
// exactly their length (nil for none); ended reports that r ended.
func (c *Client) readUnsized(r io.Reader, limit int64) (out []byte, ended bool, err error) {
	bp, _ := c.reads.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 32<<10) // most of Flowglad's answers fit; billing may grow it once
		bp = &b
	}
	buf, ended, err := readAppend(r, (*bp)[:0], limit)
	if len(buf) > 0 {
		out = make([]byte, len(buf))
		copy(out, buf)
	}
	if cap(buf) <= maxPooledRead {
		*bp = buf[:0]
		c.reads.Put(bp)
	}
	return out, ended, err
}

// checkJSON reports whether raw is valid JSON starting with want (when set), and, when it
// is not, whether it is not JSON at all (garbled) rather than JSON of the wrong kind. When
// members is set, an object's top-level members are located in the same pass.
func checkJSON(raw []byte, want byte, members *BillingBody) (garbled bool, err error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return true, errors.New("empty body")
	case members != nil && trimmed[0] == '{':
		if !members.parse(raw) {
			return true, errors.New("body is not valid JSON")
		}
		return false, nil
	case !jsonscan.Valid(trimmed):
		return true, errors.New("body is not valid JSON")
	case want == '{' && trimmed[0] != want:
		return false, errors.New("body is not a JSON object")
	case want != 0 && trimmed[0] != want:
		return false, errors.New("body is not a JSON array")
	}
	return false, nil
}

// closeBody discards a bounded remainder so the connection can be reused,
// then closes.
func closeBody(rc io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, rc, maxDrain)
	_ = rc.Close()
}

// decodeInto unmarshals a 2xx body, reporting failures as ErrInvalidResponse.
func decodeInto(r request, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return invalidResponse(r.where(), err.Error())
	}
	return nil
}
