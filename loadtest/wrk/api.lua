-- wrk script for tandem-app's API. One script, several modes:
--   wrk -t12 -c100 -d5s -s loadtest/wrk/api.lua http://HOST:PORT -- MODE [IDS] [nocache]
-- MODE:
--   get-id   GET /api/property/{random id in 1..IDS}
--   list     GET /api/property (first page, 20 items)
--   post     POST /api/property with a unique address per request
--   mixed    90% get-id, 5% list, 5% post
-- IDS: how many properties exist (get-id and mixed). Default 1000.
-- nocache: send Cache-Control: no-cache, so every GET reads the database
--          (X-Cache: BYPASS): the uncached path.
-- At the end one line starting with RESULT is printed as JSON for scripts.

local thread_count = 0
local threads = {}

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_no", thread_count)
  table.insert(threads, thread)
end

local mode, ids, nocache, counter, thread_tag

function init(args)
  mode = args[1] or "get-id"
  ids = tonumber(args[2] or "1000")
  nocache = args[3] == "nocache"
  counter = 0
  thread_tag = tostring(thread_no or 0) .. "-" .. tostring(os.time())
  math.randomseed(os.time() * 1000 + (thread_no or 0))
  if nocache then wrk.headers["Cache-Control"] = "no-cache" end
end

local function get_id()
  return wrk.format("GET", "/api/property/" .. math.random(1, ids))
end

local function list()
  return wrk.format("GET", "/api/property")
end

local function post()
  counter = counter + 1
  local body = string.format(
    '{"address":"%d-%s Bench St","suburb":"Carlton","property_type":"house","bedrooms":3,"price":%d}',
    counter, thread_tag, 500000 + counter)
  return wrk.format("POST", "/api/property", { ["Content-Type"] = "application/json" }, body)
end

function request()
  if mode == "get-id" then return get_id() end
  if mode == "list" then return list() end
  if mode == "post" then return post() end
  local r = math.random(1, 100)
  if r <= 90 then return get_id() elseif r <= 95 then return list() else return post() end
end

-- done(): the shared RESULT line (result.lua, next to this script).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "result.lua")
