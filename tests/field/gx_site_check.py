"""An ARM build of venus-modbusd (under qemu) against the amd64 build, both serving one simulated
site (tests/field/gx-bundle-test.sh starts them), read by pymodbus.

    gx_site_check.py ARM_PORT AMD64_PORT        (environment: VMD_BUS, the site's D-Bus address)

The simulator's values are frozen (the test's scenario ticks once an hour), so both servers must
answer every request identically, and with the values of the scenario scaled as the published
register list says (attributes.csv: 840 /Dc/Battery/Voltage x10, 259 /Dc/0/Voltage x100,
33 /Mode, 2700 /Settings/CGwacs/AcPowerSetPoint int16 W).
"""
import os
import subprocess
import sys
import time

from pymodbus.client import ModbusTcpClient

arm_port, ref_port = int(sys.argv[1]), int(sys.argv[2])
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def connect(port):
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=10)
    assert client.connect(), "cannot connect to port %d" % port
    return client


arm, ref = connect(arm_port), connect(ref_port)


def answer(client, address, count, unit):
    """What a server answered: ('ok', registers) or ('exception', code)."""
    r = client.read_holding_registers(address, count, slave=unit)
    if r.isError():
        return ("exception", getattr(r, "exception_code", None))
    return ("ok", list(r.registers))


def same(address, count, unit, what):
    a, b = answer(arm, address, count, unit), answer(ref, address, count, unit)
    check(a == b, "%s (unit %d, %d+%d): ARM %s, amd64 %s" % (what, unit, address, count, a, b))
    return a


# Unit 100 (com.victronenergy.system): the serial, the battery block, the ESS settings.
a = same(800, 6, 100, "system serial")
check(a[0] == "ok" and bytes(b for w in a[1] for b in w.to_bytes(2, "big")).rstrip(b"\0") == b"c0619ab2f1e4",
      "unit 100 register 800: the serial c0619ab2f1e4, got %s" % (a,))
a = same(840, 4, 100, "system battery")
check(a[0] == "ok" and a[1][0] == 524, "unit 100 register 840: 52.4 V x10 = 524, got %s" % (a,))
same(2700, 3, 100, "ESS set points")

# Unit 246 (the VE.Bus Multi): /Mode, then the whole block 3..41.
a = same(33, 1, 246, "vebus mode")
check(a == ("ok", [3]), "unit 246 register 33: /Mode 3, got %s" % (a,))
a = same(3, 39, 246, "vebus block")
check(a[0] == "ok" and len(a[1]) == 39, "unit 246 block 3..41 reads whole: %s" % (a,))

# The discovery block at unit 100: its count, then one entry per service; the battery (device
# instance 258) is found there, and read at the unit it names.
a = same(39000, 2, 100, "discovery header")
check(a[0] == "ok" and a[1][0] > 0 and a[1][1] == 1, "discovery: a count > 0 and layout 1, got %s" % (a,))
count = a[1][0] if a[0] == "ok" else 0
battery_unit = None
if count:
    a = same(39000, 2 + 4 * count, 100, "discovery block")
    entries = [a[1][2 + 4 * i:6 + 4 * i] for i in range(count)] if a[0] == "ok" else []
    for unit, _type, instance, flags in entries:
        if instance == 258 and flags & 1:
            battery_unit = unit
check(battery_unit is not None, "discovery: no reachable entry for the battery (instance 258)")
if battery_unit is not None:
    a = same(259, 8, battery_unit, "battery block")
    check(a[0] == "ok" and a[1][0] == 5241, "battery unit %d register 259: 52.41 V x100 = 5241, got %s" % (battery_unit, a))

# An absent unit: exception 10 (gateway path unavailable), from both.
a = same(3, 1, 17, "absent unit")
check(a == ("exception", 10), "unit 17: exception 10, got %s" % (a,))

# An ESS set point written to the ARM server arrives on D-Bus, and the amd64 server sees it too.
r = arm.write_register(2700, (-123) & 0xFFFF, slave=100)
check(not r.isError(), "ARM write 2700 = -123: %s" % r)
value = None
for _ in range(100):
    out = subprocess.run(["dbus-send", "--bus=" + os.environ["VMD_BUS"], "--print-reply=literal",
                          "--dest=com.victronenergy.settings", "/Settings/CGwacs/AcPowerSetPoint",
                          "com.victronenergy.BusItem.GetValue"], capture_output=True, text=True)
    value = out.stdout.split()[-1] if out.returncode == 0 and out.stdout.split() else out.stderr
    if value in ("-123", "-123.0"):
        break
    time.sleep(0.1)
check(value in ("-123", "-123.0"), "D-Bus /Settings/CGwacs/AcPowerSetPoint after the write: %r" % value)
for _ in range(100):
    if answer(ref, 2700, 1, 100) == ("ok", [(-123) & 0xFFFF]) and answer(arm, 2700, 1, 100) == ("ok", [(-123) & 0xFFFF]):
        break
    time.sleep(0.1)
same(2700, 1, 100, "ESS set point after the write")
check(answer(arm, 2700, 1, 100) == ("ok", [(-123) & 0xFFFF]), "ARM reads back 2700: %s" % (answer(arm, 2700, 1, 100),))

arm.close()
ref.close()
for f in failures:
    print("FAIL:", f, file=sys.stderr)
if failures:
    sys.exit(1)
print("gx_site_check: the ARM server answered like the amd64 one (battery at unit %d)" % battery_unit)
