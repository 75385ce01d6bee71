"""docs/protocol.md's order of checks and identification objects, through a raw socket (run through
with-site.sh on the default site: the Multi at unit 246, nothing at unit 17).

1. "Checks run in this order: function code, lengths and quantities (3), addresses (2), write
   permission (2), the unit's services (10), values (3)": a request with two faults gets the exception
   of the earlier check, for each neighbouring pair, and none of them reaches D-Bus.
2. "A client that floods unknown unit IDs or bad addresses: exceptions are answered from memory with no
   D-Bus traffic": while 300 such requests are answered, dbus-monitor sees no method call from the
   daemon's connection.
3. Read Device Identification: the objects 0x00-0x05 read back (code 2, regular) as the table of
   docs/protocol.md says, parsed from it; 0x02 is what `venus-modbusd --version` prints.
"""
import os
import re
import struct
import subprocess

from sitelib import SOURCE, Checks, Connection, wait_for

PORT = int(os.environ["VMD_PORT"])
checks = Checks("protocol")
check = checks.check


def sets():
    with open(os.environ["VMD_SIM_LOG"], encoding="utf-8", errors="replace") as f:
        return [l for l in f if l.startswith("SET ")]


def exception(c, unit, pdu):
    reply = c.request(unit, pdu)
    return reply[1] if reply[0] & 0x80 else None


c = Connection(PORT)
check(c.read(246, 33) == [3] and c.read(17, 33) == 10, "the Multi is at unit 246 and nothing at unit 17")
before = len(sets())
cases = [
    ("an unknown function with a short PDU: the function first", 246, bytes([99]), 1),
    ("read quantity 126 at an unmapped address: the quantity before the address", 246, struct.pack(">BHH", 3, 1000, 126), 3),
    ("FC 16 of 124 registers at an unmapped address: the quantity before the address", 246,
     struct.pack(">BHHB", 16, 1000, 124, 248) + bytes(248), 3),
    ("read of an unmapped address at an empty unit: the address before the unit", 17, struct.pack(">BHH", 3, 1000, 1), 2),
    ("write to a read-only register (31) at an empty unit: the permission before the unit", 17,
     struct.pack(">BHH", 6, 31, 1), 2),
    ("write of a value outside /Mode's enum (0 in 33) at an empty unit: the unit before the value", 17,
     struct.pack(">BHH", 6, 33, 0), 10),
    ("write of a value outside the enum at the Multi: the value", 246, struct.pack(">BHH", 6, 33, 0), 3),
    ("FC 16 of a value outside 33's enum, then read-only 34: the permission before the value", 246,
     struct.pack(">BHHB2H", 16, 33, 2, 4, 0, 0), 2),
]
for name, unit, pdu, expected in cases:
    got = exception(c, unit, pdu)
    check(got == expected, "%s: exception %s, expected %d" % (name, got, expected))
check(len(sets()) == before, "none of them sent anything to D-Bus")

# A flood of unknown units and bad addresses: no method call leaves the daemon's bus connection.
bus = os.environ["VMD_BUS"]
owner = subprocess.run(["dbus-send", "--bus=" + bus, "--print-reply", "--dest=org.freedesktop.DBus", "/",
                        "org.freedesktop.DBus.GetNameOwner", "string:com.victronenergy.modbustcp"],
                       capture_output=True, text=True, timeout=10).stdout
unique = re.search(r'string "(:[0-9.]+)"', owner)
check(unique is not None, "the daemon's unique bus name is known: %s" % (unique and unique.group(1)))
monitor_log = os.path.join(os.environ["VMD_WORK"], "monitor.log")
with open(monitor_log, "w") as out:
    monitor = subprocess.Popen(["dbus-monitor", "--address", bus, "type='method_call',sender='%s'" % unique.group(1)],
                               stdout=out, stderr=subprocess.STDOUT)
try:
    check(wait_for(lambda: "member=NameLost" in open(monitor_log).read(), 10), "dbus-monitor is monitoring the bus")
    # Units 1-29 reach nothing on this site; 1000 is not mapped (as in options_test.py).
    answers = [exception(c, 1 + i % 29, struct.pack(">BHH", 3, 800, 1)) for i in range(150)] + \
              [exception(c, 246, struct.pack(">BHH", 3, 1000, 1)) for _ in range(150)]
    check(answers == [10] * 150 + [2] * 150, "150 unknown units answer exception 10, 150 unmapped addresses exception 2")
    check(c.read(246, 33) == [3], "a read after the flood is answered, so the flood was handled in full")
    calls = open(monitor_log).read().count("method call")
    check(calls == 0, "no method call left the daemon meanwhile: %d" % calls)
    # The monitor does see the daemon's calls: a write is one SetValue.
    check(c.write(100, 2700, 60) is None, "then a write is accepted")
    check(wait_for(lambda: "member=SetValue" in open(monitor_log).read(), 10), "... and the monitor sees its SetValue")
finally:
    monitor.terminate()
    monitor.wait(timeout=10)

# Identification objects, against docs/protocol.md's table.
with open(os.path.join(SOURCE, "docs", "protocol.md"), encoding="utf-8") as f:
    # The value is the row's last `text` (0x02 says "as `venus-modbusd --version` prints it (`0.1.0`)").
    table = dict((int(i, 16), re.findall(r"`([^`]+)`", v)[-1])
                 for i, v in re.findall(r"^\| (0x0[0-5]) \| \w+ \| (.*) \|$", f.read(), re.M))
check(sorted(table) == [0, 1, 2, 3, 4, 5], "docs/protocol.md names objects 0x00-0x05: %s" % sorted(table))
version = subprocess.run([os.path.join(os.environ["VMD_BUILD"], "venus-modbusd"), "--version"], capture_output=True,
                         text=True).stdout.split()[-1]
check(table.get(2) == version, "the doc's MajorMinorRevision %r is what --version prints: %r" % (table.get(2), version))
reply = c.request(100, bytes([43, 14, 2, 0]))
objects = {}
if check(reply[:3] == bytes([43, 14, 2]), "43/14 code 2 is answered: %r" % reply[:8]):
    count, at = reply[6], 7
    for _ in range(count):
        objects[reply[at]] = reply[at + 2:at + 2 + reply[at + 1]].decode("latin-1")
        at += 2 + reply[at + 1]
check(objects == table, "the regular objects read what the doc's table says: %s" % objects)
c.close()
checks.finish()
