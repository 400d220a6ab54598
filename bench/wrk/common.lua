-- Shared wrk logic for the hybridstack/Keystone identity benchmark.
-- A scenario script sets wrk.method / wrk.headers / wrk.body and then
-- dofile()s this file.  Environment:
--   BENCH_EXPECT_STATUS  the only acceptable HTTP status (200 or 201)
--   BENCH_LABEL          free text echoed in the result line
-- Every response with another status is counted; done() prints one line
--   BENCH_RESULT {json}
-- that bench/run parses (and fails the run on bad > 0 or socket errors).

local expected = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "200")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0          -- per-thread globals, read back in done() via thread:get
  good = 0
  first_bad = ""
end

function response(status, headers, body)
  if status == expected then
    good = good + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

local function jstr(s)
  s = string.gsub(s or "", '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local bad_total, good_total, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    bad_total = bad_total + (t:get("bad") or 0)
    good_total = good_total + (t:get("good") or 0)
    local fb = t:get("first_bad")
    if sample == "" and fb and fb ~= "" then sample = fb end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCH_RESULT {"label":%s,"requests":%d,"duration_s":%.3f,"rps":%.2f,' ..
    '"good":%d,"bad":%d,"expected_status":%d,' ..
    '"lat_mean_ms":%.3f,"lat_p50_ms":%.3f,"lat_p99_ms":%.3f,"lat_max_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"bad_sample":%s}\n',
    jstr(os.getenv("BENCH_LABEL") or ""), summary.requests, secs,
    summary.requests / secs, good_total, bad_total, expected,
    latency.mean / 1000, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, jstr(sample)))
end
