"""What README.md and docs/ promise of the daemon's options, checked on the running daemon.

Each part starts its own private bus, simulator and server (tests/integration/sitelib.py) with
the options it tests, so no part depends on another's state.
Usage: options_test.py BUILD_DIR [PART...]   (no PART: every part)
"""
import os
import re
import signal
import struct
import subprocess
import sys
import time

from sitelib import SOURCE, SHIPPED_MAP, Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
DAEMON = os.path.join(BUILD, "venus-modbusd")
EXTRA = os.path.join(SOURCE, "tests", "integration", "scenarios", "extra-meter.yaml")
TWINS = os.path.join(SOURCE, "tests", "integration", "scenarios", "twins.yaml")
checks = Checks("options")
check = checks.check


def run(*args, env=None):
    return subprocess.run([DAEMON, *args], capture_output=True, text=True, timeout=60, env=env)


def project_version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        return re.search(r"project\(venus-modbusd VERSION ([0-9.]+)", f.read()).group(1)


def part_exit_codes():
    r = run("--version")
    check(r.returncode == 0 and r.stdout.strip() == "venus-modbusd " + project_version(),
          "--version prints 'venus-modbusd %s' and exits 0: %r" % (project_version(), r.stdout))
    with Site(BUILD) as site:
        config = site.path("broken.yaml")
        with open(config, "w") as f:
            f.write("log-level: info\nmax-clients: lots\n")
        r = run("--config", config, "--map", SHIPPED_MAP, "--bus", "unix:path=/nonexistent")
        check(r.returncode == 2 and config + ":2: 'max-clients': 'lots' is not a number" in r.stderr,
              "a bad config file exits 2 naming its file and line: %d %r" % (r.returncode, r.stderr))
    for args in (["--listen", "127.0.0.1"], ["--listen", "127.0.0.1:70000"], ["--listen", "::1:502"]):
        r = run("--config", "/dev/null", "--map", SHIPPED_MAP, "--bus", "unix:path=/nonexistent", *args)
        check(r.returncode == 2 and "--listen: '%s' is not HOST:PORT" % args[1] in r.stderr,
              "a malformed %s exits 2 before anything starts: %d %r" % (" ".join(args), r.returncode, r.stderr))
        r = run("--config", "/dev/null", "--map", SHIPPED_MAP, "--check", *args)
        check(r.returncode == 2, "--check catches a malformed %s: %d" % (" ".join(args), r.returncode))


def part_buses_and_signals():
    """--bus session and --bus system take the bus from the usual environment variables; SIGINT
    stops with status 0; a second daemon on the bus finds the diagnostics name taken and serves."""
    with Site(BUILD) as site:
        site.start_sim()
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=site.bus)
        session, session_port = site.start_server("--bus", "session", bus=False, env=env, log="session.log")
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=site.bus)
        system, system_port = site.start_server("--bus", "system", bus=False, env=env, log="system.log")
        for name, port in (("session", session_port), ("system", system_port)):
            c = Connection(port)
            check(c.read(100, 800, 6) == [0x6330, 0x3631, 0x3961, 0x6232, 0x6631, 0x6534],
                  "--bus %s serves the site's system serial" % name)
            c.close()
        check("no diagnostics service: cannot own com.victronenergy.modbustcp" in site.text("system.log"),
              "the second daemon logs that the diagnostics name is taken, and serves all the same")
        session.send_signal(signal.SIGINT)
        check(session.wait(timeout=20) == 0, "SIGINT stops the daemon with status 0")
        check(site.stop(system) == 0, "SIGTERM stops the daemon with status 0")


def part_not_available():
    """Missing values read as 0 by default and as the type's maximum with --not-available max."""
    with Site(BUILD) as site:
        site.start_sim()
        _, zero_port = site.start_server(log="zero.log")
        _, max_port = site.start_server("--not-available", "max", log="max.log")
        zero, most = Connection(zero_port), Connection(max_port)
        # /Ac/ActiveIn/L2/P of the Multi (13, int16) and the system's /Dc/Battery/TimeToGo (846,
        # uint16) are invalid (null) in the scenario.
        check(zero.read(246, 13) == [0] and most.read(246, 13) == [0x7FFF],
              "an invalid int16 reads 0, or 0x7FFF with --not-available max")
        check(zero.read(100, 846) == [0] and most.read(100, 846) == [0xFFFF],
              "an invalid uint16 reads 0, or 0xFFFF with --not-available max")
        zero.close()
        most.close()


def part_write_timeout_and_isolation():
    """A non-default --write-timeout decides when a hung SetValue becomes exception 11, and other
    connections are served meanwhile."""
    with Site(BUILD) as site:
        site.start_sim()
        site.start_sim(EXTRA, log="extra.log")
        _, port = site.start_server("--write-timeout", "2500")
        writer, reader = Connection(port, timeout=30), Connection(port)
        check(wait_for(lambda: reader.read(41, 33) == [3]), "the extra simulator's unit 41 is served")
        start = time.monotonic()
        writer.send(41, struct.pack(">BHH", 6, 37, 5))  # /Hub4/L1/AcPowerSetpoint never answers
        check(wait_for(lambda: any("/Hub4/L1/AcPowerSetpoint" in line and "hang" in line
                                   for line in site.set_lines("extra.log"))), "the SetValue reached D-Bus")
        answered = all(reader.read(100, 800) == [0x6330] for _ in range(20))
        reads_done = time.monotonic()
        _, reply = writer.receive()
        elapsed = time.monotonic() - start
        check(answered, "another connection is answered while a SetValue hangs")
        check(reads_done - start < elapsed, "those answers came before the hung write's reply")
        check(reply == bytes([0x86, 11]), "the hung write answers exception 11: %r" % reply)
        check(elapsed >= 2.4, "exception 11 comes after --write-timeout 2500 ms, not the default 1000: %.2f s"
              % elapsed)
        writer.close()
        reader.close()


def part_idle_timeout():
    """--idle-timeout closes a silent client and logs it; a client that keeps asking stays."""
    with Site(BUILD) as site:
        site.start_sim()
        _, port = site.start_server("--idle-timeout", "1")
        silent = Connection(port, timeout=0.2)
        start = time.monotonic()
        closed = wait_for(silent.closed_by_server, timeout=20)
        elapsed = time.monotonic() - start
        check(closed and elapsed >= 0.9, "a silent client is closed after --idle-timeout 1 s: %.2f s" % elapsed)
        check(wait_for(lambda: "idle timeout" in site.text("server.log")), "the idle close is logged")
        busy = Connection(port)
        answers = []
        for _ in range(12):
            answers.append(busy.read(100, 800))
            time.sleep(0.25)
        check(answers == [[0x6330]] * 12, "a client asking every 250 ms for 3 s stays connected")
        silent.close()
        busy.close()


def part_logs():
    """At info level every write is logged with its peer, register, words, path and value; repeated
    client errors are logged once per interval with a count of the rest."""
    with Site(BUILD) as site:
        site.start_sim()
        _, port = site.start_server("--log-level", "info")
        c = Connection(port)
        check(c.write(100, 2700, 77) is None, "write 77 to 2700")
        pattern = (r"(?m)^info +\[modbus\] write from 127\.0\.0\.1:\d+ unit 100 register 2700 words \[0x004D\] -> "
                   r"com\.victronenergy\.settings /Settings/CGwacs/AcPowerSetPoint = 77 \(d\): accepted$")
        check(wait_for(lambda: re.search(pattern, site.text("server.log"))), "the write is logged at info level")
        check(not re.search(r"(?m)^(debug|trace) ", site.text("server.log")), "nothing is logged below info")
        codes = [c.read(100, 1000) for _ in range(200)]  # 1000 is not mapped: exception 2 each time
        check(codes == [2] * 200, "200 reads of an unmapped address answer exception 2")
        # On a loaded machine the 200 reads may outlast the 10 s interval: the count is then split
        # over two summary lines, but every suppressed exception is counted once.
        def counted_so_far():
            return sum(int(n) for n in re.findall(r"(?m): (\d+) more exceptions in the last \d+ s ",
                                                  site.text("server.log")))
        counted = wait_for(lambda: counted_so_far() == 199, timeout=40)
        lines = [line for line in site.text("server.log").splitlines()
                 if "address 1000 quantity 1: exception 2" in line and "more exceptions" not in line]
        check(len(lines) == 1, "the first error of the interval is logged once: %d lines" % len(lines))
        check(counted, "the other 199 are counted after the interval: %d" % counted_so_far())
        c.close()


def part_twins_and_refusals():
    """Two services at one instance: the smaller bus name answers, a warning names both. A write of
    several registers stops at the first D-Bus refusal."""
    with Site(BUILD) as site:
        site.start_sim(TWINS)
        _, port = site.start_server()
        c = Connection(port)
        check(c.read(225, 259) == [1275], "unit 225 (instance 512) serves battery.ttyA, the smaller name")
        check("two services share a type and instance: com.victronenergy.battery.ttyA answers, "
              "com.victronenergy.battery.ttyB is not reachable" in site.text("server.log"), "and logs a warning")
        reply = c.request(100, struct.pack(">BHHB2H", 16, 2700, 2, 4, 100, 50))
        check(reply == bytes([0x90, 10]), "a refused first SetValue answers exception 10: %r" % reply)
        sets = site.set_lines()
        check(any("/Settings/CGwacs/AcPowerSetPoint" in line and line.endswith("-> 2") for line in sets),
              "the first value was sent and refused")
        check(not any("MaxChargePercentage" in line for line in sets), "the second value was never sent")
        c.close()


def part_sim_only():
    """venus-sim --only publishes only the named services of its scenario."""
    with Site(BUILD) as site:
        site.start_sim(EXTRA, extra=["--only", "com.victronenergy.grid.test_meter"])
        names = subprocess.run(["dbus-send", "--bus=" + site.bus, "--print-reply", "--dest=org.freedesktop.DBus", "/",
                                "org.freedesktop.DBus.ListNames"], capture_output=True, text=True).stdout
        victron = sorted(set(re.findall(r'"(com\.victronenergy\.[^"]+)"', names)))
        check(victron == ["com.victronenergy.grid.test_meter"], "only the named service is on the bus: %s" % victron)
        _, port = site.start_server()
        c = Connection(port)
        check(c.read(40, 2600) == [1234] and c.read(41, 33) == 10, "the server sees the grid meter and no Multi")
        c.close()


def part_reload_options():
    """SIGHUP re-applies read-only, not-available and log-level to the connections already open
    (allow and write-allow: connection_test.py reload-access; write-timeout: the part below)."""
    with Site(BUILD) as site:
        site.start_sim()
        config = site.path("venus-modbusd.yaml")
        with open(config, "w") as f:
            f.write("read-only: false\nnot-available: zero\nlog-level: info\n")
        server, port = site.start_server(config=config)
        c = Connection(port)
        check(c.write(100, 2700, 10) is None and c.read(246, 13) == [0], "before the reload: writable, zero")
        with open(config, "w") as f:
            f.write("read-only: true\nnot-available: max\nlog-level: debug\n")
        server.send_signal(signal.SIGHUP)
        check(wait_for(lambda: "reload: read-only on" in site.text("server.log")), "the reload is logged")
        check(c.write(100, 2700, 20) == 2, "after the reload the same connection's write answers exception 2")
        check(c.read(246, 13) == [0x7FFF], "and a missing value reads as the maximum")
        other = Connection(port)
        check(wait_for(lambda: re.search(r"(?m)^debug +\[modbus\] 127\.0\.0\.1:\d+: connected$",
                                         site.text("server.log"))), "and debug lines are logged")
        other.close()
        c.close()


def part_reload_write_timeout():
    """SIGHUP re-applies write-timeout: a hung SetValue answers exception 11 after the new timeout."""
    with Site(BUILD) as site:
        site.start_sim()
        site.start_sim(EXTRA, log="extra.log")
        config = site.path("venus-modbusd.yaml")
        with open(config, "w") as f:
            f.write("write-timeout: 1000\n")
        server, port = site.start_server(config=config)
        c = Connection(port, timeout=60)
        check(wait_for(lambda: c.read(41, 33) == [3]), "the extra simulator's unit 41 is served")

        def hung_write():
            """The seconds until a write of /Hub4/L1/AcPowerSetpoint (never answered) gets its reply, and the reply."""
            start = time.monotonic()
            reply = c.request(41, struct.pack(">BHH", 6, 37, 5))
            return time.monotonic() - start, reply

        elapsed, reply = hung_write()
        check(reply == bytes([0x86, 11]) and 0.9 <= elapsed < 3.5,
              "with write-timeout 1000 a hung write answers exception 11 after about 1 s: %r after %.2f s" % (reply, elapsed))
        with open(config, "w") as f:
            f.write("write-timeout: 4000\n")
        reloads = site.text("server.log").count("reload: map")
        server.send_signal(signal.SIGHUP)
        check(wait_for(lambda: site.text("server.log").count("reload: map") > reloads), "the reload is done")
        elapsed, reply = hung_write()
        check(reply == bytes([0x86, 11]) and elapsed >= 3.9,
              "after SIGHUP with write-timeout 4000, on the same connection, after 4 s: %r after %.2f s" % (reply, elapsed))
        c.close()


PARTS = {name[len("part_"):]: f for name, f in globals().items() if name.startswith("part_")}
for name in sys.argv[2:] or PARTS:
    print("--- " + name, flush=True)
    try:
        PARTS[name]()
    except Exception as e:  # a part that breaks is a failure of that part, the others still run
        check(False, "%s raised %s: %s" % (name, type(e).__name__, e))

checks.finish()
