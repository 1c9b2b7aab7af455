-- wrk: a read-mostly mix: 60% GET by id (1..MAX_ID), 30% list (limit 20),
-- 10% POST with a unique address (thread, start time, counter).
--   wrk -t2 -c32 -d30s -s loadtest/wrk/mixed.lua http://10.231.0.10/ -- 1000
-- MAX_ID: first wrk argument, else env MAX_ID, else 1000.
-- POST_PERCENT: second wrk argument, else env POST_PERCENT, else 10.
-- Ends with a `RESULT {...}` JSON line, like api.lua.

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_no", thread_count)
end

local max_id, post_percent, counter, tag

function init(args)
  max_id = tonumber(args[1] or os.getenv("MAX_ID") or "1000")
  post_percent = tonumber(args[2] or os.getenv("POST_PERCENT") or "10")
  counter = 0
  tag = tostring(thread_no or 0) .. "-" .. tostring(os.time())
  math.randomseed(os.time() * 1000 + (thread_no or 0))
end

local function post()
  counter = counter + 1
  local body = string.format(
    '{"address":"wrk %s #%d","suburb":"Wrk","property_type":"house","price":%d}', tag, counter, counter)
  return wrk.format("POST", "/api/property", { ["Content-Type"] = "application/json" }, body)
end

function request()
  local r = math.random(1, 100)
  if r <= post_percent then return post() end
  -- The reads split 2:1 between by-id and list.
  if r <= post_percent + (100 - post_percent) * 2 / 3 then
    return wrk.format("GET", "/api/property/" .. math.random(1, max_id))
  end
  return wrk.format("GET", "/api/property?limit=20")
end

-- done(): the shared RESULT line (result.lua, next to this script).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "result.lua")
