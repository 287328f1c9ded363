package rediscache

import "github.com/redis/go-redis/v9"

// runIDLen is the length of a Redis run_id: 40 hex characters. A stored body is prefixed
// with the run_id of the server that stored it.
const runIDLen = 40

// runID is the Lua that reads the serving process's run_id, which changes on every restart
// and differs between a primary and the replica that replaces it.
const runID = `
local info = redis.call('INFO', 'server')
local id = string.match(info, 'run_id:(%x+)')
if not id or #id ~= 40 then
  return redis.error_reply('rediscache: no 40-character run_id in INFO server')
end
`

// tokenScript answers "run_id:generation" (generation "0" before any Delete). Get sends it
// pipelined with a plain GET of the body on the same connection, so both are answered by
// the same server process: the body is trusted only if it carries this run_id. (Moving the
// 40 KB body through Lua would double the cost of a hit.)
//
// KEYS[1] generation.
var tokenScript = redis.NewScript(runID + `
return id .. ':' .. (redis.call('GET', KEYS[1]) or '0')
`)

// setScript stores the body, stamped with the run_id, if the token still names this server
// process and the current generation, and the last Delete (whose server time in µs the
// generation is) is at least ARGV[4] µs old; it answers 1 when stored, 0 when dropped.
//
// KEYS[1] body, KEYS[2] generation; ARGV[1] token, ARGV[2] body, ARGV[3] TTL in ms,
// ARGV[4] settle time in µs.
var setScript = redis.NewScript(runID + `
local gen = redis.call('GET', KEYS[2])
if ARGV[1] ~= id .. ':' .. (gen or '0') then
  return 0
end
if gen then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  if now - tonumber(gen) < tonumber(ARGV[4]) then
    return 0
  end
end
redis.call('SET', KEYS[1], id, 'PX', ARGV[3])
redis.call('APPEND', KEYS[1], ARGV[2])
return 1
`)

// deleteScript deletes the body and moves the generation forward: to the server's clock in
// microseconds, or by one if it is already there. So a generation that expired and is
// recreated is still larger than any it had before, and no token can match twice. The
// generation then lives at least ARGV[1] ms (its TTL is never shortened).
//
// KEYS[1] body, KEYS[2] generation; ARGV[1] generation TTL in ms.
var deleteScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local step = 1
if now > cur then
  step = now - cur
end
redis.call('INCRBY', KEYS[2], string.format('%d', step))
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return 1
`)
