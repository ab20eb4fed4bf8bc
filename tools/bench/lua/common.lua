-- Shared by the bench's wrk scripts: unique ids per thread, the bearer token the harness
-- signed in for (BENCH_AUTHORIZATION), and one JSON line of results.
local authorization = os.getenv("BENCH_AUTHORIZATION")
local counter = 0
thread_tag = "t"  -- global: setup() sets each thread's own (thread:set), a local would hide it
local threads = {}
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_tag", "t" .. next_thread)
  table.insert(threads, thread)
end

function unique(prefix)
  counter = counter + 1
  return prefix .. "-" .. run_tag .. "-" .. thread_tag .. "-" .. counter
end

function signed(headers)
  headers = headers or {}
  if authorization and authorization ~= "" then headers["Authorization"] = authorization end
  return headers
end

function init(args)
  run_tag = args[1] or "run"
  if on_init then on_init(args) end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
