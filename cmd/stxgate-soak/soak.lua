-- stxgate-soak: requests from files, optionally paced, one summary line.
-- args: delay_ms, then sources "weight=path"; each file holds one request per line:
-- method TAB path TAB headers ("Name: value" joined by \1) TAB body.
-- Requests of a source are handed out in order, wrapping around; sources are
-- interleaved by weight (a fixed schedule of 100 slots, so the mix is exact).
local sources, schedule, n = {}, {}, 0

local function load(path)
  local reqs = {}
  for line in io.lines(path) do
    local method, p, hdrs, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    for h in hdrs:gmatch("[^\1]+") do
      local k, v = h:match("^([^:]+): (.*)$")
      headers[k] = v
    end
    if body == "" then body = nil end
    reqs[#reqs + 1] = wrk.format(method, p, headers, body)
  end
  assert(#reqs > 0, path .. " holds no request")
  return reqs
end

function init(args)
  local delay_ms = tonumber(args[1])
  if delay_ms > 0 then
    delay = function() return delay_ms end
  end
  local total = 0
  for i = 2, #args do
    local w, path = args[i]:match("^(%d+)=(.+)$")
    sources[#sources + 1] = { reqs = load(path), next = 1, weight = tonumber(w) }
    total = total + tonumber(w)
  end
  for s, src in ipairs(sources) do
    for _ = 1, math.floor(src.weight * 100 / total + 0.5) do schedule[#schedule + 1] = s end
  end
end

function request()
  n = n + 1
  local src = sources[schedule[(n - 1) % #schedule + 1]]
  local r = src.reqs[src.next]
  src.next = src.next % #src.reqs + 1
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('SOAK-RESULT {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,' ..
    '"statusErrors":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
