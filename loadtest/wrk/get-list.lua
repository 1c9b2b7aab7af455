-- wrk: GET /api/property?limit=N, the first page of the newest properties.
--   wrk -t2 -c32 -d30s -s loadtest/wrk/get-list.lua http://10.231.0.10/ [-- LIMIT [nocache]]
-- LIMIT: page size, 1-100 (first wrk argument, else env LIMIT, else 20).
-- nocache: send Cache-Control: no-cache (every request reads the database).
-- Ends with a `RESULT {...}` JSON line, like api.lua.

local path

function init(args)
  local limit = tonumber(args[1] or os.getenv("LIMIT") or "20")
  path = "/api/property?limit=" .. limit
  if args[2] == "nocache" then wrk.headers["Cache-Control"] = "no-cache" end
end

function request()
  return wrk.format("GET", path)
end

-- done(): the shared RESULT line (result.lua, next to this script).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "result.lua")
