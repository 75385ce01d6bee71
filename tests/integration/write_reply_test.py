"""When a write is answered (docs/ess-mode3.md "What a write answers", docs/semantics.md "the write reply",
docs/architecture.md "Server"): "The reply comes only after D-Bus accepted the value"; "while a write
waits for D-Bus, that connection's later requests queue behind it; other connections carry on".

A Multi (unit 65) answers SetValue of its L1 set point 2 s late (the simulator's set-delay). Connection A
sends that write and, pipelined behind it, a read; connection B reads meanwhile.
- B is answered at once, long before A's write;
- A's write is answered only after the 2 s (the simulator's SET line, written when it accepted, is
  there by then), and A's read comes after it, in request order.

Usage: write_reply_test.py BUILD_DIR
"""
import struct
import sys
import time

from sitelib import Checks, Connection, Site

BUILD = sys.argv[1]
checks = Checks("write reply")
check = checks.check

SCENARIO = """\
services:
  - name: com.victronenergy.vebus.slow_setter
    paths:
      /DeviceInstance: 65
      /Mode: {value: 3, type: u, writable: true}
      /Hub4/L1/AcPowerSetpoint: {value: 0.0, type: d, writable: true, set-delay: 2}
"""

with Site(BUILD, prefix="vmd-write-reply.") as site:
    scenario = site.path("slow.yaml")
    with open(scenario, "w") as f:
        f.write(SCENARIO)
    site.start_sim()
    site.start_sim(scenario, log="slow.log")
    _, port = site.start_server("--write-timeout", "6000")
    a, b = Connection(port, timeout=20), Connection(port)
    check(a.read(65, 33) == [3], "the slow Multi is served at unit 65")

    sent = time.monotonic()
    write_tid = a.send(65, struct.pack(">BHH", 6, 37, 1234))
    read_tid = a.send(100, struct.pack(">BHH", 3, 843, 1))
    check(isinstance(b.read(100, 843), list), "B reads while A's write waits")
    b_answered = time.monotonic() - sent
    tid, reply = a.receive()
    write_answered = time.monotonic() - sent
    accepted = [l for l in site.set_lines("slow.log") if "/Hub4/L1/AcPowerSetpoint d 1234 -> 0" in l]
    check(tid == write_tid and reply == struct.pack(">BHH", 6, 37, 1234), "A's first reply is its write's: %d %r" % (tid, reply))
    check(write_answered >= 1.9, "the write is answered only after D-Bus accepted it, 2 s late: %.2f s" % write_answered)
    check(bool(accepted), "the simulator had accepted the value when the reply came")
    check(b_answered < write_answered - 1.0, "B was answered long before (%.2f s against %.2f s)" % (b_answered, write_answered))
    tid, reply = a.receive()
    check(tid == read_tid and reply[:2] == b"\x03\x02", "A's pipelined read comes after its write, in order: %d %r" % (tid, reply))
    a.close()
    b.close()

checks.finish()
