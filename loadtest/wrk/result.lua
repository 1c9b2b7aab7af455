-- The `done` every script here shares: one `RESULT {...}` JSON line that
-- bench-app.sh (and a person) can read. Loaded by each script with
--   dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "result.lua")
-- so it is found next to the script whatever the working directory.

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors, summary.errors.status))
end
