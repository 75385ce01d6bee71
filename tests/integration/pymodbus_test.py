"""python3-pymodbus, an independent Modbus client, against the simulated site (via with-site.sh).

What a register means (address, type, scale, access) is taken from the published Victron register
list, not from our own map: the facts used here are written below and, where ../shared/reference is
beside the checkout, checked against attributes.csv first. Expected values come from the simulator's
scenario (tools/venus-sim/scenarios/ess-site.yaml) and what arrived on D-Bus from its log.
"""
import csv
import os
import subprocess
import sys
import time

from pymodbus.client import ModbusTcpClient

HOST, PORT = os.environ["VMD_HOST"], int(os.environ["VMD_PORT"])
SIM_LOG, BUS, BUILD = os.environ["VMD_SIM_LOG"], os.environ["VMD_BUS"], os.environ["VMD_BUILD"]
SOURCE = os.environ["VMD_SOURCE"]
REFERENCE = os.path.join(SOURCE, "..", "shared", "reference", "attributes.csv")

# (service, path, D-Bus type, address, Modbus type, scale, access) as the published list has them.
PUBLISHED = {
    "vebus-ac-in-v": ("com.victronenergy.vebus", "/Ac/ActiveIn/L1/V", "d", 3, "uint16", 10, "R"),
    "vebus-state": ("com.victronenergy.vebus", "/State", "u", 31, "uint16", 1, "R"),
    "vebus-mode": ("com.victronenergy.vebus", "/Mode", "u", 33, "uint16", 1, "W"),
    "vebus-setpoint16": ("com.victronenergy.vebus", "/Hub4/L1/AcPowerSetpoint", "d", 37, "int16", 1, "W"),
    "vebus-setpoint32": ("com.victronenergy.vebus", "/Hub4/L1/AcPowerSetpoint", "d", 96, "int32", 1, "W"),
    "vebus-name": ("com.victronenergy.vebus", "/CustomName", "s", 140, "string[8]", 1, "W"),
    "system-serial": ("com.victronenergy.system", "/Serial", "s", 800, "string[6]", 1, "R"),
    "ess-setpoint": ("com.victronenergy.settings", "/Settings/CGwacs/AcPowerSetPoint", "d", 2700, "int16", 1, "W"),
}
VEBUS_MODES = {1, 2, 3, 4}  # the published enum of /Mode: Charger Only, Inverter Only, On, Off

failures = []
checks = 0


def check(condition, message):
    global checks
    checks += 1
    if not condition:
        failures.append(message)


def check_facts_against_published_list():
    """The facts above are the published list's; say so by reading it, where it is beside us."""
    if not os.path.exists(REFERENCE):
        if os.environ.get("CI") == "true":
            sys.exit("FAIL: %s is missing; CI must check the test's facts against the published list" % REFERENCE)
        print("note: %s is absent (a user's clone): the facts of this test are not cross-checked" % REFERENCE)
        return
    with open(REFERENCE, newline="") as f:
        rows = {(r[0], r[1], int(r[4])): r for r in csv.reader(f) if len(r) >= 8 and r[4].isdigit()}
    for name, (service, path, dbus_type, address, kind, scale, access) in PUBLISHED.items():
        row = rows.get((service, path, address))
        check(row is not None and (row[2], row[5], float(row[6]), row[7]) == (dbus_type, kind, float(scale), access),
              "%s: the published list says %r" % (name, row))
    mode = rows[("com.victronenergy.vebus", "/Mode", 33)]
    check({int(item.split("=")[0]) for item in mode[3].split(";")} == VEBUS_MODES, "vebus /Mode enum: %r" % mode[3])


def exception_code(response):
    return getattr(response, "exception_code", None) if response.isError() else None


def words_of(text, count):
    data = text.encode("latin-1").ljust(2 * count, b"\0")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, 2 * count, 2)]


def text_of(words):
    return b"".join(w.to_bytes(2, "big") for w in words).rstrip(b"\0").decode("latin-1")


def set_lines():
    with open(SIM_LOG, encoding="utf-8", errors="replace") as f:
        return [line.strip() for line in f if line.startswith("SET ")]


def wait_for_set(expected, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if expected in set_lines():
            return True
        time.sleep(0.05)
    return False


def signed(word, bits=16):
    return word - (1 << bits) if word >= 1 << (bits - 1) else word


check_facts_against_published_list()
client = ModbusTcpClient(HOST, port=PORT, timeout=5)
assert client.connect(), "cannot connect"

# Reads, function 3 and 4 (the same register space): the Multi at unit 246 (instance 257).
r = client.read_holding_registers(33, 1, slave=246)
check(not r.isError() and r.registers == [3], "unit 246 /Mode (33) by function 3: %s" % r)
r = client.read_input_registers(3, 39, slave=246)
check(not r.isError() and len(r.registers) == 39 and r.registers[0] == 2304 and r.registers[31 - 3] == 252,
      "unit 246 block 3..41 by function 4: AC-in voltage 230.4 V x 10 and /State 252 expected: %s" % r)

# Strings: the system serial is the scenario's, high byte first, zero padded.
r = client.read_holding_registers(800, 6, slave=100)
check(not r.isError() and text_of(r.registers) == "c0619ab2f1e4", "system serial (800..805): %s" % r)

# A signed 16-bit write (-150 W, function 6): sent to D-Bus as a double, read back.
r = client.write_register(37, (-150) & 0xFFFF, slave=246)
check(not r.isError(), "write 37: %s" % r)
check(wait_for_set("SET com.victronenergy.vebus.ttyO1 /Hub4/L1/AcPowerSetpoint d -150 -> 0"),
      "-150 at 37 did not arrive on D-Bus as the double -150")
r = client.read_holding_registers(37, 1, slave=246)
check(not r.isError() and signed(r.registers[0]) == -150, "read back 37: %s" % r)

# A signed 32-bit write with function 16 (high word first): -70000 W at 96..97.
value = -70000 & 0xFFFFFFFF
r = client.write_registers(96, [value >> 16, value & 0xFFFF], slave=246)
check(not r.isError(), "write 96..97: %s" % r)
check(wait_for_set("SET com.victronenergy.vebus.ttyO1 /Hub4/L1/AcPowerSetpoint d -70000 -> 0"),
      "-70000 at 96..97 did not arrive on D-Bus")
r = client.read_holding_registers(96, 2, slave=246)
check(not r.isError() and signed((r.registers[0] << 16) | r.registers[1], 32) == -70000, "read back 96: %s" % r)

# A string written with function 16 arrives as text and reads back, padded with zeros.
r = client.write_registers(140, words_of("Garage", 8), slave=246)
check(not r.isError(), "write /CustomName (140..147): %s" % r)
check(wait_for_set("SET com.victronenergy.vebus.ttyO1 /CustomName s Garage -> 0"), "the name did not arrive on D-Bus")
r = client.read_holding_registers(140, 8, slave=246)
check(not r.isError() and r.registers == words_of("Garage", 8), "read back 140..147: %s" % r)

# Function 23: the write is carried out before the read, and the read sees it.
r = client.readwrite_registers(read_address=2700, read_count=1, write_address=2700,
                               write_registers=[(-420) & 0xFFFF], slave=100)
check(not r.isError() and [signed(w) for w in r.registers] == [-420], "function 23 on 2700: %s" % r)
check(wait_for_set("SET com.victronenergy.settings /Settings/CGwacs/AcPowerSetPoint d -420 -> 0"),
      "function 23's write did not arrive on D-Bus")

# Exceptions: read-only register (2), absent unit (10), read quantity 126 (3), a /Mode outside its
# published enum (3, and nothing is sent).
r = client.write_register(31, 1, slave=246)
check(exception_code(r) == 2, "write to read-only 31: %s" % r)
r = client.read_holding_registers(3, 1, slave=17)
check(exception_code(r) == 10, "absent unit 17: %s" % r)
r = client.read_holding_registers(3, 126, slave=246)
check(exception_code(r) == 3, "read quantity 126: %s" % r)
before = len(set_lines())
r = client.write_register(33, 9, slave=246)
check(exception_code(r) == 3, "/Mode 9 (not in the published enum): %s" % r)
check(not [line for line in set_lines()[before:] if "/Mode" in line], "a refused /Mode write reached D-Bus")

# A SetValue that is refused (10) and one that never answers (11), on a second simulator process.
extra = subprocess.Popen([os.path.join(BUILD, "venus-sim"), "--bus", BUS, "--scenario",
                          os.path.join(SOURCE, "tests", "integration", "scenarios", "extra-meter.yaml")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    ready = False
    for line in extra.stdout:
        if "services ready" in line:
            ready = True
            break
    check(ready, "the extra simulator did not start")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = client.read_holding_registers(33, 1, slave=41)
        if not r.isError():
            break
        time.sleep(0.05)
    check(not r.isError() and r.registers == [3], "unit 41 never served: %s" % r)
    r = client.write_register(33, 1, slave=41)
    check(exception_code(r) == 10, "refused SetValue: %s" % r)
    r = client.write_register(37, 5, slave=41)
    check(exception_code(r) == 11, "SetValue that never answers: %s" % r)
finally:
    extra.terminate()
    extra.wait(timeout=10)
client.close()

if failures:
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    sys.exit(1)
print("pymodbus: %d checks passed" % checks)
