-- boot_storm.lua - wrk script of bench/run's boot storm: every request asks
-- for the iPXE script of another of BENCH_MACS enrolled MACs (the MACs
-- alloc_bench -P gives machines 0..BENCH_MACS-1), and each wrk thread stops
-- after BENCH_MAX requests so the run is bounded in count as well as in time
-- (wrk -d). Without BENCH_MACS it asks for the same path every time (nginx).
local macs = tonumber(os.getenv("BENCH_MACS") or "0")
local max = tonumber(os.getenv("BENCH_MAX") or "1000000")
local threads = 0

function setup(thread)
	thread:set("tid", threads)
	threads = threads + 1
end

function init(args)
	i = tid * 7919
	done = 0
end

function request()
	if macs == 0 then
		return wrk.format("GET", wrk.path)
	end
	i = i + 1
	local m = i % macs
	local path = string.format("/boot.ipxe?mac=52:54:01:%02x:%02x:%02x",
		math.floor(m / 65536) % 256, math.floor(m / 256) % 256, m % 256)
	return wrk.format("GET", path)
end

function response(status, headers, body)
	done = done + 1
	if done >= max then
		wrk.thread:stop()
	end
end
