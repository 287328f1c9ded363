package rediscache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowglad-go/flowglad/webhook"
)

// Defaults of NewWebhookStore.
const (
	// DefaultWebhookPrefix starts every key the WebhookStore writes.
	DefaultWebhookPrefix = "flowglad:webhook:"
	// DefaultClaimTTL is how long a claim lives unless completed or released: the time
	// after which an instance that died (or hangs) while handling a delivery loses it to
	// the next delivery of the same message. Well above webhook.DefaultTimeout, twice: the
	// handler's work and then its settling of the claim are each bounded by it.
	DefaultClaimTTL = time.Minute
	// DefaultCompletedTTL is how long a handled id is remembered: longer than Svix's retry
	// schedule (about a day), as webhook.DefaultStoreTTL.
	DefaultCompletedTTL = webhook.DefaultStoreTTL
	// DefaultWebhookTimeout bounds each Redis operation of the WebhookStore.
	DefaultWebhookTimeout = time.Second
)

// WebhookStore is a webhook.Store in Redis, for several instances that receive Flowglad's
// webhooks behind one load balancer: a delivery id claimed or handled by any of them is
// seen by all, so each message is handled once across the deployment. Pass one to
// webhook.WithStore on every instance (each its own WebhookStore over its own client, or
// one shared by the endpoints of an instance). It is safe for concurrent use.
//
// Each id is one key, prefix + id:
//
//   - Claim sets it with SET NX to a token of this claim, expiring after the claim TTL
//     (WithClaimTTL): exactly one of concurrent claims, from any instance, gets
//     webhook.Claimed; the others webhook.InFlight (answered 409, so Flowglad retries) or,
//     once it is handled, webhook.Completed (answered 204). A claim whose instance died
//     or hangs expires, and the next delivery of the message is handled by whoever claims
//     it then.
//   - Complete sets it to "done" for the completed TTL (WithCompletedTTL).
//   - Release deletes it if it still holds this claim's token, so a failed delivery is
//     handled when Flowglad retries it; a claim that expired and was taken over by another
//     instance is left alone.
//
// The claim TTL must exceed twice the handler's timeout (webhook.WithTimeout, 5 s by
// default): the work, then settling the claim, are each bounded by it. A function that
// ignores its context and runs past the claim TTL may run while another instance handles
// the same message again. Any Redis error fails the method, and the handler answers 500:
// Flowglad retries later, and nothing is handled twice meanwhile.
type WebhookStore struct {
	client   redis.UniversalClient
	prefix   string
	claimTTL time.Duration
	doneTTL  time.Duration
	timeout  time.Duration
	mu       sync.Mutex
	// claims holds, per id, the tokens of this store's claims not yet completed or
	// released, oldest first: more than one when a claim expired while its delivery still
	// ran and a redelivery to this instance claimed the id again.
	claims map[string][]string
}

// WebhookOption configures a WebhookStore. Values out of range (an empty prefix, a
// duration not above zero) keep the default.
type WebhookOption func(*WebhookStore)

// WithWebhookPrefix sets the prefix of every key, DefaultWebhookPrefix by default. Give each
// application (or environment) sharing a Redis database its own.
func WithWebhookPrefix(p string) WebhookOption {
	return func(s *WebhookStore) {
		if p != "" {
			s.prefix = p
		}
	}
}

// WithClaimTTL sets how long a claim lives unless completed or released,
// DefaultClaimTTL by default: how long a message waits after an instance died handling
// it, and what must exceed twice the handler's timeout.
func WithClaimTTL(d time.Duration) WebhookOption {
	return func(s *WebhookStore) {
		if d > 0 {
			s.claimTTL = d
		}
	}
}

// WithCompletedTTL sets how long a handled id is remembered, DefaultCompletedTTL by
// default. Keep it longer than Flowglad may redeliver (about a day).
func WithCompletedTTL(d time.Duration) WebhookOption {
	return func(s *WebhookStore) {
		if d > 0 {
			s.doneTTL = d
		}
	}
}

// WithWebhookTimeout bounds each Redis operation, DefaultWebhookTimeout by default.
func WithWebhookTimeout(d time.Duration) WebhookOption {
	return func(s *WebhookStore) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// NewWebhookStore returns a WebhookStore over rdb (a *redis.Client, a cluster or failover
// client), which stays the caller's to close. With a nil rdb every method fails, so every
// delivery is answered 500 and retried by Flowglad until the store is fixed.
func NewWebhookStore(rdb redis.UniversalClient, opts ...WebhookOption) *WebhookStore {
	s := &WebhookStore{
		client:   rdb,
		prefix:   DefaultWebhookPrefix,
		claimTTL: DefaultClaimTTL,
		doneTTL:  DefaultCompletedTTL,
		timeout:  DefaultWebhookTimeout,
		claims:   map[string][]string{},
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	return s
}

var _ webhook.Store = (*WebhookStore)(nil)

// errNoClient is what a WebhookStore made with a nil client answers.
var errNoClient = errors.New("rediscache: webhook store has no Redis client")

// doneValue marks a handled id. Claims hold "claim:" and a token, never this.
const doneValue = "done"

// claimScript answers 1 when it claimed the id (SET NX with the claim TTL), 3 when the id
// is done, 2 when someone else holds it. One script, so the answer describes the key the
// SET NX found.
//
// KEYS[1] the id's key; ARGV[1] the claim's value, ARGV[2] the claim TTL in ms.
var claimScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == '` + doneValue + `' then
  return 3
end
return 2
`)

// releaseScript deletes the key if it still holds this claim's value; answers 1 if it did.
//
// KEYS[1] the id's key; ARGV[1] the claim's value.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Claim implements webhook.Store.
func (s *WebhookStore) Claim(ctx context.Context, id string) (webhook.ClaimStatus, error) {
	if s.client == nil {
		return 0, errNoClient
	}
	token := "claim:" + newToken()
	n, err := bounded(ctx, s.timeout, func(ctx context.Context) (int64, error) {
		return claimScript.Run(ctx, s.client, []string{s.prefix + id}, token, s.claimTTL.Milliseconds()).Int64()
	})
	if err != nil {
		// A claim that landed after all expires after the claim TTL.
		return 0, fmt.Errorf("rediscache: webhook claim: %w", err)
	}
	switch n {
	case 1:
		s.mu.Lock()
		s.claims[id] = append(s.claims[id], token)
		s.mu.Unlock()
		return webhook.Claimed, nil
	case 3:
		return webhook.Completed, nil
	default:
		return webhook.InFlight, nil
	}
}

// Complete implements webhook.Store. The id is marked handled even if this store's claim
// expired meanwhile: the event was handled.
func (s *WebhookStore) Complete(ctx context.Context, id string) error {
	if s.client == nil {
		return errNoClient
	}
	s.forget(id)
	_, err := bounded(ctx, s.timeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.client.Set(ctx, s.prefix+id, doneValue, s.doneTTL).Err()
	})
	if err != nil {
		return fmt.Errorf("rediscache: webhook complete: %w", err)
	}
	return nil
}

// Release implements webhook.Store. It deletes only this store's own claim: an id it did
// not claim, or whose claim expired and was taken by another instance, is left as it is.
// While this store holds two claims of one id (the first expired while its delivery still
// ran, and a redelivery here claimed the id again), a Release cannot tell whose delivery
// failed, so it leaves the claim in Redis to its TTL rather than free the one still
// running.
func (s *WebhookStore) Release(ctx context.Context, id string) error {
	if s.client == nil {
		return errNoClient
	}
	token, ok := s.forget(id)
	if !ok {
		return nil
	}
	_, err := bounded(ctx, s.timeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, releaseScript.Run(ctx, s.client, []string{s.prefix + id}, token).Err()
	})
	if err != nil {
		// The claim stays until its TTL: the redelivery after that is handled.
		return fmt.Errorf("rediscache: webhook release: %w", err)
	}
	return nil
}

// forget removes one of this store's claims of id and returns its token, ok false when
// there was none, or when others are left (the settling delivery may be any of them, so no
// claim may be released in Redis).
func (s *WebhookStore) forget(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tokens := s.claims[id]
	switch len(tokens) {
	case 0:
		return "", false
	case 1:
		delete(s.claims, id)
		return tokens[0], true
	default:
		s.claims[id] = tokens[1:]
		return "", false
	}
}

// newToken returns 128 random bits in hex: a claim's identity, which no other claim of any
// instance shares.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
