-- wrk script: the idempotent-replay path. Every request is the same POST /api/v1/orgs with the
-- same Idempotency-Key as a request run.sh already sent once, so the server answers each one
-- from the stored response (Idempotent-Replayed: true) and writes nothing.
-- Environment: JISHI_BENCH_TOKEN (session token), JISHI_BENCH_IDEMPOTENCY_KEY,
-- JISHI_BENCH_BODY (the exact body of the first request).
local token = assert(os.getenv("JISHI_BENCH_TOKEN"), "JISHI_BENCH_TOKEN is not set")
local key = assert(os.getenv("JISHI_BENCH_IDEMPOTENCY_KEY"), "JISHI_BENCH_IDEMPOTENCY_KEY is not set")
local body = assert(os.getenv("JISHI_BENCH_BODY"), "JISHI_BENCH_BODY is not set")

wrk.method = "POST"
wrk.path = "/api/v1/orgs"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Idempotency-Key"] = key
