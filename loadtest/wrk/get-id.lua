-- wrk: GET /api/property/{id}, id uniformly random in 1..MAX_ID.
--   wrk -t2 -c32 -d30s -s loadtest/wrk/get-id.lua http://10.231.0.10/ -- 1000
--   MAX_ID=1000 wrk -t2 -c32 -d30s -s loadtest/wrk/get-id.lua http://10.231.0.10/
-- MAX_ID: the highest existing id (first wrk argument, else env MAX_ID, else 1000);
--   ids that do not exist answer 404 and count as non-2xx.
-- nocache (second argument): send Cache-Control: no-cache.
-- Ends with a `RESULT {...}` JSON line, like api.lua.

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_no", thread_count)
end

local max_id

function init(args)
  max_id = tonumber(args[1] or os.getenv("MAX_ID") or "1000")
  if args[2] == "nocache" then wrk.headers["Cache-Control"] = "no-cache" end
  -- A different sequence per thread, or every thread asks for the same ids.
  math.randomseed(os.time() * 1000 + (thread_no or 0))
end

function request()
  return wrk.format("GET", "/api/property/" .. math.random(1, max_id))
end

-- done(): the shared RESULT line (result.lua, next to this script).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "result.lua")
