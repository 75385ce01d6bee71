#!/usr/bin/env python3
"""venus-bench --mirror against the bench site under venus-sim --churn: the churn publishes counted
changes in both emission styles, the bench reports the daemon's and dbus-daemon's CPU per 1,000
changes, wake-ups, RSS and (with libvmd-alloccount.so preloaded) allocations per change, in text and
JSON; bad arguments and unreadable count files are refused. No timing bound: the figures are measured
for docs/benchmarks.md ("Mirroring a busy bus").

    bench_mirror.py BUILD_DIR [SANITIZERS]

In a sanitized build (SANITIZERS, the build's VMD_SANITIZE, not empty) the allocations are not
counted: the sanitizer's runtime must be the first library loaded and replaces malloc, so
libvmd-alloccount.so can be neither preloaded nor the one that counts; everything else is checked.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import sitelib  # noqa: E402

BUILD = sys.argv[1]
SANITIZED = len(sys.argv) > 2 and sys.argv[2] != ""
BENCH = os.path.join(BUILD, "venus-bench")
SIM = os.path.join(BUILD, "venus-sim")
ALLOC_LIB = os.path.join(BUILD, "libvmd-alloccount.so")
SCENARIO = os.path.join(sitelib.SOURCE, "tools", "venus-sim", "scenarios", "bench-50x100.yaml")
checks = sitelib.Checks("bench --mirror")
check = checks.check


def run(command, what, code=0):
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    print("$ %s\n%s%s" % (" ".join(command), out.stdout, out.stderr))
    check(out.returncode == code, "%s: exit code %d (%d)" % (what, code, out.returncode))
    return out


def check_process(p, what, per_change):
    check(p is not None and p["pid"] > 0 and p["cpu_seconds"] >= 0 and p["wakeups"] >= 0 and p["rss_kib"] > 0
          and p["peak_rss_kib"] >= p["rss_kib"], "%s: CPU, wake-ups and RSS (%s)" % (what, p))
    if p is not None:
        check(("cpu_ms_per_1000_changes" in p) == per_change, "%s: CPU per 1,000 changes given: %s" % (what, per_change))


# The simulator's own arguments.
for args, message in ((["--churn-count", "/tmp/x"], "--churn-count needs --churn"),
                      (["--churn", "0"], "--churn 0: not a number"), (["--churn", "1e9"], "--churn 1e9"),
                      (["--churn", "fast"], "--churn fast"),
                      (["--churn", "10", "--still"], "--still and --churn exclude each other")):
    out = run([SIM, "--scenario", SCENARIO] + args, "venus-sim " + " ".join(args), 2)
    check(message in out.stderr, "venus-sim %s: says '%s'" % (" ".join(args), message))

with sitelib.Site(BUILD) as site:
    site.start_bus()
    bus_pid = site.procs[0].pid
    churn = site.path("churn")
    sim = site.start_sim(SCENARIO, extra=["--churn", "500", "--churn-count", churn], timeout=60)
    allocs = site.path("allocs")
    if SANITIZED:
        print("allocations not counted: the daemon is built with -fsanitize=%s (its runtime replaces malloc)"
              % sys.argv[2])
        proc, port = site.start_server()
    else:
        proc, port = site.start_server(env=dict(os.environ, LD_PRELOAD=ALLOC_LIB, VMD_ALLOC_COUNT_FILE=allocs))
    base = [BENCH, "--mirror", "--pid", str(proc.pid), "--duration", "1.5"]
    try:
        full = base + ["--bus-pid", str(bus_pid), "--churn-count", churn] + ([] if SANITIZED else ["--alloc-count", allocs])
        text = run(full, "--mirror").stdout
        check(re.search(r"^mirror: [\d.]+ s, no Modbus client, [\d,]+ value changes \([\d,.]+/s\) in [\d,]+ "
                        r"ItemsChanged and [\d,]+ PropertiesChanged$", text, re.M) is not None, "text: the changes line")
        for name in ("server", "dbus-daemon"):
            check(re.search(r"^%s \(pid \d+\): CPU [\d,.]+ ms = [\d,.]+ ms per 1,000 changes \([\d.]+ %% of a core\); "
                            r"[\d,.]+ wake-ups/s; RSS [\d,]+ KiB \(peak [\d,]+ KiB\)$" % name, text, re.M) is not None,
                  "text: the %s line" % name)
        check((re.search(r"^server allocations: [\d,]+ \(operator new [\d,]+\) = [\d,.]+ per change", text, re.M)
               is not None) != SANITIZED, "text: the allocations line%s" % (" absent" if SANITIZED else ""))
        out = run(full + ["--json"], "--mirror --json").stdout
        try:
            r = json.loads(out)
            check(r["mode"] == "mirror" and r["seconds"] > 0, "JSON: mode and seconds")
            # 500 changes a second for 1.5 s; a loaded machine may fall behind, never to nothing.
            check(r["changes"] > 0 and r["items_changed"] > 0 and r["properties_changed"] > 0,
                  "JSON: changes counted in both emission styles (%s)" % r)
            check(r["properties_changed"] + r["items_changed"] <= r["changes"],
                  "JSON: a PropertiesChanged carries one change, an ItemsChanged at least one")
            check_process(r["server"], "JSON, server", True)
            check_process(r["bus_daemon"], "JSON, dbus-daemon", True)
            check(r["server"]["pid"] == proc.pid and r["bus_daemon"]["pid"] == bus_pid, "JSON: the pids watched")
            if SANITIZED:
                check("allocations" not in r, "JSON: no allocations without --alloc-count")
            else:
                check(r["allocations"] >= r["operator_new"] >= 0 and r["allocations_per_change"] >= 0,
                      "JSON: allocations counted (%s)" % r.get("allocations"))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            check(False, "--mirror --json: the documented fields (%r)" % e)
        # Only the server: no changes, no ratio, no allocations.
        out = run(base + ["--json"], "--mirror, the server alone").stdout
        try:
            r = json.loads(out)
            check("changes" not in r and "bus_daemon" not in r and "allocations" not in r,
                  "JSON, server alone: no changes, dbus-daemon or allocations")
            check_process(r["server"], "JSON, server alone", False)
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            check(False, "--mirror --json, the server alone: the documented fields (%r)" % e)
        # Count files that are not what they should be: exit 1 with the file named.
        junk = site.path("junk")
        with open(junk, "w") as f:
            f.write("nothing to count\n")
        for args in (["--churn-count", site.path("missing")], ["--churn-count", junk], ["--alloc-count", junk]):
            out = run(base + args, "--mirror " + " ".join(args), 1)
            check(args[1] in out.stderr, "--mirror %s: names the file" % " ".join(args))
        for args in (["--churn-count", churn], ["--mirror", "--mix", "scada"], ["--mirror", "--bus-pid", "1"]):
            command = [BENCH] + args + ([] if "--mirror" in args else ["--mirror"])
            run(command, " ".join(command[1:]) + " (no --pid)", 2)
        run([BENCH, "--port", str(port), "--churn-count", churn, "--pid", str(proc.pid)], "--churn-count without --mirror", 2)
        check(proc.poll() is None, "the server is still running")
        site.stop(sim)
        line = re.search(r"^CHURN changes (\d+) items-changed (\d+) properties-changed (\d+)$", site.text("sim.log"), re.M)
        check(line is not None and int(line.group(1)) > 0, "venus-sim prints its churn counts when it stops")
    except Exception as e:  # a crash is a failure with the server log beside it
        check(False, "%r" % e)
    checks.finish(lambda: "--- server log (last 40 lines)\n" + "\n".join(site.text("server.log").splitlines()[-40:]))
