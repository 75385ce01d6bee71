"""python3-pymodbus, an independent Modbus client, against the simulated site (via with-site.sh)."""
import os
import sys
import time

from pymodbus.client import ModbusTcpClient

HOST, PORT = os.environ["VMD_HOST"], int(os.environ["VMD_PORT"])
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


client = ModbusTcpClient(HOST, port=PORT, timeout=3)
assert client.connect(), "cannot connect"

# The Multi at unit 246: /Mode (33) is 3; a block 3..41 reads whole.
r = client.read_holding_registers(33, 1, slave=246)
check(not r.isError() and r.registers == [3], "unit 246 register 33: %s" % r)
r = client.read_input_registers(3, 39, slave=246)
check(not r.isError() and len(r.registers) == 39, "unit 246 block 3..41 via function 4: %s" % r)

# Unit 100: the system serial is text, high byte first.
r = client.read_holding_registers(800, 6, slave=100)
check(not r.isError(), "unit 100 register 800: %s" % r)
if not r.isError():
    text = b"".join(w.to_bytes(2, "big") for w in r.registers).rstrip(b"\0").decode("latin-1")
    check(len(text) > 0 and text.isprintable(), "serial text %r" % text)

# A signed write (-150 W) to the 16-bit set point of the Multi, read back.
r = client.write_register(37, (-150) & 0xFFFF, slave=246)
check(not r.isError(), "write 37: %s" % r)
for _ in range(50):
    r = client.read_holding_registers(37, 1, slave=246)
    if not r.isError() and r.registers == [(-150) & 0xFFFF]:
        break
    time.sleep(0.1)
check(not r.isError() and r.registers == [(-150) & 0xFFFF], "read back 37: %s" % r)

# Exceptions: read-only register (2), absent unit (10), quantity 126 (3).
r = client.write_register(31, 1, slave=246)
check(r.isError() and getattr(r, "exception_code", None) == 2, "write read-only 31: %s" % r)
r = client.read_holding_registers(3, 1, slave=17)
check(r.isError() and getattr(r, "exception_code", None) == 10, "absent unit 17: %s" % r)
client.close()

if failures:
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    sys.exit(1)
print("pymodbus: all checks passed")
