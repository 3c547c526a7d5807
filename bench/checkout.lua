-- wrk script: checkouts against a real server, each a new durable transaction (reserve stock,
-- one order per merchant, one payment intent). Environment:
--   JISHI_BENCH_TOKEN     the buyer's session token
--   JISHI_BENCH_SKUS      file with one SKU id per line
--   JISHI_BENCH_HOT       "1": every checkout buys the first SKU only (a flash sale)
--   JISHI_BENCH_PAY       "1": after each checkout, pay its intent from the wallet (two writes)
--   JISHI_BENCH_FLOOR     "1": build each checkout as usual but send GET /healthz instead, with
--                         the same headers: the ceiling of the HTTP path and of this script
--   JISHI_BENCH_TOKENS    instead of one buyer: a file prefix (bench/register.lua's output);
--                         thread T reads its buyers' tokens from <prefix>.<T>, and every buyer
--                         checks out once (a flash sale's crowd); the thread stops after its last
--   JISHI_BENCH_ROTATE    "1" with JISHI_BENCH_TOKENS: the thread's buyers take turns for the
--                         whole run instead (the steady runs' virtual buyers, each signed in once)
local threads_created, threads = 0, {}
function setup(thread)
  thread:set("thread_number", threads_created)
  threads_created = threads_created + 1
  threads[#threads + 1] = thread
end

local skus, token, hot, pay, floor = {}, nil, false, false, false
local buyers, next_buyer, verified, one_buyer_headers = nil, 0, false, nil
local rotate, buyer_headers = false, nil
-- Requests other than 201 and the sold-out 409 seen by this thread (the flash sale's crowd).
unexpected = 0
local counter, pending = 0, {}
local address = '{"recipient":"压测","phone":"13800138000","region_code":"330106","detail":"文三路 90 号"}'

function init(args)
  local crowd = os.getenv("JISHI_BENCH_TOKENS")
  if crowd and crowd ~= "" then
    buyers = {}
    for line in io.lines(crowd .. "." .. thread_number) do
      if line ~= "" then buyers[#buyers + 1] = line end
    end
  else
    token = assert(os.getenv("JISHI_BENCH_TOKEN"))
    one_buyer_headers = {["Authorization"] = "Bearer " .. token,
                         ["Content-Type"] = "application/json"}
  end
  for line in io.lines(assert(os.getenv("JISHI_BENCH_SKUS"))) do
    if line ~= "" then skus[#skus + 1] = line end
  end
  rotate = buyers ~= nil and os.getenv("JISHI_BENCH_ROTATE") == "1"
  if rotate then
    assert(#buyers > 0, "no buyers to take turns for thread " .. thread_number)
    -- Each buyer's headers built once: the load generator shares the server's cores.
    buyer_headers = {}
    for i, t in ipairs(buyers) do
      buyer_headers[i] = {["Authorization"] = "Bearer " .. t, ["Content-Type"] = "application/json"}
    end
  end
  hot = os.getenv("JISHI_BENCH_HOT") == "1"
  pay = os.getenv("JISHI_BENCH_PAY") == "1"
  floor = os.getenv("JISHI_BENCH_FLOOR") == "1"
  math.randomseed(os.time() + thread_number * 7919)
  -- The steady runs read nothing in the answers (wrk counts non-2xx itself). Without a
  -- response() wrk neither gathers each answer's headers and body nor calls into Lua for it:
  -- the load generator shares the server's two cores, and what it spends the server loses.
  if not pay and (not buyers or rotate) then response = nil end
end

function request()
  -- One buyer: the same headers every time (wrk.format only sets Host and Content-Length).
  local headers = one_buyer_headers
  if rotate then
    next_buyer = next_buyer % #buyers + 1
    headers = buyer_headers[next_buyer]
  elseif buyers then
    -- wrk calls thread 0's request() once before the run to check it, and never sends that
    -- request: it must not use up a buyer.
    if thread_number == 0 and not verified then
      verified = true
      return wrk.format("GET", "/healthz")
    end
    next_buyer = next_buyer + 1
    -- Past the last buyer, wrk still asks for requests until the thread stops: send cheap ones.
    if next_buyer > #buyers then
      wrk.thread:stop()
      return wrk.format("GET", "/healthz")
    end
    headers = {["Authorization"] = "Bearer " .. buyers[next_buyer],
               ["Content-Type"] = "application/json"}
  end
  if pay and #pending > 0 then
    local id = table.remove(pending)
    return wrk.format("POST", "/api/v1/payments/intents/" .. id .. "/confirm", headers,
                      '{"channel":"wallet"}')
  end
  counter = counter + 1
  local n = hot and 1 or math.random(1, 3)
  local lines = {}
  for i = 1, n do
    local sku = hot and skus[1] or skus[math.random(1, #skus)]
    lines[#lines + 1] = '{"sku_id":"' .. sku .. '","quantity":1}'
  end
  local body = '{"checkout_token":"bench-' .. thread_number .. '-' .. os.time() .. '-' .. counter ..
               '","address":' .. address .. ',"lines":[' .. table.concat(lines, ",") .. ']}'
  if floor then return wrk.format("GET", "/healthz", headers) end
  return wrk.format("POST", "/api/v1/checkouts", headers, body)
end

function response(status, headers, body)
  if buyers and status ~= 201 and status ~= 200 and
     not (status == 409 and body:find('"insufficient_stock"', 1, true)) then
    unexpected = unexpected + 1
  end
  if pay and status == 201 then
    local id = body:match('"payment_intent":{"id":"(%d+)"')
    if id then pending[#pending + 1] = id end
  end
end

function done(summary, latency, requests)
  io.write(string.format("p999_us=%d\n", latency:percentile(99.9)))
  local unexpected_total = 0
  for _, t in ipairs(threads) do unexpected_total = unexpected_total + (t:get("unexpected") or 0) end
  io.write(string.format("unexpected_responses=%d\n", unexpected_total))
end
