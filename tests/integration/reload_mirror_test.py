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
import sys

from sitelib import SHIPPED_MAP, Checks, Site, waiting

build = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
site = Site(build, prefix="vmd-reload-mirror.")
work = site.work
checks = Checks("reload_mirror")
check = checks.check
wait_for = waiting(15.0)
text = site.text


OVERLAY_V1 = "registers:\n  - {address: 60000, service: tank, path: /Level, type: uint16, scale: 10, access: R}\n"
OVERLAY_V2 = OVERLAY_V1 + "  - {address: 60001, service: tank, path: /Sim/Extra, type: uint16, access: R}\n"

try:
    address = site.start_bus()
    site.start_sim(None, log="sim.log", timeout=15.0)

    overlay = os.path.join(work, "overlay.yaml")
    with open(overlay, "w") as f:
        f.write(OVERLAY_V1)
    server = site.spawn([os.path.join(build, "venus-modbusd"), "--config", "/dev/null", "--map", SHIPPED_MAP,
                         "--bus", address, "--listen", "127.0.0.1:0",
                         "--log-level", "debug", "--overlay", overlay], "server.log")
    check(wait_for(lambda: "listening on 127.0.0.1:" in text("server.log")), "the server listens")
    port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", text("server.log")).group(1))
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    tid = [0]

    def read(unit, address):
        tid[0] += 1
        client.sendall(struct.pack(">HHHBBHH", tid[0], 0, 6, unit, 3, address, 1))
        reply = client.recv(64)[7:]
        return struct.unpack(">H", reply[2:4])[0] if len(reply) == 4 and reply[0] == 3 else -reply[1]

    site.start_sim(os.path.join(here, "scenarios", "tank-slow-paths.yaml"), log="slow.log", timeout=15.0)
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
    site.stop_all()

checks.finish(lambda: text("server.log")[-4000:])
