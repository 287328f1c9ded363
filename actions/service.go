// Package actions holds the logic of every /api/flowglad action: input validation, the
// Flowglad calls each action makes, ownership checks and the shape of each result.
//
// One [Service] serves both the HTTP handler of the root package (which decodes browser
// bodies with the Decode functions and maps errors to statuses) and Go code on the server,
// which calls the same methods directly. Every method takes the authenticated [Customer]:
// the customer is never taken from a request body.
//
// Results that Flowglad produced are relayed as raw JSON ([encoding/json.RawMessage]):
// only the few fields an action reads are decoded, so fields added by newer Flowglad versions
// pass through untouched.
package actions

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/google/uuid"
)

// Customer is the signed-in customer as the host application knows it.
type Customer struct {
	// ExternalID is the customer's id in the host application (a user or organization id),
	// which Flowglad stores as the customer's externalId.
	ExternalID string
	// Name is used when the Flowglad customer is created; it may be empty.
	Name string
	// Email is used when the Flowglad customer is created.
	Email string
}

// Options configure a [Service]. The zero value is ready to use.
type Options struct {
	// Logger receives warnings about failures the service recovers from. Nil discards them.
	Logger *slog.Logger
	// BillingCacheTTL keeps a customer's billing for this long after it was read. Zero (the
	// default) disables caching: concurrent reads are still shared, but every request that
	// needs billing after the last one finished reads it again. Every mutation made through
	// the Service for a customer forgets that customer's cached billing.
	BillingCacheTTL time.Duration
	// BillingCache stores billing when BillingCacheTTL > 0. Nil means an in-process cache;
	// a deployment with several instances can plug a shared store.
	BillingCache BillingCache
	// NewTransactionID returns the idempotency key of a usage event created without one.
	// Nil means a random UUID.
	NewTransactionID func() string
	// Now returns the current time (for usage dates). Nil means time.Now.
	Now func() time.Time
}

// Service runs actions against Flowglad. It is safe for concurrent use.
type Service struct {
	client  *flowgladapi.Client
	logger  *slog.Logger
	billing *billingLoader
	newTxID func() string
}

// New returns a Service that talks to Flowglad through client.
func New(client *flowgladapi.Client, opts Options) (*Service, error) {
	if client == nil {
		return nil, errors.New("actions: nil flowgladapi client")
	}
	if opts.BillingCacheTTL < 0 {
		return nil, errors.New("actions: negative BillingCacheTTL")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	newTxID := opts.NewTransactionID
	if newTxID == nil {
		newTxID = uuid.NewString
	}
	cache := opts.BillingCache
	if cache == nil && opts.BillingCacheTTL > 0 {
		cache = newMemoryCache(opts.Now)
	}
	return &Service{
		client:  client,
		logger:  logger,
		billing: newBillingLoader(client, cache, opts.BillingCacheTTL, logger),
		newTxID: newTxID,
	}, nil
}

// Client returns the Flowglad client the service uses.
func (s *Service) Client() *flowgladapi.Client { return s.client }

// Billing returns the customer's billing, creating the Flowglad customer on first use.
// Concurrent calls for the same customer share one Flowglad request.
//
// It calls GET /api/v1/customers/{externalId}/billing, and when Flowglad answers
// 404 NOT_FOUND, POST /api/v1/customers followed by the same GET.
func (s *Service) Billing(ctx context.Context, c Customer) (*flowgladapi.Billing, error) {
	return s.billing.load(ctx, c)
}

// InvalidateBilling forgets what is shared or cached of the customer's billing, so the next
// read asks Flowglad. Mutations made through the Service do it themselves; call it after
// changing the customer some other way (a webhook, say). An error means the billing cache
// could not delete the entry: this process then reads the customer's billing from Flowglad
// until a later delete succeeds, but other instances sharing the cache may not know.
func (s *Service) InvalidateBilling(ctx context.Context, externalID string) error {
	return s.billing.invalidate(ctx, externalID)
}

// raw is a JSON value relayed unchanged; it marshals as itself.
type raw = json.RawMessage

// changed forgets the customer's billing after a mutation. A cache failure is logged by the
// loader, and the loader then stops trusting the cache for the customer; the mutation itself
// succeeded, so its caller is not failed for it.
func (s *Service) changed(ctx context.Context, externalID string) {
	_ = s.billing.invalidate(ctx, externalID)
}
