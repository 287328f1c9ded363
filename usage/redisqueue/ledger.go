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

// Ledger returns the queue's shared ledger, so that every instance's balances and
// reservations agree. A recorder given the queue uses it unless told otherwise
// (usage.WithLedger).
func (q *Queue) Ledger() *Ledger {
	return &Ledger{rdb: q.rdb, prefix: strings.TrimSuffix(q.stream, "{"+q.name+"}") + "ledger:{" + q.name + ":", now: time.Now}
}

// SharedLedger implements usage.SharedQueue: it is Ledger, the ledger a recorder on the
// queue uses by default.
func (q *Queue) SharedLedger() usage.Ledger { return q.Ledger() }

var _ usage.SharedQueue = (*Queue)(nil)

// keys returns the pending hash (transaction id -> amount|key), the holds hash, the
// generation key and the sums hash (key -> summed amount) of a customer. A key is the JSON
// of the meter reference and subscription an event names; View and Reserve read the sums,
// so neither walks every pending event.
func (l *Ledger) keys(customerID string) ([]string, error) {
	if customerID == "" {
		return nil, errors.New("redisqueue: ledger: empty customer id")
	}
	k := l.prefix + ledgerEscaper.Replace(customerID) + "}:"
	return []string{k + "pending", k + "holds", k + "gen", k + "sums"}, nil
}

// sumKey is what pending usage is summed by, encoded as the sums hash's field.
type sumKey struct {
	UsageMeterSlug string `json:"UsageMeterSlug,omitempty"`
	UsageMeterID   string `json:"UsageMeterID,omitempty"`
	PriceSlug      string `json:"PriceSlug,omitempty"`
	PriceID        string `json:"PriceID,omitempty"`
	SubscriptionID string `json:"SubscriptionID,omitempty"`
}

var ledgerEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

// pendingTTL bounds how long a customer's pending entries outlive their last change: an
// event is removed when it reaches Flowglad, so only the entries of a queue that was
// abandoned (its events never sent) linger, and not forever.
const pendingTTL = 7 * 24 * time.Hour

// addPendingScript notes each event once (HSETNX on its transaction id) and adds its amount
// to its key's sum. It returns how many it noted.
//
// KEYS[1] pending, KEYS[2] sums; ARGV[1] TTL in ms, then per event: transaction id, amount,
// key.
var addPendingScript = redis.NewScript(`
local added = 0
for i = 2, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2]) == 1 then
    redis.call('HINCRBY', KEYS[2], ARGV[i + 2], ARGV[i + 1])
    added = added + 1
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return added
`)

// removePendingScript forgets events and subtracts them from their sums, then moves the
// generation on. It returns the new generation.
//
// KEYS[1] pending, KEYS[2] sums, KEYS[3] gen; ARGV[1] TTL in ms, ARGV[2..] transaction ids.
var removePendingScript = redis.NewScript(`
for i = 2, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v then
    local sep = string.find(v, '|', 1, true)
    local key = string.sub(v, sep + 1)
    if redis.call('HINCRBY', KEYS[2], key, -tonumber(string.sub(v, 1, sep - 1))) <= 0 then
      redis.call('HDEL', KEYS[2], key)
    end
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
local gen = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return gen
`)

// AddPending implements usage.Ledger: one script, an event noted twice counted once.
func (l *Ledger) AddPending(ctx context.Context, customerID string, events []usage.PendingEvent) error {
	_, err := l.AddPendingCount(ctx, customerID, events)
	return err
}

// AddPendingCount is AddPending that returns how many of the events were not pending
// already (see usage.Ledger), in the same script.
func (l *Ledger) AddPendingCount(ctx context.Context, customerID string, events []usage.PendingEvent) (added int, err error) {
	if len(events) == 0 {
		return 0, nil
	}
	keys, err := l.keys(customerID)
	if err != nil {
		return 0, err
	}
	args := make([]any, 0, 1+3*len(events))
	args = append(args, pendingTTL.Milliseconds())
	for _, e := range events {
		k, err := json.Marshal(sumKey{e.UsageMeterSlug, e.UsageMeterID, e.PriceSlug, e.PriceID, e.SubscriptionID})
		if err != nil {
			return 0, fmt.Errorf("redisqueue: ledger: %w", err)
		}
		args = append(args, e.TransactionID, e.Amount, k)
	}
	n, err := addPendingScript.Run(ctx, l.rdb, []string{keys[0], keys[3]}, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("redisqueue: ledger: add pending: %w", err)
	}
	return n, nil
}

// RemovePending implements usage.Ledger.
func (l *Ledger) RemovePending(ctx context.Context, customerID string, txIDs []string) error {
	_, err := l.removePending(ctx, customerID, txIDs)
	return err
}

// removePending runs removePendingScript and returns the customer's new generation.
func (l *Ledger) removePending(ctx context.Context, customerID string, txIDs []string) (uint64, error) {
	keys, err := l.keys(customerID)
	if err != nil {
		return 0, err
	}
	args := make([]any, 0, 1+len(txIDs))
	args = append(args, pendingTTL.Milliseconds())
	for _, id := range txIDs {
		args = append(args, id)
	}
	gen, err := removePendingScript.Run(ctx, l.rdb, []string{keys[0], keys[3], keys[2]}, args...).Uint64()
	if err != nil {
		return 0, fmt.Errorf("redisqueue: ledger: remove pending: %w", err)
	}
	return gen, nil
}

// RemovePendingAt is RemovePending that also returns the customer's generation after it,
// and whether it was gen before it (see usage.Ledger): the same script, whose INCR moves
// the generation on by one.
func (l *Ledger) RemovePendingAt(ctx context.Context, customerID string, txIDs []string, gen uint64) (next uint64, wasAt bool, err error) {
	next, err = l.removePending(ctx, customerID, txIDs)
	return next, err == nil && next == gen+1, err
}

// View implements usage.Ledger: one round trip.
func (l *Ledger) View(ctx context.Context, customerID string) (usage.LedgerView, error) {
	keys, err := l.keys(customerID)
	if err != nil {
		return usage.LedgerView{}, err
	}
	pipe := l.rdb.Pipeline()
	sums := pipe.HGetAll(ctx, keys[3])
	holds := pipe.HVals(ctx, keys[1])
	gen := pipe.Get(ctx, keys[2])
	_, _ = pipe.Exec(ctx) // errors are the commands'
	var v usage.LedgerView
	g, err := gen.Uint64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return v, fmt.Errorf("redisqueue: ledger: view: %w", err)
	}
	v.Generation = g
	sv, err := sums.Result()
	if err != nil {
		return v, fmt.Errorf("redisqueue: ledger: view: %w", err)
	}
	for raw, amount := range sv {
		var k sumKey
		n, err := strconv.ParseInt(amount, 10, 64)
		if err != nil || n <= 0 || json.Unmarshal([]byte(raw), &k) != nil {
			continue
		}
		v.Pending = append(v.Pending, usage.PendingEvent{UsageMeterSlug: k.UsageMeterSlug, UsageMeterID: k.UsageMeterID,
			PriceSlug: k.PriceSlug, PriceID: k.PriceID, SubscriptionID: k.SubscriptionID, Amount: n})
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
// KEYS[1] sums, KEYS[2] holds, KEYS[3] gen; ARGV[1] generation, ARGV[2] available,
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
local sums = redis.call('HGETALL', KEYS[1])
for i = 1, #sums, 2 do
  if counts(cjson.decode(sums[i])) then left = left - tonumber(sums[i + 1]) end
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
	n, err := reserveScript.Run(ctx, l.rdb, []string{keys[3], keys[1], keys[2]},
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
