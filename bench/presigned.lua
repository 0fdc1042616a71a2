-- wrk script: POST /oauth2/token, client_credentials, each request carrying the next pre-signed,
-- single-use JWT (one per line, each with its own jti). PRESIGNED_KIND says what the JWT is:
--   assertion  a private_key_jwt client assertion (RFC 7523), sent in the form; no secret
--   dpop       a DPoP proof (RFC 9449), sent in the DPoP header, next to HTTP Basic with the
--              client's id and secret (arguments 1 and 2)
-- bench-one.sh runs wrk twice (warm-up, then the measured run) with the same arguments, so the
-- first process takes $PRESIGNED.warm and the second $PRESIGNED.run (a marker file tells them
-- apart): no JWT is sent twice. wrk's threads take every THREADS-th line each.
-- Should the measured run's file run out, a thread starts over: those requests are replays and
-- count as non-2xx (401 or 400), never as successes. Should the warm-up's run out, its threads ask
-- for /healthz instead: replays there would be failed client authentications, and a hundred of
-- them in a minute lock the client (429) for the whole measured run.
-- Arguments from bench-one.sh: ID SECRET SCOPE.
local counter = 0
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = alphabet:sub(c1 + 1, c1 + 1) .. alphabet:sub(c2 + 1, c2 + 1)
      .. (b and alphabet:sub(c3 + 1, c3 + 1) or "=")
      .. (c and alphabet:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

local function decide_phase()
  local marker = os.getenv("PRESIGNED") .. ".warmed"
  local f = io.open(marker, "r")
  if f then
    f:close()
    return "run"
  end
  f = io.open(marker, "w")
  f:write("1")
  f:close()
  return "warm"
end

function setup(thread)
  phase = phase or decide_phase()
  thread:set("phase", phase)
  thread:set("index", counter)
  counter = counter + 1
end

function init(args)
  local threads = tonumber(os.getenv("THREADS") or "2")
  local scope = args[3] or ""
  kind = os.getenv("PRESIGNED_KIND") or "assertion"
  lines = {}
  local i = 0
  for line in io.lines(os.getenv("PRESIGNED") .. "." .. phase) do
    if i % threads == index then lines[#lines + 1] = line end
    i = i + 1
  end
  pos = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Accept"] = "application/json"
  prefix = "grant_type=client_credentials" .. (scope ~= "" and ("&scope=" .. scope) or "")
  if kind == "dpop" then
    wrk.headers["Authorization"] = "Basic " .. base64(args[1] .. ":" .. args[2])
  else
    prefix = prefix
      .. "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
      .. "&client_assertion="
  end
end

function request()
  pos = pos + 1
  if pos > #lines then
    if phase == "warm" then return wrk.format("GET", "/healthz", {}, "") end
    pos = 1
  end
  if kind == "dpop" then
    wrk.headers["DPoP"] = lines[pos]
    return wrk.format(nil, nil, nil, prefix)
  end
  return wrk.format(nil, nil, nil, prefix .. lines[pos])
end

-- The same RESULT line as shared/bench/token.lua, which run.sh reads.
function done(summary, latency, requests)
  local s = summary
  local errs = s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout
  io.write(string.format(
    "RESULT rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d non2xx=%d sock_errors=%d\n",
    s.requests / (s.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, s.requests, s.errors.status, errs))
end
