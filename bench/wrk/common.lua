-- Shared wrk logic for the hybridstack/Keystone identity benchmark.
-- A scenario script sets wrk.method / wrk.headers / wrk.body and then
-- dofile()s this file.  Environment:
--   BENCH_EXPECT_STATUS  the only acceptable HTTP status (200 or 201)
--   BENCH_CONNECTIONS    wrk's -c (total connections), for the estimator below
--   BENCH_LABEL          free text echoed in the result line
-- Every response with another status is counted; done() prints one line
--   BENCH_RESULT {json}
-- that bench/run parses (and fails the run on bad > 0 or socket errors).
--
-- Two ways to measure throughput ("rps"):
--
-- Count mode (BENCH_REQUESTS=N set; used for the bcrypt-bound issue scenarios):
-- exactly N requests are sent in total across all threads/connections (a
-- shared counter behind a pthread mutex, via LuaJIT's ffi); once N are sent,
-- a connection that finishes waits (delay()) instead of sending more; the N-th
-- response ends wrk at once (SIGINT to wrk's main thread, so -d is only a cap).
--   rps = N / (time of N-th response - time of 1st request)
-- Nothing is left half-done at either end, whatever order the server works
-- in.  (Parked connections are opened after every request is already queued,
-- so a gunicorn sync worker that accepts one blocks only after the real work.)
--
-- Time mode (otherwise; used for token validation): a steady-state estimate,
-- not wrk's completed/duration:
--   rps = (N - C) / (t_last - t_C)
-- N = completed responses, C = connections, t_C = time of the C-th completion
-- overall, t_last = time of the last completion.  wrk's own figure divides by
-- the full -d and so drops the work of requests still in flight when it stops.
-- For a server that runs all C requests concurrently (e.g. C bcrypt hashes
-- sharing 2 cores, all finishing together every C/rate seconds) that loss is
-- up to C requests, i.e. 30% of a 10 s bcrypt-bound run; a FIFO server
-- (gunicorn sync workers) loses ~nothing.  Measuring between two completion
-- instants and skipping the first C (ramp-up) is unbiased for both.
-- wrk's raw figure is reported too, as rps_wrk.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clk_id, bench_timespec_t *tp);
]]
local ts = ffi.new("bench_timespec_t")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

ffi.cdef [[
typedef struct {
  char mutex[64];          /* pthread_mutex_t is 40 bytes on x86_64/aarch64 glibc */
  unsigned long main_thread;
  long long sent, done;
  double t_start, t_end;
} bench_shared_t;
void *calloc(size_t nmemb, size_t size);
int pthread_mutex_init(void *mutex, const void *attr);
int pthread_mutex_lock(void *mutex);
int pthread_mutex_unlock(void *mutex);
unsigned long pthread_self(void);
int pthread_kill(unsigned long thread, int sig);
]]
local SIGINT = 2

local quota = tonumber(os.getenv("BENCH_REQUESTS") or "")
local shared = nil -- bench_shared_t* (count mode)
local shared_addr_main = nil

local expected = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "200")
local conns = tonumber(os.getenv("BENCH_CONNECTIONS") or "1")
local threads = {}

function setup(thread) -- runs in wrk's main thread, before the threads start
  table.insert(threads, thread)
  if quota and not shared then
    shared = ffi.cast("bench_shared_t *", ffi.C.calloc(1, ffi.sizeof("bench_shared_t")))
    assert(ffi.C.pthread_mutex_init(shared.mutex, nil) == 0)
    shared.main_thread = ffi.C.pthread_self()
    shared_addr_main = tonumber(ffi.cast("uintptr_t", shared))
  end
  if shared_addr_main then thread:set("shared_addr", shared_addr_main) end
end

if quota then
  function delay()
    ffi.C.pthread_mutex_lock(shared.mutex)
    local go = shared.sent < quota
    if go then
      shared.sent = shared.sent + 1
      if shared.sent == 1 then shared.t_start = now() end
    end
    ffi.C.pthread_mutex_unlock(shared.mutex)
    if go then return 0 end
    return 3600000 -- park this connection; the run ends at the N-th response
  end
end

function init(args)
  -- per-thread globals, read back in done() via thread:get
  bad = 0
  good = 0
  first_bad = ""
  ncomp = 0   -- completions (any status)
  t_last = 0  -- time of this thread's last completion
  t_first = {} -- times of this thread's first `conns` completions
  if quota then shared = ffi.cast("bench_shared_t *", shared_addr) end
end

function response(status, headers, body)
  local t = now()
  ncomp = ncomp + 1
  t_last = t
  if ncomp <= conns then t_first[ncomp] = t end
  if quota then
    ffi.C.pthread_mutex_lock(shared.mutex)
    shared.done = shared.done + 1
    local last = shared.done == quota
    if last then shared.t_end = t end
    ffi.C.pthread_mutex_unlock(shared.mutex)
    if last then ffi.C.pthread_kill(shared.main_thread, SIGINT) end
  end
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
  local bad_total, good_total, n_total, last, sample = 0, 0, 0, 0, ""
  local firsts = {}
  for _, t in ipairs(threads) do
    bad_total = bad_total + (t:get("bad") or 0)
    good_total = good_total + (t:get("good") or 0)
    n_total = n_total + (t:get("ncomp") or 0)
    last = math.max(last, t:get("t_last") or 0)
    for _, v in ipairs(t:get("t_first") or {}) do table.insert(firsts, v) end
    local fb = t:get("first_bad")
    if sample == "" and fb and fb ~= "" then sample = fb end
  end
  table.sort(firsts)
  local steady, span = -1, 0
  if quota then
    if shared.done >= quota and shared.t_end > shared.t_start then
      span = shared.t_end - shared.t_start
      steady = quota / span
    end
  elseif n_total > conns and #firsts >= conns and last > firsts[conns] then
    span = last - firsts[conns]
    steady = (n_total - conns) / span
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCH_RESULT {"label":%s,"requests":%d,"duration_s":%.3f,"rps":%.3f,"rps_wrk":%.3f,' ..
    '"steady_span_s":%.3f,"completions":%d,"quota":%d,"mode":"%s",' ..
    '"good":%d,"bad":%d,"expected_status":%d,' ..
    '"lat_mean_ms":%.3f,"lat_p50_ms":%.3f,"lat_p99_ms":%.3f,"lat_max_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"bad_sample":%s}\n',
    jstr(os.getenv("BENCH_LABEL") or ""), summary.requests, secs,
    steady, summary.requests / secs, span, n_total, quota or 0, quota and "count" or "time",
    good_total, bad_total, expected,
    latency.mean / 1000, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, jstr(sample)))
end
