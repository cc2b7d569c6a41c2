-- wrk script for bench/event_submit.py: POST a valid safety_patrol with a fresh UUID per request.
-- Reads FIELDLOG_BENCH_SITE and FIELDLOG_BENCH_OCCURRED_AT from the environment (set by event_submit.py);
-- with FIELDLOG_BENCH_GET=/some/path it sends plain GETs of that path instead (the baseline);
-- the bearer token comes on wrk's command line (-H). Counts per thread what was sent and what came back,
-- and prints one JSON line at the end for the Python side to parse.

local threads = {}
local counter = 0

-- FIELDLOG_BENCH_PAUSE_MS: each connection (one client) waits this long after an answer before its next
-- submission, like an inspector's phone; wrk measures latency from sending to the answer, pause excluded.
local pause = tonumber(os.getenv("FIELDLOG_BENCH_PAUSE_MS") or "0")
if pause > 0 then
  function delay()
    return pause
  end
end

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid * 7919)
  -- Unique per thread and per request: random prefix, then the thread id and a counter in the last group.
  prefix = string.format("%08x-%04x-4%03x-%04x-", math.random(0, 0x7fffffff), math.random(0, 0xffff),
                         math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff))
  site = os.getenv("FIELDLOG_BENCH_SITE")
  occurred_at = os.getenv("FIELDLOG_BENCH_OCCURRED_AT")
  get_path = os.getenv("FIELDLOG_BENCH_GET")
  sent, ok, other = 0, 0, 0
  -- wrk.format uses the headers it is given instead of the -H ones: merge them (the bearer token) in.
  post_headers = {["Content-Type"] = "application/json"}
  for name, value in pairs(wrk.headers) do post_headers[name] = value end
end

function request()
  counter = counter + 1
  sent = sent + 1
  if get_path then
    return wrk.format("GET", get_path)
  end
  local id = prefix .. string.format("%04x%08x", tid, counter)
  local body = string.format(
    '{"id":"%s","kind":"safety_patrol","occurred_at":"%s","site_id":%s,"lat":27.08,"lon":112.95,' ..
    '"accuracy_m":12,"note":"压测","fields":{"finding":"一般","hazards_general":%d}}',
    id, occurred_at, site, counter % 5)
  return wrk.format("POST", "/api/v1/events", post_headers, body)
end

function response(status, headers, body)
  if status == 201 or (get_path and status == 200) then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local sent_all, ok_all, other_all = 0, 0, 0
  for _, t in ipairs(threads) do
    sent_all = sent_all + t:get("sent")
    ok_all = ok_all + t:get("ok")
    other_all = other_all + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"sent":%d,"created":%d,"other_status":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, sent_all, ok_all, other_all, e.connect, e.read, e.write, e.status, e.timeout))
end
