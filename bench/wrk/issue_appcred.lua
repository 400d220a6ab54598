-- Scenario c: token issue by application credential (id + secret).
-- POST {base}/auth/tokens with BENCH_BODY (built by bench/run).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or error("BENCH_BODY not set")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
dofile((os.getenv("BENCH_WRK_DIR") or ".") .. "/common.lua")
