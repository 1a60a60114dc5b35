-- wrk script for bench/wrk_check.py: one connection per wrk thread, each signed in as its own user
-- (line `id` of the cookie file), cycling through the paths given after `--` ({tong} becomes 1-30).
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  local lines = {}
  for l in io.lines(args[1]) do lines[#lines + 1] = l end
  cookie = lines[((id - 1) % #lines) + 1]
  paths = {}
  for i = 2, #args do paths[#paths + 1] = args[i] end
  n = id
  math.randomseed(id)
end
function request()
  n = n + 1
  local p = paths[(n % #paths) + 1]
  p = string.gsub(p, "{tong}", tostring(math.random(1, 30)))
  return wrk.format("GET", p, {["Cookie"] = cookie, ["Accept-Language"] = "ko"})
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d p50=%.1f p95=%.1f p99=%.1f duration=%.2f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.duration / 1e6))
end
