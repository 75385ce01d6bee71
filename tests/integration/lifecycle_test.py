"""The daemon's life under a supervisor: config file, SIGHUP reload, sd_notify and the watchdog.

Starts its own private bus, simulator and server (with NOTIFY_SOCKET pointing at a datagram socket
of this test, and WATCHDOG_USEC set as systemd does), then reloads good and broken configurations.
Usage: lifecycle_test.py BUILD_DIR
"""
import os
import re
import signal
import socket
import struct
import sys
import threading
import time

from sitelib import SHIPPED_MAP, Checks, Site, waiting

build = sys.argv[1]
site = Site(build, prefix="vmd-lifecycle.")
work = site.work
checks = Checks("lifecycle")
check = checks.check
wait_for = waiting(10.0)


def log_text():
    return site.text("server.log")


# The notify socket, read by a thread that records every datagram with its time.
notify_path = os.path.join(work, "notify.sock")
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(notify_path)
messages = []


def receive():
    while True:
        try:
            data = notify.recv(4096)
        except OSError:
            return
        for line in data.decode().splitlines():
            messages.append((time.monotonic(), line))


threading.Thread(target=receive, daemon=True).start()


def notified(line, after=0.0):
    return [t for t, m in list(messages) if m == line and t >= after]


try:
    address = site.start_bus()
    site.start_sim(None, timeout=10.0)

    config = os.path.join(work, "venus-modbusd.yaml")
    overlay = os.path.join(work, "overlay.yaml")
    with open(overlay, "w") as f:
        f.write("registers:\n  - {address: 60000, service: system, path: /Dc/Battery/Soc, type: uint16, access: R}\n")
    with open(config, "w") as f:
        f.write("listen: [127.0.0.1:0]\nlog-level: debug\nbus: %s\n" % address)

    env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)
    server = site.spawn([os.path.join(build, "venus-modbusd"), "--config", config, "--map", SHIPPED_MAP], "server.log",
                        env=env)
    check(wait_for(lambda: notified("READY=1")), "READY=1 is sent")
    check("listening on 127.0.0.1:" in log_text(), "READY=1 comes once the server listens")
    port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", log_text()).group(1))
    # STATUS= comes with the periodic status, not with READY=1: wait for it.
    check(wait_for(lambda: any(m.startswith("STATUS=") for _, m in list(messages))), "STATUS= is sent")

    # systemd kills a service whose pings are WATCHDOG_USEC (1 s) apart; the daemon pings at half that.
    # Wait for six pings (the real event), then judge their mean interval: above a quarter second (not
    # a busy loop) and below the full second (systemd would not kill it), a margin for a loaded machine.
    start = time.monotonic()
    check(wait_for(lambda: len(notified("WATCHDOG=1", after=start)) >= 6, 30.0), "WATCHDOG=1 keeps coming")
    pings = notified("WATCHDOG=1", after=start)[:6]
    mean = (pings[-1] - pings[0]) / 5 if len(pings) == 6 else 0.0
    check(0.25 <= mean < 1.0, "WATCHDOG=1 about every 500 ms (half of WATCHDOG_USEC): mean %.3f s" % mean)

    client = socket.create_connection(("127.0.0.1", port), timeout=5)

    def read(address, tid):
        client.sendall(struct.pack(">HHHBBHH", tid, 0, 6, 100, 3, address, 1))
        return client.recv(64)[7:]

    check(read(60000, 1) == b"\x83\x02", "before the reload, register 60000 is not mapped")

    # A good reload: the overlay adds register 60000; the same connection sees it.
    with open(config, "a") as f:
        f.write("overlays: [%s]\n" % overlay)
    hup = time.monotonic()
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: notified("READY=1", after=hup)), "RELOADING=1 ... READY=1 around the reload")
    reloading = notified("RELOADING=1", after=hup)
    check(bool(reloading) and reloading[0] <= notified("READY=1", after=hup)[0], "RELOADING=1 comes first")
    reply = read(60000, 2)
    check(len(reply) == 4 and reply[:2] == b"\x03\x02", "after the reload, 60000 is served on the same connection")
    check("reload: map" in log_text() and "1 added 60000" in log_text(), "the reload logs what changed")

    # A broken config: the old one keeps serving, the error is logged with its line.
    with open(config, "a") as f:
        f.write("max-clients: lots\n")
    hup = time.monotonic()
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: notified("READY=1", after=hup)), "a failed reload still ends with READY=1")
    check(re.search(r"reload: .*venus-modbusd\.yaml:5: 'max-clients': 'lots' is not a number", log_text()) is not None,
          "a broken config is logged with its file and line")
    check(read(60000, 3)[:2] == b"\x03\x02", "the running map keeps serving after a broken config")

    # A broken overlay: the same.
    with open(config, "w") as f:
        f.write("listen: [127.0.0.1:0]\nlog-level: debug\nbus: %s\noverlays: [%s]\n" % (address, overlay))
    with open(overlay, "a") as f:
        f.write("  - {address: 60001, service: system, path: /X, type: float, access: R}\n")
    hup = time.monotonic()
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: notified("READY=1", after=hup)), "READY=1 after the broken overlay")
    check("overlay.yaml:3: unknown type 'float'" in log_text(), "a broken overlay is logged with its line")
    check(read(60000, 4)[:2] == b"\x03\x02", "the running map keeps serving after a broken overlay")
    client.close()

    stop = time.monotonic()
    server.send_signal(signal.SIGTERM)
    status = server.wait(timeout=10)
    check(status == 0, "SIGTERM stops the daemon with status 0")
    check(wait_for(lambda: notified("STOPPING=1", after=stop), 2.0), "STOPPING=1 is sent at SIGTERM")
finally:
    site.stop_all()
    notify.close()

checks.finish(lambda: log_text()[-3000:])
