"""--max-clients never evicts a connection with a write in progress (README "Running it",
docs/protocol.md "Framing"): "when full, a new connection closes the one idle longest (never one with a
write in progress), logged"; "if every one has, the new one is closed".

The daemon runs with --max-clients 2 and --write-timeout 6000; the extra simulator's Multi (unit 41)
never answers a SetValue of /Hub4/L1/AcPowerSetpoint, so a write there stays in progress until the
timeout.

1. A writes (in progress), then B reads: A is idle longest, but busy. A newcomer C evicts B, not A.
2. C writes too (both remaining connections busy): a newcomer D is closed at once, A and C stay.
3. Both writes end with exception 11 on their own connections; the eviction and the refusal are logged
   (the refusal in the rate-limited count line, with its reason).

Usage: eviction_test.py BUILD_DIR
"""
import os
import re
import struct
import sys

from sitelib import SOURCE, Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
EXTRA = os.path.join(SOURCE, "tests", "integration", "scenarios", "extra-meter.yaml")
HANG = struct.pack(">BHH", 6, 37, 5)  # unit 41: /Hub4/L1/AcPowerSetpoint never answers
checks = Checks("eviction")
check = checks.check


def peer(c):
    host, port = c.sock.getsockname()[:2]
    return "%s:%d" % (host, port)


with Site(BUILD, prefix="vmd-evict.") as site:
    site.start_sim()
    site.start_sim(EXTRA, log="extra.log")
    _, port = site.start_server("--max-clients", "2", "--write-timeout", "6000", "--log-level", "debug")

    def hangs():
        return len([l for l in site.set_lines("extra.log") if "/Hub4/L1/AcPowerSetpoint" in l and "hang" in l])

    a = Connection(port, timeout=20)
    check(wait_for(lambda: a.read(41, 33) == [3]), "the extra simulator's Multi is served at unit 41")
    a.send(41, HANG)
    check(wait_for(lambda: hangs() == 1, 10), "A's write reached D-Bus and hangs there")
    b = Connection(port)
    check(b.read(100, 800) == [0x6330], "B reads, after A's last request")
    c = Connection(port, timeout=20)
    check(c.read(100, 800) == [0x6330], "a newcomer C to the full server is served")
    check(b.closed_by_server(), "B, idle but without a write in progress, was evicted for it")
    check(wait_for(lambda: re.search(re.escape(peer(b)) + r": closing: evicted for " + re.escape(peer(c)),
                                     site.text("server.log")), 5), "the eviction is logged, naming both")
    check("%s: closing" % peer(a) not in site.text("server.log"), "A, idle longest but writing, was not closed")

    c.send(41, HANG)
    check(wait_for(lambda: hangs() == 2, 10), "C's write hangs too")
    d = Connection(port)
    check(d.closed_by_server(), "a newcomer D, with every connection writing, is closed at once")
    _, reply_a = a.receive()
    _, reply_c = c.receive()
    check(reply_a == bytes([0x86, 11]) and reply_c == bytes([0x86, 11]),
          "A and C stayed and get exception 11 for their writes: %r %r" % (reply_a, reply_c))
    check(a.read(100, 800) == [0x6330] and c.read(100, 800) == [0x6330], "A and C are still served")
    refusal = r"connection refused: already 2 clients \(--max-clients\), each with a write in progress"
    check(wait_for(lambda: re.search(r"1 more connections refused or evicted in the last \d+ s \(last: " +
                                     re.escape(peer(d)) + ": " + refusal, site.text("server.log")), 25),
          "the refusal is logged with its reason in the rate-limited count")
    for conn in (a, b, c, d):
        conn.close()

checks.finish(lambda: site.text("server.log")[-3000:])
