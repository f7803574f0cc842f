-- wrk script of bench.serving: POST one body over and over, report as JSON.
-- Environment: BODY_FILE (the request body), CONTENT_TYPE, HEADER_LENGTH (optional: the
-- Inference-Header-Content-Length of a binary tensor data body).
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE")
local header_length = os.getenv("HEADER_LENGTH")
if header_length ~= nil and header_length ~= "" then
  wrk.headers["Inference-Header-Content-Length"] = header_length
end
local file = io.open(os.getenv("BODY_FILE"), "rb")
wrk.body = file:read("*a")
file:close()

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "p50_us": %d, "p99_us": %d, "failures": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
