-- wrk script for scripts/load-upload-url.sh and scripts/load-replicas.sh: POSTs LOAD_BODY (default: upload-url's body
-- for one file name), counting answers per second of wall clock in each thread; done() merges them into 5-second
-- windows.
local token = os.getenv("CQUBE_EMIT_TOKEN") or error("CQUBE_EMIT_TOKEN is not set")
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("LOAD_BODY") or '{"filename": "student_attendance/student_attendance.zip"}'

local threads = {}
function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    ok = {}
    failed = 0
end

function response(status, headers, body)
    if status == 200 then
        local second = os.time()
        ok[second] = (ok[second] or 0) + 1
    else
        failed = failed + 1
    end
end

function done(summary, latency, requests)
    local per_second, first, last, failures = {}, nil, nil, 0
    for _, thread in ipairs(threads) do
        failures = failures + thread:get("failed")
        for second, n in pairs(thread:get("ok")) do
            per_second[second] = (per_second[second] or 0) + n
            if first == nil or second < first then first = second end
            if last == nil or second > last then last = second end
        end
    end
    if first == nil then
        io.stderr:write("no request succeeded\n")
        return
    end
    -- The first and last seconds are partial: windows start after the first and stop before the last.
    io.write("window_s\trequests_per_s\n")
    local start = first + 1
    while start + 5 <= last do
        local n = 0
        for s = start, start + 4 do n = n + (per_second[s] or 0) end
        io.write(string.format("%d-%d\t%.0f\n", start - first - 1, start - first + 4, n / 5))
        start = start + 5
    end
    io.write(string.format("non-200 answers: %d; p50 latency %.1f ms, p99 %.1f ms\n", failures,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
