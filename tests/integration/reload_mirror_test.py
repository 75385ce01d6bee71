"""A SIGHUP reload while a service is still loading path by path (BusMirror::rebind).

Starts a private bus, the default site and a slow tank (tests/integration/scenarios/tank-slow-paths.yaml:
no GetItems, no GetValue on /, each GetValue answered 1.5 s late) and the server with an overlay.
While the tank is still loading, the overlay gains a register for a path of the tank that the old
map did not use, and the server is reloaded: the new register must read the tank's value. Then more
reloads: the per-path proxies the mirror keeps for the tank must not grow with them.
Usage: reload_mirror_test.py BUILD_DIR
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

build = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
work = tempfile.mkdtemp(prefix="vmd-reload-mirror.")
failures = []
procs = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def text(name):
    with open(os.path.join(work, name)) as f:
        return f.read()


def start_sim(address, scenario, log_name):
    log = open(os.path.join(work, log_name), "w")
    args = [os.path.join(build, "venus-sim"), "--bus", address]
    if scenario:
        args += ["--scenario", scenario]
    sim = subprocess.Popen(args, stdout=log, stderr=log)
    procs.append(sim)
    if not wait_for(lambda: "services ready" in text(log_name)):
        raise RuntimeError("venus-sim did not get ready: " + text(log_name))
    return sim


OVERLAY_V1 = "registers:\n  - {address: 60000, service: tank, path: /Level, type: uint16, scale: 10, access: R}\n"
OVERLAY_V2 = OVERLAY_V1 + "  - {address: 60001, service: tank, path: /Sim/Extra, type: uint16, access: R}\n"

try:
    bus = subprocess.Popen(["dbus-daemon", "--config-file=" + os.path.join(here, "bus.conf"), "--nofork",
                            "--print-address=1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(bus)
    address = bus.stdout.readline().strip()
    start_sim(address, None, "sim.log")

    overlay = os.path.join(work, "overlay.yaml")
    with open(overlay, "w") as f:
        f.write(OVERLAY_V1)
    server_log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([os.path.join(build, "venus-modbusd"), "--bus", address, "--listen", "127.0.0.1:0",
                               "--log-level", "debug", "--overlay", overlay], stderr=server_log)
    procs.append(server)
    check(wait_for(lambda: "listening on 127.0.0.1:" in text("server.log")), "the server listens")
    port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", text("server.log")).group(1))
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    tid = [0]

    def read(unit, address):
        tid[0] += 1
        client.sendall(struct.pack(">HHHBBHH", tid[0], 0, 6, unit, 3, address, 1))
        reply = client.recv(64)[7:]
        return struct.unpack(">H", reply[2:4])[0] if len(reply) == 4 and reply[0] == 3 else -reply[1]

    start_sim(address, os.path.join(here, "scenarios", "tank-slow-paths.yaml"), "slow.log")
    # The server is reading the tank path by path: its GetValues are answered 1.5 s late.
    check(wait_for(lambda: "READ com.victronenergy.tank.slow GetValue delayed" in text("slow.log")),
          "the server reads the slow tank path by path")
    check("service online: com.victronenergy.tank.slow" not in text("server.log"), "the tank is still loading")
    with open(overlay, "w") as f:
        f.write(OVERLAY_V2)
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "1 added 60001" in text("server.log")), "the reload adds register 60001")
    check(wait_for(lambda: read(58, 60000) == 440), "the slow tank is served once loaded")
    check(wait_for(lambda: read(58, 60001) == 321, 10.0),
          "the path the reload added is read from the tank that was loading (60001 = 321)")

    def proxies():
        return [(int(m.group(1)), int(m.group(2))) for m in re.finditer(
            r"com\.victronenergy\.tank\.slow: reading (\d+) paths one by one \((\d+) path proxies\)",
            text("server.log"))]

    for n in range(3):
        before = len(proxies())
        server.send_signal(signal.SIGHUP)
        wait_for(lambda: len(proxies()) > before)
    counts = proxies()
    check(len(counts) >= 5, "every reload reads the slow tank path by path again (%d loads logged)" % len(counts))
    check(len({c[1] for c in counts[1:]}) == 1 and all(c[1] == c[0] for c in counts[1:]),
          "one proxy per path, however many reloads: %s" % counts)
    client.close()
    server.send_signal(signal.SIGTERM)
    check(server.wait(timeout=10) == 0, "SIGTERM stops the daemon with status 0")
finally:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=10)

if failures:
    print(text("server.log")[-4000:], file=sys.stderr)
    print("reload_mirror: %d failed" % len(failures))
    sys.exit(1)
print("reload_mirror: all checks passed")
