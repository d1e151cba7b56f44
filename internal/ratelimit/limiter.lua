-- Sliding-window limiter: check and record one request in every window at once.
-- KEYS[1] state (msgpack array), KEYS[2] generation counter; both share a hash tag.
-- ARGV[1] record (1) or peek (0); ARGV[2] number of windows; then per window:
-- granularity in ms, bucket count N, limit.
-- State per window: {last bucket index, N+1 counters (ring by index mod N+1)}.
-- Returns {allowed, now_ms, generation, then per window: remaining, reset_ms, retry_after_ms}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local record = ARGV[1] == '1'
local nw = tonumber(ARGV[2])

local g, slots, lim, off = {}, {}, {}, {}
local len, ttl = 0, 0
for w = 1, nw do
  local a = 3 + (w - 1) * 3
  g[w] = tonumber(ARGV[a])
  slots[w] = tonumber(ARGV[a + 1]) + 1
  lim[w] = tonumber(ARGV[a + 2])
  off[w] = len
  len = len + 1 + slots[w]
  if g[w] * slots[w] > ttl then ttl = g[w] * slots[w] end
end

local st
local raw = redis.call('GET', KEYS[1])
if raw then st = cmsgpack.unpack(raw) end
if type(st) ~= 'table' or #st ~= len then
  st = {}
  for i = 1, len do st[i] = 0 end
end

-- Rotate: zero the buckets that left each window since the last request.
local cur, sum = {}, {}
local allowed = 1
for w = 1, nw do
  local o, n = off[w], slots[w]
  local c = math.floor(now / g[w])
  local last = st[o + 1]
  if c - last >= n then
    for i = 1, n do st[o + 1 + i] = 0 end
  elseif c > last then
    for b = last + 1, c do st[o + 2 + (b % n)] = 0 end
  end
  if c < last then c = last end -- clock stepped back: keep counting conservatively
  st[o + 1] = c
  cur[w] = c
  local s = 0
  for i = 1, n do s = s + st[o + 1 + i] end
  sum[w] = s
  if s + 1 > lim[w] then allowed = 0 end
end

if record and allowed == 1 then
  for w = 1, nw do
    local i = off[w] + 2 + (cur[w] % slots[w])
    st[i] = st[i] + 1
    sum[w] = sum[w] + 1
  end
end
if record then
  redis.call('SET', KEYS[1], cmsgpack.pack(st), 'PX', ttl)
end

local gen = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local out = {allowed, now, gen}
for w = 1, nw do
  local o, n, c = off[w], slots[w], cur[w]
  local reset, retry = now, 0
  -- The oldest counted bucket b leaves the window at (b + n) * g.
  for b = c - n + 1, c do
    local v = st[o + 2 + (b % n)]
    if v > 0 then reset = (b + n) * g[w]; break end
  end
  if allowed == 0 and sum[w] + 1 > lim[w] then
    -- Earliest time enough old buckets have left for one more request.
    local left = sum[w]
    for b = c - n + 1, c do
      left = left - st[o + 2 + (b % n)]
      if left + 1 <= lim[w] then retry = (b + n) * g[w] - now; break end
    end
  end
  local rem = lim[w] - sum[w]
  if rem < 0 then rem = 0 end
  out[#out + 1] = rem
  out[#out + 1] = reset
  out[#out + 1] = retry
end
return out
