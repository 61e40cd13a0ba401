-- wrk script for the side-by-side benchmarks: a fixed number of POSTs, each with its own
-- body (one line of the bodies file each: distinct users). A line is "SECRET_HEX<tab>BODY":
-- "@CODE@" in BODY becomes the TOTP code (RFC 6238, SHA-1, 30 s, 6 digits) of SECRET for
-- the moment the request is sent, so runs of any length send codes of the current step.
--
--   wrk -t T -c C -d 600s -s bench/load.lua URL -- BODIES MARKER TOTAL T CONTENT_TYPE [AUTH]
--
-- Thread i sends lines i, i+T, i+2T, ... and stops after its share of TOTAL answers, so
-- every run stops by itself (each finished thread leaves BODIES.done.<i>; the harness
-- interrupts wrk once all have, and wrk then prints its summary). An answer counts as accepted when it is a 200 whose body
-- holds MARKER. done() prints one machine-readable RESULT line.

local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local lshift, rshift, rol, tobit = bit.lshift, bit.rshift, bit.rol, bit.tobit

local function be32(x)
  return string.char(band(rshift(x, 24), 255), band(rshift(x, 16), 255),
    band(rshift(x, 8), 255), band(x, 255))
end

local function sha1(message)
  local h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
  local bits = #message * 8
  message = message .. "\128" .. string.rep("\0", (55 - #message) % 64) .. "\0\0\0\0"
    .. be32(bits)
  local w = {}
  for chunk = 1, #message, 64 do
    for i = 0, 15 do
      local a, b, c, d = message:byte(chunk + i * 4, chunk + i * 4 + 3)
      w[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for i = 16, 79 do
      w[i] = rol(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1)
    end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then
        f, k = bor(band(b, c), band(bnot(b), d)), 0x5A827999
      elseif i < 40 then
        f, k = bxor(b, c, d), 0x6ED9EBA1
      elseif i < 60 then
        f, k = bor(band(b, c), band(b, d), band(c, d)), 0x8F1BBCDC
      else
        f, k = bxor(b, c, d), 0xCA62C1D6
      end
      local temp = tobit(rol(a, 5) + f + e + k + w[i])
      e, d, c, b, a = d, c, rol(b, 30), a, temp
    end
    h0, h1, h2 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c)
    h3, h4 = tobit(h3 + d), tobit(h4 + e)
  end
  return be32(h0) .. be32(h1) .. be32(h2) .. be32(h3) .. be32(h4)
end

local function hmac_sha1(key, message)
  key = key .. string.rep("\0", 64 - #key)
  local inner, outer = {}, {}
  for i = 1, 64 do
    inner[i] = string.char(bxor(key:byte(i), 0x36))
    outer[i] = string.char(bxor(key:byte(i), 0x5c))
  end
  return sha1(table.concat(outer) .. sha1(table.concat(inner) .. message))
end

function totp(secret)
  local mac = hmac_sha1(secret, "\0\0\0\0" .. be32(math.floor(os.time() / 30)))
  local offset = band(mac:byte(20), 0x0f)
  local a, b, c, d = mac:byte(offset + 1, offset + 4)
  local value = band(a, 0x7f) * 16777216 + b * 65536 + c * 256 + d
  return string.format("%06d", value % 1000000)
end

local function unhex(text)
  return (text:gsub("..", function(pair) return string.char(tonumber(pair, 16)) end))
end

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
      local secret, body = line:match("^(%x*)\t(.*)$")
      table.insert(bodies, { unhex(secret), body })
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
  local item = bodies[sent] or bodies[#bodies]
  local body = item[2]:gsub("@CODE@", function() return totp(item[1]) end)
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
