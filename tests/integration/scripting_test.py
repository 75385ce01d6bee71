"""`venus-regmap find/read/write` against the daemon on the simulated site (run through with-site.sh).

The values come from the scenario (tools/venus-sim/scenarios/ess-site.yaml), what a write did is checked
on D-Bus (dbus-send to the simulator), and the raw words `read` got are checked against mbpoll, an
independent client, running the command line `find` printed.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

HOST, PORT, BUS = os.environ["VMD_HOST"], os.environ["VMD_PORT"], os.environ["VMD_BUS"]
TOOL = os.path.join(os.environ["VMD_BUILD"], "venus-regmap")
TARGET = "%s:%s" % (HOST, PORT)
failures = []


def regmap(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=60)


def check(condition, message):
    if not condition:
        failures.append(message)


def expect(args, status, stdout=None, stderr=None):
    """Runs venus-regmap ARGS; checks the exit status and that stdout equals / stderr contains the texts."""
    r = regmap(*args)
    ok = r.returncode == status and (stdout is None or r.stdout == stdout) and \
        (stderr is None or stderr in r.stderr)
    check(ok, "venus-regmap %s: exit %d (expected %d)\nstdout: %r (expected %r)\nstderr: %r (expected to contain %r)"
          % (" ".join(args), r.returncode, status, r.stdout, stdout, r.stderr, stderr))
    return r


def dbus_value(service, path):
    r = subprocess.run(["dbus-send", "--bus=" + BUS, "--print-reply", "--dest=" + service, path,
                        "com.victronenergy.BusItem.GetValue"], capture_output=True, text=True, timeout=10)
    m = re.search(r"variant\s+\w+\s+(.*)$", r.stdout.strip(), re.S)
    return m.group(1).strip().strip('"') if m else r.stdout + r.stderr


def wait_dbus(service, path, want):
    """Waits (a bounded poll, writes reach D-Bus asynchronously) until the path holds `want`."""
    got = None
    for _ in range(100):
        got = dbus_value(service, path)
        try:
            if float(got) == float(want):
                return True
        except ValueError:
            if got == want:
                return True
        time.sleep(0.05)
    failures.append("%s %s is %r on D-Bus, expected %r" % (service, path, got, want))
    return False


def read_until(args, want):
    r = None
    for _ in range(100):
        r = regmap("read", TARGET, *args)
        if r.returncode == 0 and r.stdout == want:
            return
        time.sleep(0.05)
    failures.append("read %s: %r (exit %d, %s), expected %r" % (" ".join(args), r.stdout, r.returncode, r.stderr, want))


# Reads: a signed 16-bit value with scale 10, a string, enum texts (unit 100 by default, 246 given).
expect(["read", TARGET, "system", "/Dc/Vebus/Current"], 0, "-19.5 A DC\n")
expect(["read", TARGET, "com.victronenergy.system", "/Serial"], 0, "c0619ab2f1e4\n")
expect(["read", TARGET, "system", "/Ac/ActiveIn/Source"], 0, "Grid\n")
expect(["read", TARGET, "vebus", "/Mode", "--unit", "246"], 0, "On\n")
r = expect(["read", TARGET, "system", "/Dc/Vebus/Current", "--json"], 0)
try:
    got = json.loads(r.stdout)
    check(got["ok"] and got["value"] == -19.5 and got["words"] == [(-195) & 0xFFFF] and got["unit_id"] == 100
          and got["type"] == "int16" and got["scale"] == 10 and got["text"] == "-19.5 A DC",
          "read --json: %s" % got)
except (ValueError, KeyError) as e:
    failures.append("read --json is not the documented JSON (%s): %r" % (e, r.stdout))

# find prints a mbpoll line; mbpoll (another client) reads the same word as `read` did.
r = expect(["find", "/Dc/Vebus/Current", "--json"], 0)
try:
    found = [f for f in json.loads(r.stdout) if f["service"] == "system" and f["path"] == "/Dc/Vebus/Current"]
    check(len(found) == 1 and found[0]["address"] == 865, "find /Dc/Vebus/Current: %s" % found)
    line = found[0]["mbpoll"].split()
    check(line[-1] == "HOST", "mbpoll line %s" % line)
    out = subprocess.run(["stdbuf", "-o0"] + line[:-1] + ["-p", PORT, "-o", "3", HOST], capture_output=True,
                         text=True, timeout=30).stdout
    m = re.search(r"^\[865\]:\s+(-?\d+)", out, re.M)
    check(m is not None and int(m.group(1)) & 0xFFFF == (-195) & 0xFFFF, "mbpoll from find's line: %r" % out)
except (ValueError, KeyError, IndexError) as e:
    failures.append("find --json (%s): %r" % (e, r.stdout))

# A 32-bit signed write with FC 16 to the twin of 2700; D-Bus gets the value, a read shows it.
expect(["write", TARGET, "settings", "/Settings/CGwacs/AcPowerSetPoint", "100000"], 2,
       stderr="not sent: 100000 does not fit int16 at scale 1 (-32768 to 32766)")
check(float(dbus_value("com.victronenergy.settings", "/Settings/CGwacs/AcPowerSetPoint")) == 50,
      "a refused write reached D-Bus")
expect(["write", TARGET, "settings", "/Settings/CGwacs/AcPowerSetPoint", "-100000", "--address", "40803"], 0,
       "wrote -100000 W to register 40803 of unit 100 (FC 16): the server accepted it\n")
wait_dbus("com.victronenergy.settings", "/Settings/CGwacs/AcPowerSetPoint", -100000)
read_until(["settings", "/Settings/CGwacs/AcPowerSetPoint", "--address", "40803"], "-100000 W\n")
# The 16-bit register of scale 0.01 (2703): 1234 W goes out as 12 and arrives as 1200 W.
expect(["write", TARGET, "settings", "/Settings/CGwacs/AcPowerSetPoint", "1234", "--address", "2703", "--json"], 0)
wait_dbus("com.victronenergy.settings", "/Settings/CGwacs/AcPowerSetPoint", 1200)
# FC 6 with a negative value on the default register.
expect(["write", TARGET, "settings", "/Settings/CGwacs/AcPowerSetPoint", "-300"], 0,
       "wrote -300 W to register 2700 of unit 100 (FC 6): the server accepted it\n")
wait_dbus("com.victronenergy.settings", "/Settings/CGwacs/AcPowerSetPoint", -300)

# Enum texts are accepted as values; a value outside the enum is refused before sending.
expect(["write", TARGET, "settings", "/Settings/CGwacs/Hub4Mode", "disabled/external control"], 0)
wait_dbus("com.victronenergy.settings", "/Settings/CGwacs/Hub4Mode", 3)
read_until(["settings", "/Settings/CGwacs/Hub4Mode"], "Disabled/External Control\n")
expect(["write", TARGET, "settings", "/Settings/CGwacs/Hub4Mode", "7"], 2, stderr="not sent: 7 is out of range (one of 1=")
expect(["write", TARGET, "settings", "/Settings/CGwacs/Hub4Mode", "Sometimes"], 2,
       stderr="not sent: 'Sometimes' is not a number nor one of 1=")
expect(["write", TARGET, "system", "/Dc/Battery/Soc", "50"], 2, stderr="not sent: register 843 is read-only")

# Strings: written with FC 16, read back; too long is refused.
expect(["write", TARGET, "vebus", "/CustomName", "Boat 1", "--unit", "246"], 0)
wait_dbus("com.victronenergy.vebus.ttyO1", "/CustomName", "Boat 1")
read_until(["vebus", "/CustomName", "--unit", "246"], "Boat 1\n")
expect(["write", TARGET, "vebus", "/CustomName", "x" * 80, "--unit", "246"], 2, stderr="is longer than the")

# Exceptions in words, exit status 1; in JSON too.
expect(["read", TARGET, "vebus", "/Mode", "--unit", "17"], 1,
       stderr="reading register 33 of unit 17: Modbus exception 10: Gateway path unavailable")
r = expect(["write", TARGET, "vebus", "/Mode", "Off", "--unit", "17", "--json"], 1)
check(r.stdout.startswith('{"ok": false, "exception": 10, '), "write --json with an exception: %r" % r.stdout)

# No server at the address: exit status 1 and why.
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    closed_port = s.getsockname()[1]
expect(["read", "127.0.0.1:%d" % closed_port, "system", "/Serial"], 1, stderr="cannot connect to 127.0.0.1:%d" % closed_port)

# find --json: a device service has no usual unit ID (null) and its mbpoll line asks for one.
r = expect(["find", "vebus /Mode", "--json"], 0)
try:
    mode = [f for f in json.loads(r.stdout) if f["path"] == "/Mode"][0]
    check(mode["unit_id"] is None and " -a UNIT " in mode["mbpoll"] and mode["address"] == 33,
          "find vebus /Mode: %s" % mode)
except (ValueError, KeyError, IndexError) as e:
    failures.append("find vebus /Mode --json (%s): %r" % (e, r.stdout))

# Bad arguments: a clear message and exit status 2, nothing sent.
expect(["read", TARGET, "vebus", "/Mode"], 2, stderr="vebus has no usual unit ID: give --unit N")
expect(["read", TARGET, "system", "/No/Such/Path"], 2, stderr="no register serves system /No/Such/Path")
expect(["read", TARGET, "nosuchservice", "/Mode"], 2, stderr="the map has no service 'nosuchservice'")
expect(["read", HOST + ":99999", "system", "/Serial"], 2, stderr="the port must be a number from 1 to 65535")
expect(["read", TARGET, "vebus", "/Mode", "--unit", "300"], 2, stderr="--unit must be a number from 0 to 255")
expect(["read", TARGET, "settings", "/Settings/CGwacs/AcPowerSetPoint", "--address", "2701"], 2,
       stderr="register 2701 does not serve settings /Settings/CGwacs/AcPowerSetPoint; its registers: 2700 (int16)")
expect(["read", TARGET, "system"], 2, stderr="read takes 3 argument(s)")
expect(["find", "no such thing anywhere"], 1, stderr="no register matches")

for f in failures:
    print("FAIL: " + f, file=sys.stderr)
if failures:
    sys.exit(1)
print("venus-regmap find/read/write: all checks passed")
