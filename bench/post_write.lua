-- wrk script: a POST that really writes every time. Each request creates an organisation with
-- its own Idempotency-Key and its own valid Unified Social Credit Code (GB 32100-2015), so every
-- one goes through the writer as a new command (three INSERTs plus the idempotency record).
-- Requests rotate over a pool of users so no single user's membership list (which every
-- authenticated request loads) grows with the run.
-- Environment: JISHI_BENCH_TOKENS_FILE (one session token per line).
local charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
local weights = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
local base = #charset -- 31

-- Runs in the main Lua state: give each wrk thread its own number.
local threads_created = 0
function setup(thread)
  thread:set("thread_number", threads_created)
  threads_created = threads_created + 1
end

local tokens = {}
local counter = 0

function init(args)
  local path = assert(os.getenv("JISHI_BENCH_TOKENS_FILE"), "JISHI_BENCH_TOKENS_FILE is not set")
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    if line ~= "" then tokens[#tokens + 1] = line end
  end
  file:close()
  assert(#tokens > 0, "no tokens in " .. path)
  assert(thread_number < base, "at most 31 wrk threads")
  -- Start each run in its own range of a million codes (by the clock), so a second run against
  -- the same server does not collide with the first; 31^8 codes leave room for 800k ranges.
  counter = (os.time() % 800000) * 1000000
end

-- 91 (enterprise) + 330106 (region) + 9 characters: the thread number, then the counter in
-- base 31 (8 digits), so codes are unique across threads; then the GB 32100 check character.
local function credit_code(thread, n)
  local digits = {}
  for i = 8, 1, -1 do
    local v = n % base
    digits[i] = charset:sub(v + 1, v + 1)
    n = (n - v) / base
  end
  local body17 = "91330106" .. charset:sub(thread + 1, thread + 1) .. table.concat(digits)
  local sum = 0
  for i = 1, 17 do
    local value = charset:find(body17:sub(i, i), 1, true) - 1
    sum = sum + value * weights[i]
  end
  local check = (31 - sum % 31) % 31
  return body17 .. charset:sub(check + 1, check + 1)
end

function request()
  counter = counter + 1
  local code = credit_code(thread_number, counter)
  local token = tokens[((counter + thread_number * 7) % #tokens) + 1]
  local body = '{"kind":"merchant","name":"bench ' .. code .. '","credit_code":"' .. code .. '"}'
  return wrk.format("POST", "/api/v1/orgs", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = "bench-write-" .. thread_number .. "-" .. counter,
  }, body)
end
