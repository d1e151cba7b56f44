-- Sliding-window limiter: check and record one request in every window at once.
-- KEYS[1] state (a binary string, below), KEYS[2] generation counter; both share a hash tag.
-- ARGV[1] record (1), peek (0), or record once ('o' and a TTL in ms: KEYS[3] is the marker);
-- ARGV[2] number of windows; then per window: granularity in ms,
-- bucket count N, limit. One more argument, if present, is the clock in ms (tests); else Redis TIME.
--
-- State, big-endian: a version byte (3), the window count and a 16-bit sum of the windows' N+1
-- (another policy's layout starts afresh), then one 24-byte header per window — last bucket index
-- (double), running sum of the window's N+1 buckets (uint32), oldest non-empty bucket index
-- (double, 0: none), count of the last bucket (uint32) — then each
-- window's ring of N+1 uint32 counters (bucket b in slot b mod N+1). The last bucket's count lives
-- in its header and reaches the ring when the bucket stops being the last; bytes past the end of
-- the string read as zeros (SETRANGE pads).
-- A call reads the headers (one GETRANGE), subtracts and zeroes only the buckets that rotated out
-- since the last call, and writes the headers back (one SETRANGE): its cost does not grow with N.
-- Only when the oldest non-empty bucket itself rotates out (at most once per bucket width) does it
-- read the window's ring for the next one, and a refused request reads from the oldest bucket
-- until enough would leave for one more (usually the first).
-- Returns {allowed, now_ms, generation, then per window: remaining, reset_ms, retry_after_ms}.
local record = ARGV[1] == '1'
if string.sub(ARGV[1], 1, 1) == 'o' then
  -- Record once: only if the marker KEYS[3] (same hash tag) was absent; it is
  -- set for the milliseconds after the 'o'.
  record = redis.call('SET', KEYS[3], '1', 'NX', 'PX', string.sub(ARGV[1], 2)) ~= false
end
local nw = tonumber(ARGV[2])
local now
if ARGV[3 + 3 * nw] then
  now = tonumber(ARGV[3 + 3 * nw])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local HDR = 24 -- '>dI4dI4'
local key = KEYS[1]
local g, n, lim, ring = {}, {}, {}, {}
local top = 4 + HDR * nw
local len, ttl, shape = top, 0, 0
for w = 1, nw do
  local a = 3 + (w - 1) * 3
  g[w] = tonumber(ARGV[a])
  n[w] = tonumber(ARGV[a + 1]) + 1
  lim[w] = tonumber(ARGV[a + 2])
  ring[w] = len -- byte offset of the window's ring
  len = len + 4 * n[w]
  if g[w] * n[w] > ttl then ttl = g[w] * n[w] end
  shape = (shape + w * n[w]) % 65536
end
local prefix = string.char(3, nw) .. struct.pack('>I2', shape)

local hdr = redis.call('GETRANGE', key, 0, top - 1)
if #hdr ~= top or string.sub(hdr, 1, 4) ~= prefix then
  -- Absent, expired, or another policy's (or an older script's) layout: start empty.
  if #hdr > 0 and record then redis.call('DEL', key) end
  hdr = prefix .. string.rep('\0', top - 4)
end

-- The counters of buckets from..to (to - from < N+1) as stored in the ring, in bucket order.
local function stored(w, from, to)
  local a, z = from % n[w], to % n[w]
  local s
  if a <= z then
    s = redis.call('GETRANGE', key, ring[w] + 4 * a, ring[w] + 4 * z + 3)
  else
    s = redis.call('GETRANGE', key, ring[w] + 4 * a, ring[w] + 4 * n[w] - 1)
    s = s .. string.rep('\0', 4 * (n[w] - a) - #s)
    s = s .. redis.call('GETRANGE', key, ring[w], ring[w] + 4 * z + 3)
  end
  return s .. string.rep('\0', 4 * (to - from + 1) - #s)
end
local function zero(w, from, to) -- the slots of buckets from..to (to - from < N+1)
  local a, z = from % n[w], to % n[w]
  if a <= z then
    redis.call('SETRANGE', key, ring[w] + 4 * a, string.rep('\0', 4 * (z - a + 1)))
  else
    redis.call('SETRANGE', key, ring[w] + 4 * a, string.rep('\0', 4 * (n[w] - a)))
    redis.call('SETRANGE', key, ring[w], string.rep('\0', 4 * (z + 1)))
  end
end

local cur, sum, first, cnt, last0, cnt0 = {}, {}, {}, {}, {}, {}
local allowed = 1
for w = 1, nw do
  local last, s, f, v = struct.unpack('>dI4dI4', hdr, 5 + HDR * (w - 1))
  local c = math.floor(now / g[w])
  if c < last then c = last end -- clock stepped back: keep counting in the last bucket
  last0[w], cnt0[w] = last, v
  if c - last >= n[w] then
    -- Every bucket left the window.
    if record and s > 0 then zero(w, 0, n[w] - 1) end
    s, f, v = 0, 0, 0
  elseif c > last then
    -- Buckets last+1..c take the slots of last+1-n..c-n, which leave the window.
    local out = stored(w, last + 1 - n[w], c - n[w])
    for i = 1, #out, 4 do s = s - struct.unpack('>I4', out, i) end
    if record then
      redis.call('SETRANGE', key, ring[w] + 4 * (last % n[w]), struct.pack('>I4', v))
      zero(w, last + 1, c)
    end
    if s == 0 then
      f = 0
    elseif f <= c - n[w] then
      -- The oldest non-empty bucket left: the next is the first non-empty one still counted.
      -- Read in growing chunks: for a busy subject the next bucket is the one.
      f = last -- the last bucket (its count v is in the header) if none before it
      local from, chunk = c - n[w] + 1, 8
      while from < last do
        local to = math.min(last - 1, from + chunk - 1)
        local i = string.find(stored(w, from, to), '[^%z]')
        if i then f = from + math.floor((i - 1) / 4); break end
        from, chunk = to + 1, chunk * 4
      end
    end
    v = 0
  end
  cur[w], sum[w], first[w], cnt[w] = c, s, f, v
  if s + 1 > lim[w] then allowed = 0 end
end

if record and allowed == 1 then
  for w = 1, nw do
    sum[w] = sum[w] + 1
    cnt[w] = cnt[w] + 1
    if first[w] == 0 then first[w] = cur[w] end
  end
end
if record then
  local parts = {prefix}
  for w = 1, nw do
    parts[#parts + 1] = struct.pack('>dI4dI4', cur[w], sum[w], first[w], cnt[w])
  end
  redis.call('SETRANGE', key, 0, table.concat(parts))
  redis.call('PEXPIRE', key, ttl)
end

local gen = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local out = {allowed, now, gen}
for w = 1, nw do
  local c, s, f = cur[w], sum[w], first[w]
  local reset, retry = now, 0
  -- The oldest counted bucket f leaves the window at (f + n) * g.
  if s > 0 then reset = (f + n[w]) * g[w] end
  if allowed == 0 and s + 1 > lim[w] then
    -- Earliest time enough old buckets have left for one more request: walk from the oldest.
    local left = s
    for b = f, c do
      if b == c then
        left = left - cnt[w]
      elseif b == last0[w] then
        left = left - cnt0[w]
      elseif b < last0[w] then -- later buckets entered in this call: empty
        left = left - struct.unpack('>I4', stored(w, b, b))
      end
      if left + 1 <= lim[w] then retry = (b + n[w]) * g[w] - now; break end
    end
  end
  local rem = lim[w] - s
  if rem < 0 then rem = 0 end
  out[#out + 1] = rem
  out[#out + 1] = reset
  out[#out + 1] = retry
end
return out
