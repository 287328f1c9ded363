package redisqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowglad-go/flowglad/usage"
)

// Ledger is a usage.Ledger in Redis, shared by every instance that records into the same
// queue: each instance's gates see every instance's pending usage and holds, and a hold is
// granted atomically (one script), so concurrent requests on a balance B pass at most
// floor(B/amount) times across instances. Holds carry their expiry: those of an instance
// that crashed lapse by themselves.
//
// A customer's keys share a Redis Cluster hash slot: prefix + "ledger:{" + queue name + ":"
// + customer id + "}:" + pending, holds or gen. Each operation is one round trip.
type Ledger struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ usage.Ledger = (*Ledger)(nil)

// Ledger returns the queue's shared ledger: give it to the recorder with the queue
// (usage.WithLedger), so that every instance's balances and reservations agree.
func (q *Queue) Ledger() *Ledger {
	return &Ledger{rdb: q.rdb, prefix: strings.TrimSuffix(q.stream, "{"+q.name+"}") + "ledger:{" + q.name + ":", now: time.Now}
}

// keys returns the pending hash, the holds hash and the generation key of a customer.
func (l *Ledger) keys(customerID string) ([]string, error) {
	if customerID == "" {
		return nil, errors.New("redisqueue: ledger: empty customer id")
	}
	k := l.prefix + ledgerEscaper.Replace(customerID) + "}:"
	return []string{k + "pending", k + "holds", k + "gen"}, nil
}

var ledgerEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

// pendingTTL bounds how long a customer's pending entries outlive their last change: an
// event is removed when it reaches Flowglad, so only the entries of a queue that was
// abandoned (its events never sent) linger, and not forever.
const pendingTTL = 7 * 24 * time.Hour

// AddPending implements usage.Ledger.
func (l *Ledger) AddPending(ctx context.Context, customerID string, events []usage.PendingEvent) error {
	if len(events) == 0 {
		return nil
	}
	keys, err := l.keys(customerID)
	if err != nil {
		return err
	}
	fields := make([]any, 0, 2*len(events))
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("redisqueue: ledger: %w", err)
		}
		fields = append(fields, e.TransactionID, b)
	}
	pipe := l.rdb.TxPipeline()
	pipe.HSet(ctx, keys[0], fields...)
	pipe.PExpire(ctx, keys[0], pendingTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisqueue: ledger: add pending: %w", err)
	}
	return nil
}

// RemovePending implements usage.Ledger.
func (l *Ledger) RemovePending(ctx context.Context, customerID string, txIDs []string) error {
	keys, err := l.keys(customerID)
	if err != nil {
		return err
	}
	pipe := l.rdb.TxPipeline()
	if len(txIDs) > 0 {
		pipe.HDel(ctx, keys[0], txIDs...)
	}
	pipe.Incr(ctx, keys[2])
	pipe.PExpire(ctx, keys[2], pendingTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisqueue: ledger: remove pending: %w", err)
	}
	return nil
}

// View implements usage.Ledger: one round trip.
func (l *Ledger) View(ctx context.Context, customerID string) (usage.LedgerView, error) {
	keys, err := l.keys(customerID)
	if err != nil {
		return usage.LedgerView{}, err
	}
	pipe := l.rdb.Pipeline()
	pending := pipe.HVals(ctx, keys[0])
	holds := pipe.HVals(ctx, keys[1])
	gen := pipe.Get(ctx, keys[2])
	_, _ = pipe.Exec(ctx) // errors are the commands'
	var v usage.LedgerView
	g, err := gen.Uint64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return v, fmt.Errorf("redisqueue: ledger: view: %w", err)
	}
	v.Generation = g
	pv, err := pending.Result()
	if err != nil {
		return v, fmt.Errorf("redisqueue: ledger: view: %w", err)
	}
	for _, raw := range pv {
		var e usage.PendingEvent
		if json.Unmarshal([]byte(raw), &e) == nil {
			v.Pending = append(v.Pending, e)
		}
	}
	hv, err := holds.Result()
	if err != nil {
		return v, fmt.Errorf("redisqueue: ledger: view: %w", err)
	}
	now := l.now()
	for _, raw := range hv {
		var h usage.Hold
		if json.Unmarshal([]byte(raw), &h) == nil && now.Before(h.ExpiresAt) {
			v.Holds = append(v.Holds, h)
		}
	}
	return v, nil
}

// reserveScript grants a hold if the generation is the caller's and the balance covers it:
// Flowglad's balance, less the pending events that count against the meter, less the
// meter's live holds (expired ones are removed on the way). It answers 1 (granted), 0
// (not enough), or an error reply "STALE".
//
// KEYS[1] pending, KEYS[2] holds, KEYS[3] gen; ARGV[1] generation, ARGV[2] available,
// ARGV[3] now (ms), ARGV[4] hold id, ARGV[5] hold JSON, ARGV[6] meter slug, ARGV[7] amount,
// ARGV[8] expiry (ms), ARGV[9] refs JSON.
var reserveScript = redis.NewScript(`
if tostring(tonumber(redis.call('GET', KEYS[3]) or '0')) ~= ARGV[1] then
  return redis.error_reply('STALE')
end
local refs = cjson.decode(ARGV[9])
local function has(list, s)
  if type(list) ~= 'table' then return false end
  for _, x in ipairs(list) do if x == s then return true end end
  return false
end
local function counts(e)
  if e.UsageMeterSlug and e.UsageMeterSlug ~= '' then return e.UsageMeterSlug == refs.Slug end
  if e.UsageMeterID and e.UsageMeterID ~= '' then return refs.ID ~= '' and e.UsageMeterID == refs.ID end
  if e.PriceSlug and e.PriceSlug ~= '' then return has(refs.PriceSlugs, e.PriceSlug) end
  if e.PriceID and e.PriceID ~= '' then return has(refs.PriceIDs, e.PriceID) end
  return false
end
local left = tonumber(ARGV[2])
for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
  local e = cjson.decode(raw)
  if counts(e) then left = left - e.Amount end
end
local now = tonumber(ARGV[3])
local h = redis.call('HGETALL', KEYS[2])
for i = 1, #h, 2 do
  local hold = cjson.decode(h[i + 1])
  local exp = tonumber(string.match(h[i + 1], '"expiresAtMs":(%d+)') or '0')
  if exp <= now then
    redis.call('HDEL', KEYS[2], h[i])
  elseif hold.Meter == ARGV[6] then
    left = left - hold.Amount
  end
end
if left < tonumber(ARGV[7]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
local ttl = redis.call('PTTL', KEYS[2])
local want = tonumber(ARGV[8]) - now
if ttl < want then redis.call('PEXPIRE', KEYS[2], want) end
return 1
`)

// storedHold is a Hold as the ledger stores it: with its expiry in epoch milliseconds, which
// the script compares.
type storedHold struct {
	usage.Hold
	ExpiresAtMs int64 `json:"expiresAtMs"`
}

// Reserve implements usage.Ledger: one script, atomic across instances.
func (l *Ledger) Reserve(ctx context.Context, req usage.ReserveRequest) (bool, error) {
	keys, err := l.keys(req.CustomerID)
	if err != nil {
		return false, err
	}
	if req.Hold.ID == "" {
		return false, errors.New("redisqueue: ledger: a hold needs an id")
	}
	hold, err := json.Marshal(storedHold{Hold: req.Hold, ExpiresAtMs: req.Hold.ExpiresAt.UnixMilli()})
	if err != nil {
		return false, fmt.Errorf("redisqueue: ledger: %w", err)
	}
	refs, err := json.Marshal(req.Refs)
	if err != nil {
		return false, fmt.Errorf("redisqueue: ledger: %w", err)
	}
	now := l.now()
	if !now.Before(req.Hold.ExpiresAt) {
		return false, errors.New("redisqueue: ledger: the hold has already expired")
	}
	n, err := reserveScript.Run(ctx, l.rdb, keys,
		strconv.FormatUint(req.Generation, 10), strconv.FormatFloat(req.Available, 'f', -1, 64),
		now.UnixMilli(), req.Hold.ID, hold, req.Hold.Meter, req.Hold.Amount,
		req.Hold.ExpiresAt.UnixMilli(), refs).Int()
	if redis.HasErrorPrefix(err, "STALE") {
		return false, usage.ErrStale
	}
	if err != nil {
		return false, fmt.Errorf("redisqueue: ledger: reserve: %w", err)
	}
	return n == 1, nil
}

// Unreserve implements usage.Ledger.
func (l *Ledger) Unreserve(ctx context.Context, customerID, holdID string) error {
	keys, err := l.keys(customerID)
	if err != nil {
		return err
	}
	if err := l.rdb.HDel(ctx, keys[1], holdID).Err(); err != nil {
		return fmt.Errorf("redisqueue: ledger: unreserve: %w", err)
	}
	return nil
}
