"""FC 43/14 Read Device Identification and the version registers 39500-39504, through pymodbus (via
with-site.sh): pymodbus implements FC 43 itself (ReadDeviceInformationRequest), so this is an
independent client. The test starts two more servers on the site's bus, one with the shipped map and
one with a copy that differs by a comment, and checks that the map identity (FNV-1a, 32 bits, of the
map file, computed here on its own) is the file's and changes with it.
"""
import os
import re
import shutil
import subprocess
import sys
import time

from pymodbus.client import ModbusTcpClient
from pymodbus.mei_message import ReadDeviceInformationRequest

BUILD, WORK, SOURCE, BUS = (os.environ[k] for k in ("VMD_BUILD", "VMD_WORK", "VMD_SOURCE", "VMD_BUS"))
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def fnv1a32(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def start_server(map_file, name):
    """venus-modbusd with MAP_FILE on the site's bus; returns (process, port) once it listens."""
    log_path = os.path.join(WORK, name + ".log")
    log = open(log_path, "w")
    proc = subprocess.Popen([os.path.join(BUILD, "venus-modbusd"), "--config", "/dev/null", "--bus", BUS,
                             "--listen", "127.0.0.1:0",
                             "--map", map_file], stderr=log, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(log_path).read())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    sys.exit("the server with %s did not start:\n%s" % (map_file, open(log_path).read()))


def identify(client, code, object_id, unit=100):
    # pymodbus 3.0 names the unit `unit` on request objects (`slave` on the client helpers).
    return client.execute(ReadDeviceInformationRequest(read_code=code, object_id=object_id, unit=unit))


version = subprocess.run([os.path.join(BUILD, "venus-modbusd"), "--version"], capture_output=True,
                         text=True).stdout.split()[-1]
major, minor, patch = (int(x) for x in version.split("."))

shipped = os.path.join(SOURCE, "register-maps", "victron.yaml")
changed = os.path.join(WORK, "victron-changed.yaml")
shutil.copyfile(shipped, changed)
with open(changed, "a") as f:
    f.write("# a local change\n")
identities = {}
servers = []
try:
    for name, map_file in (("shipped", shipped), ("changed", changed)):
        proc, port = start_server(map_file, name)
        servers.append(proc)
        expected = fnv1a32(open(map_file, "rb").read())
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=5)
        assert client.connect(), "cannot connect to the %s server" % name

        # Version registers at unit 100: major, minor, patch, identity high word, low word.
        r = client.read_holding_registers(39500, 5, slave=100)
        check(not r.isError(), "%s: read 39500+5: %s" % (name, r))
        if not r.isError():
            check(r.registers[:3] == [major, minor, patch],
                  "%s: version registers %s, --version says %s" % (name, r.registers[:3], version))
            identity = (r.registers[3] << 16) | r.registers[4]
            check(identity == expected, "%s: map identity 0x%08X, FNV-1a of %s is 0x%08X"
                  % (name, identity, map_file, expected))
            identities[name] = identity

        # Stream access: basic (code 1), regular (2), extended (3) from object 0.
        r = identify(client, 1, 0)
        check(not r.isError() and sorted(r.information) == [0, 1, 2], "%s: basic objects %r" % (name, r))
        if not r.isError():
            check(r.information[2] == version.encode(), "%s: MajorMinorRevision %r" % (name, r.information[2]))
            check(r.conformity == 0x83 and r.more_follows == 0, "%s: conformity/more follows %r" % (name, r))
        r = identify(client, 2, 0)
        check(not r.isError() and sorted(r.information) == [0, 1, 2, 3, 4, 5], "%s: regular objects %r" % (name, r))
        r = identify(client, 3, 0)
        check(not r.isError() and sorted(r.information) == [0, 1, 2, 3, 4, 5, 0x80],
              "%s: extended objects %r" % (name, r))
        if not r.isError():
            check(r.information.get(0x80) == ("register map 0x%08X" % expected).encode(),
                  "%s: private object 0x80 %r" % (name, r.information.get(0x80)))
        # Individual access (4), at another unit that reaches a service (the Multi at 246).
        r = identify(client, 4, 0x04, unit=246)
        check(not r.isError() and list(r.information) == [4], "%s: individual object 4 %r" % (name, r))
        r = identify(client, 4, 0x06)
        check(r.isError() and getattr(r, "exception_code", None) == 2, "%s: unknown object 6: %r" % (name, r))
        r = identify(client, 5, 0)
        check(r.isError() and getattr(r, "exception_code", None) == 3, "%s: read device id code 5: %r" % (name, r))
        r = identify(client, 1, 0, unit=17)
        check(r.isError() and getattr(r, "exception_code", None) == 10, "%s: unit 17 (no service): %r" % (name, r))
        client.close()
finally:
    for proc in servers:
        proc.terminate()
        proc.wait(timeout=10)

check(len(identities) == 2 and identities["shipped"] != identities["changed"],
      "the map identity did not change with the map: %s" % {k: "0x%08X" % v for k, v in identities.items()})
if failures:
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    sys.exit(1)
print("identification: version %s, map identity 0x%08X -> 0x%08X after a change; FC 43 stream and "
      "individual access answered" % (version, identities["shipped"], identities["changed"]))
