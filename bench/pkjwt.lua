-- wrk script: POST /oauth2/token, client_credentials, authenticated by private_key_jwt. Each request
-- sends the next pre-signed assertion (one per line, each with its own jti, so each is single-use).
-- bench-one.sh runs wrk twice (warm-up, then the measured run) with the same arguments, so the
-- first process takes $PKJWT_ASSERTIONS.warm and the second $PKJWT_ASSERTIONS.run (a marker file
-- tells them apart): no assertion is sent twice. wrk's threads take every THREADS-th line each.
-- Should a file run out, a thread starts over: those requests are replays and count as non-2xx
-- (401, then 429 once the failure limit locks the client), never as successes.
-- Arguments from bench-one.sh: ID SECRET SCOPE (only SCOPE is used).
local counter = 0

local function decide_phase()
  local marker = os.getenv("PKJWT_ASSERTIONS") .. ".warmed"
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
  lines = {}
  local i = 0
  for line in io.lines(os.getenv("PKJWT_ASSERTIONS") .. "." .. phase) do
    if i % threads == index then lines[#lines + 1] = line end
    i = i + 1
  end
  pos = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Accept"] = "application/json"
  prefix = "grant_type=client_credentials"
    .. "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    .. (scope ~= "" and ("&scope=" .. scope) or "")
    .. "&client_assertion="
end

function request()
  pos = pos + 1
  if pos > #lines then pos = 1 end
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
