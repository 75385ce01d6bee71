#!/usr/bin/env python3
"""venus-bench's command line: bad arguments exit 2 with a message, an unreachable server exits 1.

    bench_cli.py arguments|unreachable VENUS_BENCH
"""

import socket
import subprocess
import sys

MODE, BENCH = sys.argv[1], sys.argv[2]
failures = []


def run(args):
    return subprocess.run([BENCH] + args, capture_output=True, text=True, timeout=60)


def expect(args, code, message):
    out = run(args)
    ok = out.returncode == code and message in out.stderr
    print(f"{'ok  ' if ok else 'FAIL'} {args}: exit {out.returncode}, stderr: {out.stderr.splitlines()[:1]}")
    if not ok:
        failures.append(f"{args}: expected exit {code} and '{message}' on stderr")


if MODE == "arguments":
    expect(["--bogus"], 2, "unknown argument '--bogus'")
    expect(["--connections", "many"], 2, "--connections 'many'")
    expect(["--connections", "-1"], 2, "--connections '-1'")
    expect(["--duration", "0"], 2, "--duration '0'")
    expect(["--duration", "100000"], 2, "--duration '100000'")
    expect(["--port", "70000"], 2, "--port '70000'")
    expect(["--port"], 2, "--port needs a value")
    expect(["--mix", "nope"], 2, "unknown mix 'nope'")
    expect(["--request", "5:1:2:3"], 2, "function code must be 3, 4, 6 or 16")
    expect(["--request", "3:1:2:200"], 2, "count must be 1-125")
    expect(["--request", "3:1:2"], 2, "expected FC:UNIT:ADDR:COUNT")
    expect(["--mix", "scada", "--request", "3:1:0:1"], 2, "exclude each other")
    expect(["--connections", "0"], 2, "needs --pid")
    expect(["--hostile", "0"], 2, "--hostile '0'")
    expect(["--hostile", "5", "--ceiling"], 2, "--hostile measures the server at --port: not with --ceiling")
    expect(["--hostile", "5", "--connections", "0", "--pid", "1"], 2, "--hostile needs at least one measured")
    expect(["--hostile", "5", "--hostile-kind", "storm"], 2,
           "--hostile-kind must be drip, churn, flood or reload, not 'storm'")
    expect(["--hostile", "5", "--hostile-kind", "reload"], 2,
           "--hostile-kind reload sends --hostile N SIGHUPs to the server: it needs --hostile and --pid")
    expect(["--json=yes"], 2, "--json takes no value")
    expect(["--port", "1502", "--pid", "999999999"], 2, "--pid")
    out = run(["--help"])
    if out.returncode != 0 or "usage: venus-bench" not in out.stdout:
        failures.append("--help: expected exit 0 and the usage on stdout")
elif MODE == "unreachable":
    # A port nothing listens on: bound, then closed.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    expect(["--port", str(port), "--connections", "2", "--duration", "0.5"], 1, "cannot connect to 127.0.0.1")
else:
    sys.exit(f"bench_cli.py: unknown mode {MODE}")

if failures:
    sys.exit(f"{len(failures)} check(s) failed")
