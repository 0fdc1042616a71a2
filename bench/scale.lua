-- Client-credentials token requests for bench/scale.sh: each request names a client picked at
-- random among the first N of the store the script made (`scale-0` … `scale-(N-1)`, secrets sent
-- in the form: client_secret_post), so N = 1 is one hot client and N = 1000000 a cold crowd.
-- Every request is formatted once, in init, so each costs wrk the same (one random pick and a
-- table read) whatever N is: the server's share of the shared cores does not depend on N.
-- Usage: wrk ... -s scale.lua URL -- N
local requests = {}
local clients = 1

function init(args)
  clients = tonumber(args[1] or "1")
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  for i = 0, clients - 1 do
    local body = "grant_type=client_credentials&client_id=scale-" .. i .. "&client_secret=scale-secret-" .. i .. "-0123456789abcdef"
    requests[i + 1] = wrk.format("POST", "/oauth2/token", headers, body)
  end
  -- Each wrk thread its own sequence.
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000))
end

function request()
  return requests[math.random(clients)]
end
