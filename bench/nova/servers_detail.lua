-- wrk scenario for bench/nova/run: GET .../servers/detail[?limit=N] with an
-- admin project-scoped token, expecting 200.  Env: BENCH_TOKEN, BENCH_WRK_DIR
-- (bench/wrk, for common.lua: counts non-200s, steady-state/count-mode rate),
-- optional BENCH_MICROVERSION (e.g. "2.latest"; default: none, i.e. 2.1).
local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN not set")
wrk.method = "GET"
wrk.headers["X-Auth-Token"] = token
wrk.headers["Accept"] = "application/json"
local mv = os.getenv("BENCH_MICROVERSION")
if mv and mv ~= "" then
  wrk.headers["OpenStack-API-Version"] = "compute " .. mv
end
dofile((os.getenv("BENCH_WRK_DIR") or ".") .. "/common.lua")
