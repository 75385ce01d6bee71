#!/usr/bin/env python3
"""Runs the measurements of docs/benchmarks.md and prints their medians.

    run-benchmarks.py [--build DIR] [--map FILE] [--runs N] [--duration S] [--idle-duration S]
                      [--connections N] [--mirror-only] [--json FILE]

Starts the bench site (venus-sim --private with bench-50x100.yaml), then:
  1. start-up: venus-modbusd from exec to its "listening on" line, RUNS times (fresh process each);
  2. the change rate the simulator really produces (dbus-monitor, 5 s);
  3. mirroring cost: venus-bench --connections 0 --pid (server CPU with no Modbus client);
  4. scada and ha-scan at 16 connections, each with --ceiling (same run), RUNS times;
  5. evcs and ess at 16 connections (paced: latency, not throughput);
  6. peak RSS (VmHWM) of the server after all of it;
  7. mirroring a busy bus, on sites of their own: venus-sim --churn 1000 over the same services,
     venus-modbusd with libvmd-alloccount.so preloaded, venus-bench --mirror (the daemon's and
     dbus-daemon's CPU per 1,000 changes, allocations per change), and sdbus-floor beside the
     same churn (sd-bus alone receiving the signals), RUNS times; then the idle
     daemon beside venus-sim --still (wake-ups a second with no client and no D-Bus traffic).
With --mirror-only, only 7.
Every process is stopped by PID; every wait is bounded.
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
SCENARIO = os.path.join(SOURCE, "tools", "venus-sim", "scenarios", "bench-50x100.yaml")
MAP = os.path.join(SOURCE, "register-maps", "victron.yaml")


def wait_for(path, pattern, proc, timeout=30.0):
    """Waits until the file has a line matching pattern; returns (match, seconds waited)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with open(path, encoding="utf-8", errors="replace") as f:
            m = re.search(pattern, f.read())
        if m:
            return m, time.monotonic() - start
        if proc.poll() is not None:
            sys.exit(f"run-benchmarks: {proc.args[0]} exited while waiting for '{pattern}' in {path}")
        time.sleep(0.002)
    sys.exit(f"run-benchmarks: timed out waiting for '{pattern}' in {path}")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_server(build, bus, work, name, map_file, env=None):
    log = os.path.join(work, name + ".log")
    with open(log, "w") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen([os.path.join(build, "venus-modbusd"), "--bus", bus, "--map", map_file,
                                 "--listen", "127.0.0.1:0", "--log-level", "info",
                                 # every client connects from 127.0.0.1: lift the per-address limit (8)
                                 "--max-clients-per-address", "32"], stderr=err, env=env)
    m, _ = wait_for(log, r"listening on 127\.0\.0\.1:(\d+)", proc)
    return proc, int(m.group(1)), time.monotonic() - t0


def bench(build, args):
    out = subprocess.run([os.path.join(build, "venus-bench"), "--json"] + args, capture_output=True, text=True,
                         timeout=7200)
    if out.returncode != 0:
        sys.exit(f"run-benchmarks: venus-bench {' '.join(args)} failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout)


def count_changes(bus, seconds, work):
    """Value changes per second the simulator publishes (PropertiesChanged signals, one per change)."""
    path = os.path.join(work, "monitor.out")
    with open(path, "w") as out:
        proc = subprocess.Popen(["dbus-monitor", "--address", bus,
                                 "type='signal',interface='com.victronenergy.BusItem',"
                                 "member='PropertiesChanged'"], stdout=out, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # let it subscribe
    with open(path, encoding="utf-8", errors="replace") as f:
        before = f.read().count("member=PropertiesChanged")
    time.sleep(seconds)
    with open(path, encoding="utf-8", errors="replace") as f:
        after = f.read().count("member=PropertiesChanged")
    stop(proc)
    return (after - before) / seconds


def median(values):
    return statistics.median(values) if values else float("nan")


def start_site(build, work, name, *sim_args):
    """A private bus with the bench site's services (venus-sim SIM_ARGS); returns (sim, bus, bus_pid)."""
    sim_out = os.path.join(work, name + ".out")
    with open(sim_out, "w") as so, open(os.path.join(work, name + ".err"), "w") as se:
        sim = subprocess.Popen([os.path.join(build, "venus-sim"), "--private", "--scenario", SCENARIO,
                                "--log-level", "warn"] + list(sim_args), stdout=so, stderr=se)
    wait_for(sim_out, r"services ready", sim)
    text = open(sim_out).read()
    return sim, re.search(r"DBUS_ADDRESS=(\S+)", text).group(1), int(re.search(r"DBUS_PID=(\d+)", text).group(1))


def mirror_benchmark(build, work, args, raw):
    """Item 7 of the docstring."""
    allocs = os.path.join(work, "allocs")
    env = dict(os.environ, LD_PRELOAD=os.path.join(build, "libvmd-alloccount.so"), VMD_ALLOC_COUNT_FILE=allocs)
    churn = os.path.join(work, "churn")
    runs, floor = [], []
    for i in range(args.runs):  # a fresh site and daemon per run
        sim, bus, bus_pid = start_site(build, work, f"churn{i}", "--churn", "1000", "--churn-count", churn)
        try:
            server, _port, _ = start_server(build, bus, work, f"mirror{i}", args.map, env)
            try:
                time.sleep(2)  # past the initial load
                runs.append(bench(build, ["--mirror", "--pid", str(server.pid), "--bus-pid", str(bus_pid),
                                          "--churn-count", churn, "--alloc-count", allocs,
                                          "--duration", str(args.idle_duration)]))
            finally:
                stop(server)
            # The reference: sd-bus alone receiving the same signals (the mirror's match rules, no work).
            floor_proc = subprocess.Popen([os.path.join(build, "sdbus-floor"), bus])
            try:
                time.sleep(2)
                floor.append(bench(build, ["--mirror", "--pid", str(floor_proc.pid), "--bus-pid", str(bus_pid),
                                           "--churn-count", churn, "--duration", str(args.idle_duration)]))
            finally:
                stop(floor_proc)
        finally:
            stop(sim)
    raw["mirror"] = runs
    raw["mirror_sdbus_floor"] = floor
    print(f"mirroring 1,000 changes/s (venus-sim --churn 1000, {runs[0]['items_changed']} ItemsChanged and "
          f"{runs[0]['properties_changed']} PropertiesChanged in the first run):")
    print(f"  venus-modbusd: median {median([r['server']['cpu_ms_per_1000_changes'] for r in runs]):.2f} ms CPU per "
          f"1,000 changes, runs {[round(r['server']['cpu_ms_per_1000_changes'], 2) for r in runs]}")
    print(f"  dbus-daemon:   median {median([r['bus_daemon']['cpu_ms_per_1000_changes'] for r in runs]):.2f} ms CPU per "
          f"1,000 changes, runs {[round(r['bus_daemon']['cpu_ms_per_1000_changes'], 2) for r in runs]}")
    print(f"  ratio: median {median([r['ratio'] for r in runs]):.2f}, runs {[round(r['ratio'], 2) for r in runs]}")
    print(f"  sdbus-floor (sd-bus receiving the same signals, nothing else): median "
          f"{median([r['server']['cpu_ms_per_1000_changes'] for r in floor]):.2f} ms per 1,000 changes, ratio "
          f"{median([r['ratio'] for r in floor]):.2f}, runs {[round(r['ratio'], 2) for r in floor]}")
    print(f"  allocations per change: median {median([r['allocations_per_change'] for r in runs]):.2f} "
          f"(operator new {median([r['operator_new_per_change'] for r in runs]):.3f}); RSS "
          f"{median([r['server']['rss_kib'] for r in runs]) / 1024:.1f} MiB; wake-ups/s "
          f"{median([r['server']['wakeups_per_second'] for r in runs]):.1f}")
    sim, bus, _ = start_site(build, work, "still", "--still")
    try:
        server, _port, _ = start_server(build, bus, work, "idle", args.map)
        try:
            time.sleep(4)  # past the initial load's one-shot timer (3 s after start)
            idle = [bench(build, ["--mirror", "--pid", str(server.pid), "--duration", str(args.idle_duration)])
                    for _ in range(max(1, args.runs // 2))]
        finally:
            stop(server)
    finally:
        stop(sim)
    raw["idle_wakeups"] = idle
    print(f"idle (no client, no D-Bus traffic): wake-ups/s "
          f"{[round(r['server']['wakeups_per_second'], 2) for r in idle]}, CPU "
          f"{[round(100 * r['server']['cpu_seconds'] / r['seconds'], 3) for r in idle]} % of one core")


def run_all(build, work, args, raw):
    """Items 1-6 of the docstring."""
    sim_out = os.path.join(work, "sim.out")
    with open(sim_out, "w") as so, open(os.path.join(work, "sim.err"), "w") as se:
        sim = subprocess.Popen([os.path.join(build, "venus-sim"), "--private", "--scenario", SCENARIO,
                                "--log-level", "warn"], stdout=so, stderr=se)
    try:
        wait_for(sim_out, r"services ready", sim)
        bus = re.search(r"DBUS_ADDRESS=(\S+)", open(sim_out).read()).group(1)

        startup = []
        for i in range(args.runs):
            proc, _port, seconds = start_server(build, bus, work, f"startup{i}", args.map)
            startup.append(seconds * 1000)
            stop(proc)
        raw["startup_ms"] = startup
        print(f"start-up to 'listening on' (ms): median {median(startup):.0f}, runs {[round(s) for s in startup]}")

        raw["changes_per_s"] = count_changes(bus, 5, work)
        print(f"simulator value changes/s: {raw['changes_per_s']:.0f}")

        server, port, _ = start_server(build, bus, work, "server", args.map)
        try:
            pid = str(server.pid)
            idle = [bench(build, ["--port", str(port), "--connections", "0", "--pid", pid, "--duration",
                                  str(args.idle_duration)])["target"]["server"]
                    for _ in range(max(3, args.runs // 2))]
            raw["idle"] = idle
            print(f"mirroring, no clients: median {median([s['cpu_percent'] for s in idle]):.2f} % of one core,"
                  f" runs {[s['cpu_percent'] for s in idle]}")

            common = ["--port", str(port), "--connections", str(args.connections), "--duration",
                      str(args.duration), "--pid", pid]
            for mix in ("scada", "ha-scan"):
                runs = [bench(build, common + ["--mix", mix, "--ceiling"]) for _ in range(args.runs)]
                raw[mix] = runs
                t = [r["target"] for r in runs]
                c = [r["ceiling"] for r in runs]
                print(f"{mix}: target {median([x['requests_per_s'] for x in t]):.0f}/s, ceiling "
                      f"{median([x['requests_per_s'] for x in c]):.0f}/s, ratio "
                      f"{median([r['ratio'] for r in runs]):.3f} (runs {[r['ratio'] for r in runs]})")
                for name, sel in (("target", t), ("ceiling", c)):
                    lat = [x["latency_us"] for x in sel]
                    print(f"  {name} latency us: p50 {median([x['p50'] for x in lat]):.0f}, "
                          f"p99 {median([x['p99'] for x in lat]):.0f}, "
                          f"p99.9 {median([x['p999'] for x in lat]):.0f}")
                for name, sel in (("server", t), ("ceiling thread", c)):
                    srv = [x["server"] for x in sel]
                    print(f"  {name}: {median([s['cpu_percent'] for s in srv]):.1f} % of one core, "
                          f"{median([s['cpu_us_per_request'] for s in srv]):.2f} us cpu/request")
                if mix == "ha-scan":
                    print(f"  exceptions: {t[0]['exceptions']} of {t[0]['requests']}")

            for connections in (1, 4):
                runs = [bench(build, ["--port", str(port), "--connections", str(connections), "--duration",
                                      str(args.duration), "--pid", pid, "--mix", "scada", "--ceiling"])
                        for _ in range(max(3, args.runs // 2))]
                raw[f"scada-{connections}"] = runs
                for name in ("target", "ceiling"):
                    sel = [r[name] for r in runs]
                    lat = [x["latency_us"] for x in sel]
                    print(f"scada at {connections} connection(s), {name}: "
                          f"{median([x['requests_per_s'] for x in sel]):.0f}/s, latency us p50 "
                          f"{median([x['p50'] for x in lat]):.0f}, p99 {median([x['p99'] for x in lat]):.0f}, "
                          f"p99.9 {median([x['p999'] for x in lat]):.0f}")

            for mix in ("evcs", "ess"):
                runs = [bench(build, common + ["--mix", mix]) for _ in range(max(3, args.runs // 2))]
                raw[mix] = runs
                t = [r["target"] for r in runs]
                lat = [x["latency_us"] for x in t]
                line = (f"{mix}: {median([x['requests_per_s'] for x in t]):.1f} req/s, latency us p50 "
                        f"{median([x['p50'] for x in lat]):.0f}, p99 {median([x['p99'] for x in lat]):.0f}, "
                        f"max {median([x['max'] for x in lat]):.0f}")
                w = [x["write_latency_us"] for x in t if x["write_latency_us"]]
                if w:
                    line += (f"; writes p50 {median([x['p50'] for x in w]):.0f}, "
                             f"p99 {median([x['p99'] for x in w]):.0f}")
                errors = sum(x["transport_errors"] for x in t) + sum(
                    sum(x["exceptions"].values()) for x in t)
                print(line + f", errors {errors}")

            final = bench(build, ["--port", str(port), "--connections", "0", "--pid", pid, "--duration",
                                  "0.1"])["target"]["server"]
            raw["peak_rss_kib"] = final["peak_rss_kib"]
            print(f"peak RSS (VmHWM) after all runs: {final['peak_rss_kib'] / 1024:.1f} MiB")
        finally:
            stop(server)
    finally:
        stop(sim)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(SOURCE, "build"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--idle-duration", type=float, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--map", default=MAP, help="register map for venus-modbusd (default: the repository's)")
    parser.add_argument("--json", help="also write every raw result to this file")
    parser.add_argument("--mirror-only", action="store_true", help="only the mirror benchmark (7)")
    args = parser.parse_args()
    if not 1 <= args.runs <= 50 or not 0 < args.duration <= 600 or not 0 < args.idle_duration <= 600:
        sys.exit("run-benchmarks: --runs 1-50, --duration and --idle-duration 0-600 s")
    build = os.path.abspath(args.build)
    raw = {"machine": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}}

    with tempfile.TemporaryDirectory(prefix="vmd-bench.") as work:
        if args.mirror_only:
            mirror_benchmark(build, work, args, raw)
        else:
            run_all(build, work, args, raw)
            mirror_benchmark(build, work, args, raw)
    raw["machine"]["loadavg_end"] = os.getloadavg()
    print(f"load average at start {raw['machine']['loadavg_start']}, at end {raw['machine']['loadavg_end']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
