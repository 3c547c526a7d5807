-- wrk script: registers buyers through the real API (POST /api/v1/auth/register) and keeps the
-- session token each registration returns. Environment:
--   JISHI_BENCH_USERS       how many buyers each wrk thread registers
--   JISHI_BENCH_PREFIX      email prefix (buyers are PREFIX-<thread>-<n>@bench.example)
--   JISHI_BENCH_TOKENS_OUT  file prefix: thread T appends its tokens to <prefix>.<T>, one per line
-- A thread stops once it holds its count of tokens; a refused registration is counted by wrk
-- as a non-2xx response and retried under a new email, so the files end up complete.
local threads_created = 0
function setup(thread)
  thread:set("thread_number", threads_created)
  threads_created = threads_created + 1
end

local wanted, prefix, out, issued, held = 0, nil, nil, 0, 0

function init(args)
  wanted = tonumber(assert(os.getenv("JISHI_BENCH_USERS")))
  prefix = assert(os.getenv("JISHI_BENCH_PREFIX"))
  out = assert(io.open(assert(os.getenv("JISHI_BENCH_TOKENS_OUT")) .. "." .. thread_number, "w"))
end

function request()
  issued = issued + 1
  local body = '{"email":"' .. prefix .. '-' .. thread_number .. '-' .. issued ..
               '@bench.example","password":"bench-password-1"}'
  return wrk.format("POST", "/api/v1/auth/register", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 201 or held >= wanted then return end
  local token = body:match('"token":"(jss_[%w_-]+)"')
  if not token then return end
  out:write(token, "\n")
  held = held + 1
  if held >= wanted then
    out:close()
    wrk.thread:stop()
  end
end
