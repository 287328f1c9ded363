package flowglad

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/billingread"
	"github.com/google/uuid"
)

// Service is Flowglad billing for Go code on the server: billing with its helpers,
// checkouts, usage events, subscriptions and resources, for one customer at a time, with
// typed results. The route's actions run on the same Service, so a Go caller gets the same
// defaults, validation (the same invalid_body issues), ownership checks and errors as a
// browser, and both share one billing state: a mutation through either is seen by the next
// read through the other.
//
// Every method takes the customer it acts for: only Customer.ExternalID is needed, and a
// name and email only when Flowglad does not know the customer yet (see
// Config.LookupCustomer). Errors are *Error for what the Service refuses and
// *flowgladapi.Error for what Flowglad refuses; [WriteError] answers either as the route
// would. A Service is safe for concurrent use.
type Service struct {
	client  *flowgladapi.Client
	logger  *slog.Logger
	billing billingReads
	// creating shares the creation of a Flowglad customer among concurrent first visits.
	creating billingread.Group
	lookup   func(ctx context.Context, externalID string) (Customer, error)
	newTxID  func() string
	// redirectOrigins are Config.RedirectOrigins; nil allows any http(s) URL.
	redirectOrigins map[string]bool
	// pending is usage recorded and not yet at Flowglad (AddPendingUsage), subtracted from
	// the balances Billing and CurrentSubscriptions return; nil when none is registered.
	pending pendingList
	// expect are the slugs code relies on, for Check.
	expect expectations
}

// serviceOptions are the Service's settings, with test hooks that Config does not offer.
type serviceOptions struct {
	logger         *slog.Logger
	cacheTTL       time.Duration
	cache          BillingCache
	cacheTimeout   time.Duration // bounds each call to cache; 0 means billingread.DefaultCacheTimeout
	cacheMaxBytes  int64
	staleIfError   time.Duration
	lookupCustomer func(ctx context.Context, externalID string) (Customer, error)
	// redirectOrigins are Config.RedirectOrigins, checked.
	redirectOrigins map[string]bool
	// newTxID returns the idempotency key of a usage event created without one.
	newTxID func() string
	// now is the in-process cache's clock.
	now func() time.Time
}

// NewService returns a Service for Go code that has no HTTP route to serve (a worker, a
// cron job, a webhook consumer). It validates cfg as NewHandler does but needs no Auth: the
// Service takes the customer as an argument. A Handler has a Service of its own
// ([Handler.Service]); use that one in a program that serves the route, so both share
// billing reads and invalidations.
func NewService(cfg Config) (*Service, error) {
	st, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	client, err := cfg.client(st)
	if err != nil {
		return nil, err
	}
	return newService(client, cfg.serviceOptions(st)), nil
}

func (cfg Config) serviceOptions(st settings) serviceOptions {
	return serviceOptions{
		logger:          st.logger,
		cacheTTL:        cfg.BillingCacheTTL,
		cache:           cfg.BillingCache,
		cacheMaxBytes:   cfg.BillingCacheMaxBytes,
		staleIfError:    cfg.StaleIfError,
		lookupCustomer:  cfg.LookupCustomer,
		redirectOrigins: st.redirectOrigins,
	}
}

func newService(client *flowgladapi.Client, opts serviceOptions) *Service {
	logger := opts.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	newTxID := opts.newTxID
	if newTxID == nil {
		newTxID = uuid.NewString
	}
	now := opts.now
	if now == nil {
		now = time.Now
	}
	s := &Service{
		client:          client,
		logger:          logger,
		lookup:          opts.lookupCustomer,
		newTxID:         newTxID,
		redirectOrigins: opts.redirectOrigins,
	}
	s.billing = newBillingReads(s, opts, now)
	return s
}

// newBillingReads sets up the Service's billing reads as opts say, on the clock now: the
// cache (in process or opts.cache), last-known billing, and the read itself (fetchBilling,
// creating the customer on a first visit).
func newBillingReads(s *Service, opts serviceOptions, now func() time.Time) billingReads {
	var b billingReads
	var store billingread.Store[*billingEntry]
	switch {
	case opts.cacheTTL <= 0:
	case opts.cache != nil:
		store = billingread.NewSharedStore(opts.cache, opts.cacheTimeout, newBillingEntry)
	default:
		store = billingread.NewLocalStore[*billingEntry](opts.cacheMaxBytes, now)
	}
	if opts.staleIfError > 0 {
		if sc, ok := opts.cache.(StaleBillingCache); ok {
			b.lastKnown = billingread.NewSharedLastKnown(sc, opts.cacheTimeout, newBillingEntry)
		} else {
			b.lastKnown = billingread.NewLocalLastKnown[*billingEntry](opts.cacheMaxBytes, now)
		}
	}
	b.loader = billingread.NewLoader(billingread.Config[billingArg, *billingEntry]{
		Fetch:      s.fetchBilling,
		New:        newBillingEntry,
		Store:      store,
		TTL:        opts.cacheTTL,
		LastKnown:  b.lastKnown,
		StaleFor:   opts.staleIfError,
		BeforeRead: s.notePendingRead,
		Logger:     s.logger,
		Now:        now,
	})
	return b
}

// Logger returns the logger the Service reports recovered failures to (Config.Logger), for
// code built on the Service, such as the middleware package.
func (s *Service) Logger() *slog.Logger { return s.logger }

// Client returns the Flowglad REST client the Service uses, for endpoints the Service does
// not wrap.
func (s *Service) Client() *flowgladapi.Client { return s.client }

// Billing returns the customer's billing with the React SDK's helpers (CheckFeatureAccess,
// CheckUsageBalance, Product, Price, HasPurchased), creating the Flowglad customer on first
// use. Concurrent reads for one customer, the route's included, share one Flowglad request,
// so gating an endpoint on billing adds no call to a page that reads billing anyway. The
// result is shared: do not modify it. The usage meter balances of its current subscriptions
// have usage recorded and not yet at Flowglad subtracted (see AddPendingUsage); Raw is
// Flowglad's body as sent.
//
// It calls GET /api/v1/customers/{externalId}/billing, and when Flowglad answers
// 404 NOT_FOUND, POST /api/v1/customers followed by the same GET.
func (s *Service) Billing(ctx context.Context, c Customer) (*flowgladapi.Billing, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	return s.billingWithPending(ctx, c, e)
}

// CurrentSubscriptions returns the customer's current subscriptions (active, trialing, past
// due, cancellation scheduled), newest first, as Billing's CurrentSubscriptions: from the
// same shared billing read, decoding only them. Feature and balance checks need nothing
// else (flowgladapi.Subscription's HasFeature and UsageBalance on the first). Balances
// have pending usage subtracted, as Billing's (see AddPendingUsage).
func (s *Service) CurrentSubscriptions(ctx context.Context, c Customer) ([]flowgladapi.Subscription, error) {
	e, err := s.billingEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	return s.currentWithPending(ctx, c, e)
}

// billingEntry returns the customer's billing body, shared or cached, with what has been
// decoded of it.
func (s *Service) billingEntry(ctx context.Context, c Customer) (*billingEntry, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	e, _, err := s.billing.load(ctx, c, false)
	return e, err
}

// billingIndex is the narrow view of a customer's billing that ownership checks and
// subscription choices read; subscriptionRef is one subscription in it.
type (
	billingIndex    = billingread.Index
	subscriptionRef = billingread.SubscriptionRef
)

// billingIndex returns the narrow view of the customer's billing that ownership checks
// and subscription choices read.
func (s *Service) billingIndex(ctx context.Context, c Customer) (*billingIndex, error) {
	x, _, err := s.billingIndexFrom(ctx, c)
	return x, err
}

// billingIndexFrom is billingIndex, and reports whether the billing was kept from before
// this call (see billingread.Loader.Load).
func (s *Service) billingIndexFrom(ctx context.Context, c Customer) (*billingIndex, bool, error) {
	if err := c.validate(); err != nil {
		return nil, false, err
	}
	e, kept, err := s.billing.load(ctx, c, true)
	if err != nil {
		return nil, false, err
	}
	x, err := e.Index()
	return x, kept, err
}

// refused reports whether err is Flowglad's refusal of a write, which therefore changed
// nothing: a 4xx other than 408 and 429 (after which a retried write may have landed on an
// earlier attempt).
func refused(err error) bool {
	var apiErr *flowgladapi.Error
	return errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 &&
		apiErr.StatusCode != http.StatusRequestTimeout && apiErr.StatusCode != http.StatusTooManyRequests
}

// InvalidateBilling forgets what is shared or cached of the customer's billing, so the next
// read asks Flowglad. Mutations made through the Service do it themselves; call it after
// the customer changed some other way (a webhook, say). An error means the billing cache
// could not delete the entry: this process then reads the customer's billing from Flowglad
// until a later delete succeeds, but other instances sharing the cache may not know.
func (s *Service) InvalidateBilling(ctx context.Context, externalID string) error {
	return s.billing.invalidate(ctx, externalID)
}

// wrote forgets the customer's billing after a write to Flowglad, unless Flowglad refused
// it (refused: nothing changed, and the cached billing still holds). When the outcome is
// unknown (a timeout, an outage, a retried write whose last answer was a 408 or 429) the
// write may have landed, so billing is forgotten then too. A cache failure is logged by
// the loader, which then stops trusting the cache for the customer; the write itself is
// not failed for it.
func (s *Service) wrote(ctx context.Context, externalID string, err error) {
	if err != nil && refused(err) {
		return
	}
	_ = s.billing.invalidate(ctx, externalID)
}

// errNoEmail is the error when a customer must be created and there is no email to create
// it with. Its message names the customer and the fix, for the log and Go callers; the
// route and the middleware answer it as any 500, with a generic message and the request
// id. The external id is the host's id, not personal data.
func errNoEmail(externalID string) *Error {
	return errBadEmail(externalID, "there is no email to create it with: give Customer.Email, or set Config.LookupCustomer")
}

// errBadEmail is the error when a customer must be created and its email is missing or
// invalid, for the reason given (which must not hold the email).
func errBadEmail(externalID, reason string) *Error {
	return &Error{
		Status:  500,
		Code:    CodeInvalidCustomer,
		Message: fmt.Sprintf("Flowglad has no customer %q yet and it cannot be created: %s", clip(externalID), reason),
	}
}

// errLookup wraps a failure of Config.LookupCustomer. Its text may hold the very email or
// name being looked up, which no log can redact (the Customer at hand does not carry them),
// so it is wrapped in a lookupFailure that names its type only, as an authenticator's
// error is; errors.As still reaches it.
func errLookup(err error) *Error {
	return &Error{
		Status:  500,
		Code:    CodeInvalidCustomer,
		Message: fmt.Sprintf("Config.LookupCustomer failed (%T), so the Flowglad customer could not be created", err),
		Err:     &lookupFailure{err: err},
	}
}

// lookupFailure is a Config.LookupCustomer error whose text is left out: it says what the
// error is (its type, the sentinels it wraps), as authFailure does.
type lookupFailure struct{ err error }

func (e *lookupFailure) Error() string { return "lookup failed: " + describeAuthError(e.err) }

func (e *lookupFailure) Unwrap() error { return e.err }

// Is reports ErrLookupFailed.
func (e *lookupFailure) Is(target error) bool { return target == ErrLookupFailed }

// ErrLookupFailed is in the chain of the error (an *Error with Code CodeInvalidCustomer) of
// an operation that had to create the Flowglad customer and could not, because
// Config.LookupCustomer failed: unlike a customer with no valid email, a failure that may
// pass (the application's database was down), so an operation retried later may succeed.
var ErrLookupFailed = errors.New("flowglad: Config.LookupCustomer failed")
