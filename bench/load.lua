-- wrk script for the side-by-side benchmarks: a fixed number of POSTs, each with its own
-- precomputed body (one line of the bodies file each: distinct users, fresh codes).
--
--   wrk -t T -c C -d 600s -s bench/load.lua URL -- BODIES MARKER TOTAL T CONTENT_TYPE [AUTH]
--
-- Thread i sends lines i, i+T, i+2T, ... and stops after its share of TOTAL answers, so
-- every run stops by itself (each finished thread leaves BODIES.done.<i>; the harness
-- interrupts wrk once all have, and wrk then prints its summary). An answer counts as accepted when it is a 200 whose body
-- holds MARKER. done() prints one machine-readable RESULT line.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

-- Globals, not locals: done() reads them from every thread with thread:get().
bodies = {}
share, sent, answered, accepted, failed = 0, 0, 0, 0, 0
marker, done_file = nil, nil

function init(args)
  local file, total, nthreads = args[1], tonumber(args[3]), tonumber(args[4])
  marker = args[2]
  done_file = file .. ".done." .. id
  local line_number = 0
  for line in io.lines(file) do
    if line_number % nthreads == id - 1 then
      table.insert(bodies, line)
    end
    line_number = line_number + 1
  end
  share = math.floor(total / nthreads)
  if id <= total % nthreads then
    share = share + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = args[5]
  if args[6] and args[6] ~= "" then
    wrk.headers["Authorization"] = args[6]
  end
end

function request()
  sent = sent + 1
  local body = bodies[sent] or bodies[#bodies]
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 and body:find(marker, 1, true) then
    accepted = accepted + 1
  else
    failed = failed + 1
    if failed <= 3 then
      io.stderr:write("not accepted: " .. status .. " " .. string.sub(body, 1, 300) .. "\n")
    end
  end
  if answered == share then
    -- wrk itself stops at its -d duration: tell the harness, which then interrupts it.
    local flag = io.open(done_file, "w")
    flag:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total_answered, total_accepted = 0, 0
  for _, thread in ipairs(threads) do
    total_answered = total_answered + thread:get("answered")
    total_accepted = total_accepted + thread:get("accepted")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT answered=%d accepted=%d seconds=%.3f p50=%.2f p95=%.2f p99=%.2f "
      .. "socket_errors=%d status_errors=%d\n",
    total_answered, total_accepted, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
