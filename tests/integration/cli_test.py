"""The command lines of venus-modbusd and venus-sim as their man pages and the README promise them.

venus-modbusd (docs/man/venus-modbusd.8, README "Running it"):
  --help exits 0; SIGTERM and SIGINT close the open connections and exit 0; --check prints a summary per file and in total and exits 0; a bus that cannot be
  reached at start, and a listening address that cannot be bound, exit 1 with the reason;
  --overlay is repeatable: one overlay adds a register, another amends a range, and the running
  daemon serves the first and refuses writes outside the second with exception 3, sending nothing;
  --log-level off logs nothing, warn only warnings and errors.
venus-sim (docs/man/venus-sim.1, README):
  --help exits 0; an unknown argument exits 2 with the usage; a bus that cannot be reached exits 1;
  --private starts its own dbus-daemon and prints DBUS_ADDRESS=, where the default scenario
  (tools/venus-sim/scenarios/ess-site.yaml) is published; SIGINT and SIGTERM stop it with status 0
  and its private bus with it.

Usage: cli_test.py BUILD_DIR
"""
import os
import re
import signal
import socket
import subprocess
import sys

from sitelib import DEFAULT_SCENARIO, SHIPPED_MAP, Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
DAEMON = os.path.join(BUILD, "venus-modbusd")
SIM = os.path.join(BUILD, "venus-sim")
checks = Checks("command lines")
check = checks.check


def run(program, *args, timeout=60):
    return subprocess.run([program, *args], capture_output=True, text=True, timeout=timeout)


def one_line(text):
    return " ".join(text.split())[-200:]


def daemon_parts():
    r = run(DAEMON, "--help")
    check(r.returncode == 0 and r.stdout.startswith("Usage: venus-modbusd"), "venus-modbusd --help exits 0 with the usage")

    with Site(BUILD, prefix="vmd-cli.") as site:
        added, amended = site.path("added.yaml"), site.path("amended.yaml")
        with open(added, "w") as f:
            f.write("registers:\n  - {address: 60000, service: system, path: /Dc/Battery/Soc, type: uint16, access: R}\n")
        with open(amended, "w") as f:
            f.write("amend:\n  - {address: 2700, range: [-100, 100]}\n")
        r = run(DAEMON, "--config", "/dev/null", "--check", "--map", SHIPPED_MAP, "--overlay", added, "--overlay", amended)
        shipped = run(DAEMON, "--config", "/dev/null", "--check", "--map", SHIPPED_MAP)
        total = re.search(r"^(\d+) registers \((\d+) writable, (\d+) with a fail-safe\), (\d+) words, (\d+) service types, "
                          r"(\d+) unit-ID mappings$", r.stdout, re.M)
        base = re.search(r"^(\d+) registers ", shipped.stdout, re.M)
        check(r.returncode == 0 and "%s: OK\n" % SHIPPED_MAP in r.stdout and
              "%s: OK (overlay, 1 register added)" % added in r.stdout and
              "%s: OK (overlay, 0 registers added)" % amended in r.stdout,
              "--check with two overlays exits 0 and names each file: %d %s" % (r.returncode, one_line(r.stdout + r.stderr)))
        check(total is not None and base is not None and int(total.group(1)) == int(base.group(1)) + 1,
              "... and its summary counts the overlay's register: %s" % one_line(r.stdout))

        # docs/architecture.md "Start-up: Options -> map (exit 2 on any problem) -> bus connection (exit 1)".
        broken = site.path("broken-map.yaml")
        with open(broken, "w") as f:
            f.write("registers:\n  - {address: 10, service: system, path: /X, type: float, access: R}\n")
        r = run(DAEMON, "--config", "/dev/null", "--map", broken, "--bus", "unix:path=" + site.path("no-bus"),
                "--listen", "127.0.0.1:0")
        check(r.returncode == 2 and broken + ":2: unknown type 'float'" in r.stderr and "D-Bus" not in r.stderr,
              "a broken map exits 2 before the bus is tried: %d %s" % (r.returncode, one_line(r.stderr)))
        r = run(DAEMON, "--config", "/dev/null", "--map", SHIPPED_MAP, "--bus", "unix:path=" + site.path("no-bus"),
                "--listen", "127.0.0.1:0")
        check(r.returncode == 1 and "cannot connect to the D-Bus" in r.stderr,
              "a bus that cannot be reached exits 1 saying so: %d %s" % (r.returncode, one_line(r.stderr)))

        site.start_sim()
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run(DAEMON, "--config", "/dev/null", "--map", SHIPPED_MAP, "--bus", site.bus, "--listen", "127.0.0.1:%d" % port)
        check(r.returncode == 1 and "127.0.0.1:%d" % port in r.stderr,
              "a listening address already in use exits 1 naming it: %d %s" % (r.returncode, one_line(r.stderr)))
        taken.close()

        _, port = site.start_server("--overlay", added, "--overlay", amended)
        c = Connection(port)
        check(c.read(100, 60000) == c.read(100, 843) != 2, "the first overlay's register 60000 is served")
        before = [l for l in site.set_lines() if "/Settings/CGwacs/AcPowerSetPoint" in l]
        check(c.write(100, 2700, 150) == 3, "a write outside the second overlay's range [-100, 100] is exception 3")
        check(c.write(100, 2700, 100) is None, "a write at its edge is accepted")
        after = [l for l in site.set_lines() if "/Settings/CGwacs/AcPowerSetPoint" in l]
        check(wait_for(lambda: len([l for l in site.set_lines() if "/Settings/CGwacs/AcPowerSetPoint" in l])
                       == len(before) + 1, 5) and " 100 -> 0" in site.set_lines()[-1],
              "only the accepted one reached D-Bus: %s" % after[len(before):])
        c.close()

        # [SIGNALS] "SIGTERM, SIGINT: Stop serving, close the connections, exit 0".
        for stop in (signal.SIGTERM, signal.SIGINT):
            server, port = site.start_server(log="stop-%d.log" % stop)
            c = Connection(port)
            check(isinstance(c.read(100, 843), list), "%s: a connected client is served" % signal.Signals(stop).name)
            server.send_signal(stop)
            check(c.closed_by_server(), "%s closes the client's connection" % signal.Signals(stop).name)
            check(server.wait(timeout=20) == 0, "%s: exit status 0" % signal.Signals(stop).name)
            c.close()


def log_levels():
    """--log-level off logs nothing at all; warn logs warnings (a refused connection) and nothing at info
    (not even "listening on"). Without that line the port is chosen here and probed."""
    for level in ("off", "warn"):
        with Site(BUILD, prefix="vmd-cli-log.") as site:
            site.start_sim()
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            log = "%s.log" % level
            proc = site.spawn([DAEMON, "--config", "/dev/null", "--map", SHIPPED_MAP, "--bus", site.bus,
                               "--listen", "127.0.0.1:%d" % port, "--allow", "127.0.0.2", "--log-level", level], log)

            def refused():
                """Connects from 127.0.0.1 (outside --allow): True once the server accepted and closed it."""
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                        return c.recv(1) == b""
                except (ConnectionRefusedError, ConnectionResetError, socket.timeout):
                    return False

            check(wait_for(lambda: refused() or proc.poll() is not None, 20) and proc.poll() is None,
                  "--log-level %s: the daemon serves (a client outside --allow is closed)" % level)
            check(site.stop(proc) == 0, "--log-level %s: it stops with status 0" % level)
            text = site.text(log)
            if level == "off":
                check(text == "", "--log-level off logs nothing: %r" % text[:200])
            else:
                check("connection refused: not in --allow" in text and text.startswith("warning"),
                      "--log-level warn logs the refusal as a warning: %r" % text[:200])
                check(not re.search(r"(?m)^(info|debug|trace) ", text), "--log-level warn logs nothing below warn")


def sim_parts():
    r = run(SIM, "--help")
    check(r.returncode == 0 and "--private" in r.stdout, "venus-sim --help exits 0")
    r = run(SIM, "--bogus")
    check(r.returncode == 2 and "unknown argument '--bogus'" in r.stderr and "usage: venus-sim" in r.stderr,
          "venus-sim with an unknown argument exits 2 with the usage: %d %s" % (r.returncode, one_line(r.stderr)))
    r = run(SIM, "--bus", "unix:path=/nonexistent/bus")
    check(r.returncode == 1, "venus-sim on a bus that cannot be reached exits 1: %d %s" % (r.returncode, one_line(r.stderr)))

    with open(DEFAULT_SCENARIO) as f:
        expected = sorted(re.findall(r"^  - name: (com\.victronenergy\.\S+)", f.read(), re.M))
    for stop in (signal.SIGINT, signal.SIGTERM):
        sim = subprocess.Popen([SIM, "--private"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = sim.stdout.readline().strip()
            check(line.startswith("DBUS_ADDRESS=unix:"), "venus-sim --private prints DBUS_ADDRESS=: %r" % line)
            bus = line[len("DBUS_ADDRESS="):]

            def names():
                out = subprocess.run(["dbus-send", "--bus=" + bus, "--print-reply", "--dest=org.freedesktop.DBus", "/",
                                      "org.freedesktop.DBus.ListNames"], capture_output=True, text=True, timeout=10).stdout
                return sorted(set(re.findall(r'"(com\.victronenergy\.[^"]+)"', out)))

            check(wait_for(lambda: names() == expected, 20),
                  "the private bus has the default scenario's %d services: %s" % (len(expected), names()))
            sim.send_signal(stop)
            status = sim.wait(timeout=20)
            check(status == 0, "%s stops venus-sim with status 0: %d" % (signal.Signals(stop).name, status))
            check(wait_for(lambda: subprocess.run(["dbus-send", "--bus=" + bus, "--print-reply", "--dest=org.freedesktop.DBus",
                                                   "/", "org.freedesktop.DBus.ListNames"], capture_output=True,
                                                  timeout=10).returncode != 0, 10),
                  "... and its private dbus-daemon is gone")
        finally:
            if sim.poll() is None:
                sim.kill()
                sim.wait()


checks.run_parts((daemon_parts, log_levels, sim_parts))
checks.finish()
