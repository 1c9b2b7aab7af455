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

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors, summary.errors.status))
end
