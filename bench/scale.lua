-- Client-credentials token requests for bench/scale.sh: each request names a client picked at
-- random among the first N of the store the script made (`scale-0` … `scale-(N-1)`, secrets sent
-- in the form: client_secret_post), so N = 1 is one hot client and N = 1000000 a cold crowd.
-- Usage: wrk ... -s scale.lua URL -- N
local clients = 1

function init(args)
  clients = tonumber(args[1] or "1")
  -- Each wrk thread its own sequence.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
  local i = math.random(0, clients - 1)
  local body = "grant_type=client_credentials&client_id=scale-" .. i .. "&client_secret=scale-secret-" .. i .. "-0123456789abcdef"
  return wrk.format("POST", "/oauth2/token", { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
