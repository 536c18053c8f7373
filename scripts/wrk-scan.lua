-- wrk script: POST /v1/scans with fresh codes, for measuring yima with an
-- external load generator (docs/performance.md).
--
--   yima --data D mint --product SKU-W --count 2000000 --activate --out codes.csv
--   cut -d, -f2 codes.csv | tail -n +2 > codes.txt
--   yima --data D serve --addr 127.0.0.1:8096 &
--   CODES=codes.txt TOKEN_FILE=D/admin.token wrk -t2 -c64 -d10s --latency \
--     -s scripts/wrk-scan.lua http://127.0.0.1:8096
--
-- Each thread starts a million codes after the previous one, so no code is
-- scanned twice while a run stays under a million requests a thread.
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  codes = {}
  for line in io.lines(os.getenv("CODES") or "codes.txt") do codes[#codes + 1] = line end
  i = tid * 1000000
  local token = io.open(os.getenv("TOKEN_FILE") or "yima-data/admin.token"):read("*l")
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  i = i + 1
  local c = codes[(i % #codes) + 1]
  return wrk.format(nil, "/v1/scans", nil, '{"code":"' .. c .. '","member":"m' .. (i % 1000) .. '"}')
end
