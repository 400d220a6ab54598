-- Scenario a: token validation.  GET {base}/auth/tokens with
-- X-Auth-Token = X-Subject-Token = the same admin project-scoped token.
-- Env: BENCH_TOKEN, BENCH_WRK_DIR (set by bench/run).
local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN not set")
wrk.method = "GET"
wrk.headers["X-Auth-Token"] = token
wrk.headers["X-Subject-Token"] = token
wrk.headers["Accept"] = "application/json"
dofile((os.getenv("BENCH_WRK_DIR") or ".") .. "/common.lua")
