-- wrk script of the proxy benchmark (loadtest/src/bench, `make bench`):
--   wrk -t2 -c64 -d2s -s loadtest/wrk/bench.lua http://127.0.0.1:PORT/tiny          # GET
--   wrk -t2 -c64 -d2s -s loadtest/wrk/bench.lua http://127.0.0.1:PORT/post -- post  # POST, 1 KiB body
-- Prints the shared RESULT line (result.lua) at the end.

function init(args)
  if args[1] == "post" then
    wrk.method = "POST"
    wrk.body = string.rep("x", 1024)
    wrk.headers["Content-Type"] = "application/octet-stream"
  end
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "result.lua")
