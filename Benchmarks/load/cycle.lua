-- wrk script: POST the JSON bodies of a file (one per line) in turn, each thread starting at its
-- own offset, count non-200 answers, and write a JSON summary to $WRK_JSON.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  index = (id * 577) % #bodies
  bad = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  -- An API key when the server needs one (Benchmarks/access/run.sh).
  local key = os.getenv("QUARRY_KEY")
  if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
end

function request()
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local non200 = 0
  for _, thread in ipairs(threads) do non200 = non200 + thread:get("bad") end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local out = io.open(os.getenv("WRK_JSON"), "w")
  out:write(string.format(
    '{"requests": %d, "seconds": %.3f, "requests_per_second": %.2f, "p50_ms": %.3f, "p95_ms": %.3f, ' ..
    '"p99_ms": %.3f, "max_ms": %.3f, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, "non_200": %d}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.connect, e.read, e.write, e.timeout, e.status, non200))
  out:close()
end
