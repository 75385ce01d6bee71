"""Reloads off the event loop (issue 24 item 2): a reload reads its files on a thread of its own.

The daemon starts with an overlay that arms register 37 of the Multi (unit 246) after 3 s. A client
writes 37; then the overlay is replaced by a FIFO that the test holds closed, and SIGHUP starts a reload
whose read of the overlay blocks until the test writes the FIFO. Meanwhile:
  - the daemon answers reads, on a connection opened before and on a new one;
  - the fail-safe fires on time (3 s after the write, read from the simulator's SET lines) while the
    reload is still blocked;
  - three more SIGHUPs are coalesced: logged once as "one more reload follows it".
Then the test writes the FIFO: the reload completes, exactly one more reload follows (logged with the
count of the SIGHUPs it answers), and it blocks on the FIFO too until the test writes it again. After
that no further reload runs. The daemon stops with status 0.

Usage: reload_thread_test.py BUILD_DIR
"""
import errno
import os
import re
import signal
import sys
import time

from sitelib import Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
VEBUS = "com.victronenergy.vebus.ttyO1"
L1 = "/Hub4/L1/AcPowerSetpoint"
OVERLAY = "amend:\n  - {address: 37, failsafe: {after: 3, value: 0}}\n"
checks = Checks("reload thread")
check = checks.check


def feed(fifo, timeout=20.0):
    """Writes the overlay into the FIFO once the daemon opened it for reading; False if it never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            time.sleep(0.05)
            continue
        os.set_blocking(fd, True)
        os.write(fd, OVERLAY.encode())
        os.close(fd)
        return True
    return False


with Site(BUILD, prefix="vmd-reload-thread.") as site:
    site.start_sim()
    overlay = site.path("failsafe.yaml")
    with open(overlay, "w") as f:
        f.write(OVERLAY)
    server, port = site.start_server("--overlay", overlay)
    log = lambda: site.text("server.log")  # noqa: E731

    def fired():
        return [l for l in site.set_lines() if l.startswith("SET %s %s d 0 " % (VEBUS, L1))]

    c = Connection(port, timeout=5.0)
    check(c.write(246, 37, 1000) is None, "the client writes 37 (its fail-safe: 0 W after 3 s)")
    written = time.monotonic()

    os.remove(overlay)
    os.mkfifo(overlay)
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "reloading on SIGHUP" in log(), 5), "SIGHUP starts a reload, which blocks on the FIFO")
    for _ in range(3):
        server.send_signal(signal.SIGHUP)
        time.sleep(0.1)
    check(wait_for(lambda: "reload: SIGHUP while a reload runs: one more reload follows it" in log(), 5),
          "a SIGHUP during the reload is logged as making one more reload")
    check(log().count("one more reload follows it") == 1, "... once for the three SIGHUPs")

    latencies = []
    answered = True
    for i in range(10):
        started = time.monotonic()
        try:
            fresh = Connection(port, timeout=5.0) if i % 2 else c
            words = fresh.read(100, 843)
            if fresh is not c:
                fresh.close()
        except OSError as e:  # a timeout: the loop is stuck
            words = repr(e)
        latencies.append(time.monotonic() - started)
        answered = answered and isinstance(words, list)
        if not answered:
            break
    check(answered, "reads are answered while the reload is blocked, on old and new connections "
          "(slowest %.0f ms)" % (max(latencies) * 1000))

    check(wait_for(fired, 15), "the fail-safe fires while the reload is blocked")
    at = time.monotonic() - written
    # Due 3 s after the write; the margin holds on a loaded machine under the sanitizers. Before the
    # reload thread, the loop sat in the FIFO's open() and the fail-safe fired only after it.
    check(2.9 <= at < 5.0, "... on time: %.2f s after the client's write (due at 3 s)" % at)
    check("reload: map" not in log(), "... and the reload is indeed still blocked")

    check(feed(overlay), "the test writes the FIFO: the blocked reload reads it")
    check(wait_for(lambda: log().count("reload: map") == 1, 10), "the first reload completes")
    check(wait_for(lambda: re.search(r"reload: reloading again for the 3 SIGHUP\(s\) that arrived during the last "
                                     r"reload", log()), 10), "exactly one more reload follows, logged with the count")
    check(feed(overlay), "the follow-up reload reads the FIFO too")
    check(wait_for(lambda: log().count("reload: map") == 2, 10), "the follow-up reload completes")
    time.sleep(1.0)
    check(log().count("reloading on SIGHUP") == 2 and log().count("reload: map") == 2,
          "four SIGHUPs made exactly two reloads (%d started)" % log().count("reloading on SIGHUP"))
    check(isinstance(c.read(100, 843), list), "the first connection is still served")
    c.close()
    check(site.stop(server) == 0, "the daemon stops with status 0")

checks.finish(lambda: site.text("server.log")[-3000:])
