-- wrk script of bench/load.py: counts every answer that is not a 200 (wrk's own "errors" only count
-- non-2xx/3xx, so a redirect to the sign-in page would look like success) and prints one JSON line with
-- throughput, latency percentiles and errors from done().
-- Headers (the session cookie or the API token) come from wrk's -H flags.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_200 = 0
  statuses = {}
end

function response(status, headers, body)
  if status ~= 200 then
    not_200 = not_200 + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local bad, codes = 0, {}
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_200")
    for code, count in pairs(thread:get("statuses")) do
      codes[tostring(code)] = (codes[tostring(code)] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(codes) do
    table.insert(parts, string.format('"%s": %d', code, count))
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'LEGER_RESULT {"requests": %d, "seconds": %.3f, "rps": %.2f, "bytes": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, ' ..
    '"not_200": %d, "statuses": {%s}, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad, table.concat(parts, ", "),
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
