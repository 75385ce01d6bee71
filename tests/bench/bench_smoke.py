#!/usr/bin/env python3
"""Runs venus-bench for about a second per mix against the site with-site.sh started and checks
that every run worked and its output parses. No timing assertions.

    with-site.sh BUILD --scenario bench-50x100.yaml -- bench_smoke.py VENUS_BENCH
"""

import json
import os
import subprocess
import sys
import time

BENCH = sys.argv[1]
HOST = os.environ["VMD_HOST"]
PORT = os.environ["VMD_PORT"]
PID = os.environ["VMD_SERVER_PID"]
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def bench(*args, json_output=True):
    command = [BENCH, "--host", HOST, "--port", PORT, "--connections", "2", "--duration", "1.5",
               "--pid", PID] + list(args) + (["--json"] if json_output else [])
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    print(f"$ {' '.join(command)}\n{out.stdout}{out.stderr}")
    check(out.returncode == 0, f"{' '.join(args)}: exit code {out.returncode}")
    if not json_output:
        return out.stdout
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError as e:
        check(False, f"{' '.join(args)}: output is not JSON: {e}")
        return None


def check_run(result, what, mix):
    target = result["target"]
    check(target["requests"] > 0, f"{what}: no request answered")
    check(target["transport_errors"] == 0, f"{what}: {target['transport_errors']} transport errors")
    check(target["latency_us"] is not None and target["latency_us"]["p50"] > 0, f"{what}: no latency")
    server = target["server"]
    check(server is not None and server["peak_rss_kib"] > 0 and server["cpu_s"] >= 0,
          f"{what}: no server CPU/RSS figures")
    check(result["mix"] == mix, f"{what}: mix is {result['mix']}")
    return target


for mix in ("scada", "ha-scan", "evcs", "ess"):
    result = bench("--mix", mix)
    if not result:
        continue
    target = check_run(result, mix, mix)
    if mix in ("scada", "evcs", "ess"):
        check(not target["exceptions"], f"{mix}: exception replies {target['exceptions']}")
    if mix == "ha-scan":
        check(target["exceptions"].get("10", 0) > 0 and target["ok"] > 0,
              f"ha-scan: expected data and exception-10 replies, got ok {target['ok']}, {target['exceptions']}")
    if mix == "ess":
        check(target["write_latency_us"] is not None, "ess: no write was answered")

result = bench("--mix", "scada", "--ceiling")
if result:
    check_run(result, "scada --ceiling", "scada")
    check(result["ceiling"] and result["ceiling"]["requests"] > 0, "ceiling: no request answered")
    check(result["ratio"] is not None and result["ratio"] > 0, "ceiling: no ratio")

result = bench("--request", "3:100:800:67", "--request", "4:246:3:39", "--request", "6:246:37:1:0")
if result:
    target = check_run(result, "custom requests", "custom")
    check(target["write_latency_us"] is not None, "custom requests: the write was not answered")

text = bench("--mix", "scada", "--ceiling", json_output=False)
check("requests" in text and "ratio target/ceiling" in text, "text output: no requests or ratio line")

# --max-requests N: "stop after this many requests in all", long before --duration.
started = time.monotonic()
result = bench("--mix", "scada", "--duration", "60", "--max-requests", "500")
if result:
    check(result["target"]["requests"] == 500, f"--max-requests 500: {result['target']['requests']} requests")
    check(time.monotonic() - started < 30, f"--max-requests 500 did not end the 60 s run early: {time.monotonic() - started:.1f} s")

result = bench("--connections", "0")
if result:
    server = result["target"]["server"]
    check(server is not None and server["wall_s"] > 1 and result["mix"] == "none", "--connections 0: no server figures")

if failures:
    sys.exit(f"{len(failures)} check(s) failed")
print("all venus-bench smoke checks passed")
