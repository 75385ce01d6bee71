"""docs/ess-mode3.md, as a user follows it, against the demo's site (run through with-site.sh with the
default scenario, tools/venus-sim/scenarios/ess-site.yaml, which ./scripts/demo serves).

1. The guide's register table and unit IDs say what the published list says: every register of a row
   has the row's type and one of its D-Bus paths in ../shared/reference/attributes.csv, and every
   "UNIT on a ... (INSTANCE)" of the text is a row of ../shared/reference/unitid2di.csv.
2. The four mbpoll commands of "By hand with mbpoll", run as printed (port and the watch's -1 aside),
   do what their comments say, checked on D-Bus (dbus-send to the simulator) and in the plant:
   external control, +1500 W on L1, -1500 W through the 32-bit twin, and the grid following it.
3. "The simulated site": in mode 3 DisableFeedIn (39) keeps the grid at or above 0 and DisableCharge
   (38) stops a charging battery (842); in mode 1 the hub4 override (2716) is the grid set point.
4. The guide's other claims: the word 64036 in 37 is -1500 W; every write is forwarded, identical
   ones included; 4 in 2902 is exception 3 and nothing is written; a read-only register is exception 2;
   the info-level write log line; writing 1 to 2902 gives the grid back to ESS (the grid set point).
"""
import csv
import os
import re
import struct
import subprocess
import sys
import time

from sitelib import SOURCE, Checks, Connection, published_list_missing, published_unit_rows, wait_for

HOST, PORT, BUS = os.environ["VMD_HOST"], os.environ["VMD_PORT"], os.environ["VMD_BUS"]
SIM_LOG, SERVER_LOG = os.environ["VMD_SIM_LOG"], os.environ["VMD_SERVER_LOG"]
GUIDE = os.path.join(SOURCE, "docs", "ess-mode3.md")
REFERENCE = os.path.join(SOURCE, "..", "shared", "reference")
VEBUS = "com.victronenergy.vebus.ttyO1"
L1 = "/Hub4/L1/AcPowerSetpoint"
checks = Checks("ESS guide")
check = checks.check


def text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def dbus_number(service, path):
    out = subprocess.run(["dbus-send", "--bus=" + BUS, "--print-reply", "--dest=" + service, path,
                          "com.victronenergy.BusItem.GetValue"], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"variant\s+\w+\s+(-?[0-9.e+]+)", out)
    return float(m.group(1)) if m else None


def sets(service, path, value=None):
    """The simulator's SET lines for (service, path), optionally only those of one value."""
    lines = [l for l in text(SIM_LOG).splitlines() if l.startswith("SET %s %s " % (service, path))]
    return [l for l in lines if value is None or l.split()[4] == value]


def mbpoll(args):
    """Runs mbpoll (unbuffered: it does not flush a redirected stdout in one-shot mode)."""
    r = subprocess.run(["stdbuf", "-o0"] + args, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def tail(output):
    """The end of a program's output, on one line, for a check's message."""
    return " ".join(output.split())[-100:]


def as_run(line):
    """A command line of the guide as the test runs it: our port, and -1 where the guide watches."""
    args = line.split("#")[0].split()
    args[args.index("-p") + 1] = PORT
    if "-1" not in args:
        args.insert(args.index("-0") + 1, "-1")
    return args


def polled(output, register):
    m = re.search(r"^\[%d\]:\s+(-?\d+)" % register, output, re.M)
    return int(m.group(1)) if m else None


def guide_table_and_units():
    guide = text(GUIDE)
    with open(os.path.join(REFERENCE, "attributes.csv"), newline="") as f:
        published = {int(r[4]): r for r in csv.reader(f) if len(r) >= 8 and r[4].isdigit()}
    table = guide.split("## Units and registers")[1].split("\n\n")[0]
    rows = [l for l in table.splitlines() if l.startswith("| ") and not l.startswith(("| what", "| ---"))]
    check(len(rows) == 8, "the guide's register table has its 8 rows: %d" % len(rows))
    paths, checked = [], 0
    for row in rows:
        what, unit, registers, kind, dbus = [c.strip() for c in row.strip().strip("|").split(" | ")]
        named = re.findall(r"`([^`]+)`", dbus)
        if named:
            paths = []
            for p in named:
                m = re.match(r"^(.*)L1\.\.L3(.*)$", p)
                paths += ["%sL%d%s" % (m.group(1), i, m.group(2)) for i in (1, 2, 3)] if m else [p]
        elif "same paths" not in dbus:
            check(False, "row '%s' names no D-Bus path" % what)
        numbers = [int(n) for n in re.findall(r"\d+", registers)]
        for address in numbers:
            r = published.get(address)
            if not check(r is not None, "register %d of row '%s' is in the published list" % (address, what)):
                continue
            service = r[0].split(".")[2]
            check(r[5] == kind.split(",")[0].strip(), "register %d is %s as the guide says: published %s"
                  % (address, kind, r[5]))
            check(r[1] in paths, "register %d serves %s %s, one of the row's paths %s" % (address, service, r[1], paths))
            if unit == "100":
                check(service in ("system", "settings", "hub4"), "register %d (%s) is reached at unit 100" % (address, service))
            elif unit.startswith("VE.Bus unit"):
                check(service == "vebus", "register %d of a VE.Bus row is a vebus register: %s" % (address, service))
            checked += 1
    check(checked == 14, "all 14 registers of the table were compared: %d" % checked)
    units = dict(published_unit_rows(REFERENCE))
    claims = re.findall(r"(\d+) on a [^,(]*\((?:instance )?(\d+)\)", guide)
    check(len(claims) == 4, "the guide names four VE.Bus units with their instances: %s" % claims)
    for unit, instance in claims:
        check(units.get(int(unit)) == int(instance), "unit %s reaches instance %s in the published unit table: %s"
              % (unit, instance, units.get(int(unit))))


def by_hand_with_mbpoll():
    block = text(GUIDE).split("## By hand with mbpoll")[1].split("```sh")[1].split("```")[0]
    commands = [l for l in block.splitlines() if l.startswith("mbpoll ")]
    check(len(commands) == 4, "the guide has four mbpoll commands: %d" % len(commands))
    if len(commands) != 4:
        return
    status, out = mbpoll(as_run(commands[0]))
    check(status == 0, "1. external control: mbpoll exits 0: %s" % tail(out))
    check(wait_for(lambda: dbus_number("com.victronenergy.settings", "/Settings/CGwacs/Hub4Mode") == 3, 5),
          "... and settings /Settings/CGwacs/Hub4Mode is 3 on D-Bus")
    status, out = mbpoll(as_run(commands[1]))
    check(status == 0 and wait_for(lambda: dbus_number(VEBUS, L1) == 1500, 5),
          "2. +1500 W on L1: vebus %s is 1500 on D-Bus (%s)" % (L1, tail(out)))
    check(any(l.startswith("SET %s %s d 1500 " % (VEBUS, L1)) for l in sets(VEBUS, L1)), "... sent as a double")
    grid = lambda: polled(mbpoll(as_run(commands[3]))[1], 820)  # noqa: E731
    check(wait_for(lambda: 1400 < (grid() or 0) <= 1600, 20), "4. the grid (820) follows to about +1500 W: %s" % grid())
    status, out = mbpoll(as_run(commands[2]))
    check(status == 0 and wait_for(lambda: dbus_number(VEBUS, L1) == -1500, 5),
          "3. -1500 W through the 32-bit twin 96: vebus %s is -1500 on D-Bus (%s)" % (L1, tail(out)))
    # mbpoll prints a 16-bit register unsigned: -1500 W shows as 64036, as the guide's comment says.
    check(wait_for(lambda: 65536 - 1600 <= (grid() or 0) < 65536 - 1400, 20),
          "4. the grid (820) follows to about -1500 W, which mbpoll prints as the word 64036: %s" % grid())
    check(re.search(r"signed[^\n]*prints -1500 W as 64036", block) is not None,
          "the guide's step 4 says that mbpoll prints -1500 W as 64036")


def signed(words):
    return words[0] - 65536 if isinstance(words, list) and words[0] >= 32768 else (words[0] if isinstance(words, list) else None)


def simulated_site():
    c = Connection(int(PORT))
    grid = lambda: signed(c.read(100, 820))  # noqa: E731
    battery = lambda: signed(c.read(100, 842))  # noqa: E731
    check(c.read(100, 2902) == [3] and c.write(246, 37, -1500) is None and wait_for(lambda: grid() < -1400, 20),
          "in mode 3 with -1500 W on L1 the grid exports: %s W" % grid())
    check(c.write(246, 39, 1) is None and wait_for(lambda: 0 <= grid() <= 30, 20),
          "DisableFeedIn 1 brings the exporting grid up to 0 W, not below: %s W" % grid())
    check(c.write(246, 39, 0) is None and c.write(246, 37, 3000) is None and wait_for(lambda: battery() > 500, 20),
          "without DisableCharge, importing 3000 W charges the battery: %s W" % battery())
    check(c.write(246, 38, 1) is None and wait_for(lambda: -30 <= battery() <= 5, 20),
          "DisableCharge 1 stops the charging: %s W" % battery())
    check(c.write(246, 38, 0) is None and c.write(246, 37, 0) is None, "both back to 0")
    c.close()


def mode1_override():
    c = Connection(int(PORT))
    grid = lambda: signed(c.read(100, 820))  # noqa: E731
    check(c.read(100, 2902) == [1], "mode 1 again")
    check(c.request(100, struct.pack(">BHHB2H", 16, 2716, 2, 4, 0xFFFF, (-300) & 0xFFFF))[:1] == b"\x10",
          "the hub4 override 2716 (int32) takes -300 W")
    check(wait_for(lambda: abs(grid() + 300) <= 50, 20), "in mode 1 the grid follows the override: %s W" % grid())
    c.close()


def other_claims():
    base = ["mbpoll", "-m", "tcp", "-p", PORT, "-0", "-1"]
    # "-1500 W in register 37 is the word 64036 (0xFA24)" ... "either write 64036 to 37".
    status, _ = mbpoll(base + ["-a", "246", "-r", "37", HOST, "64036"])
    check(status == 0 and wait_for(lambda: dbus_number(VEBUS, L1) == -1500, 5), "64036 written to 37 is -1500 W on D-Bus")
    status, out = mbpoll(base + ["-a", "246", "-r", "96", "-t", "4:int", "-B", "-c", "1", HOST])
    check(polled(out, 96) == -1500, "the 32-bit twin 96 reads -1500 (high word first): %r" % tail(out))
    # "forwards every write to D-Bus, identical ones included"
    before = len(sets(VEBUS, L1, "-1500"))
    mbpoll(base + ["-a", "246", "-r", "37", HOST, "64036"])
    check(wait_for(lambda: len(sets(VEBUS, L1, "-1500")) == before + 1, 5), "an identical write is sent to D-Bus again")
    # "Every write is logged at info level with client, unit, register, words, decoded value, service, path and result"
    line = (r"(?m)^info +\[modbus\] write from 127\.0\.0\.1:\d+ unit 246 register 37 words \[0xFA24\] -> "
            r"com\.victronenergy\.vebus\.ttyO1 /Hub4/L1/AcPowerSetpoint = -1500 \(d\): accepted$")
    check(wait_for(lambda: re.search(line, text(SERVER_LOG)), 5), "the write is logged at info level with all its parts")
    # "Exception 3: the value is ... not one of its documented values (e.g. 4 in 2902) and nothing was written"
    status, out = mbpoll(base + ["-a", "100", "-r", "2902", HOST, "4"])
    check(status != 0 and "illegal data value" in out.lower(), "4 in 2902 answers exception 3: %r" % tail(out))
    check(not sets("com.victronenergy.settings", "/Settings/CGwacs/Hub4Mode", "4"), "... and nothing is sent to D-Bus")
    check(dbus_number("com.victronenergy.settings", "/Settings/CGwacs/Hub4Mode") == 3, "... the mode stays 3")
    # "Exception 2: the register is read-only"
    status, out = mbpoll(base + ["-a", "100", "-r", "820", HOST, "5"])
    check(status != 0 and "illegal data address" in out.lower(), "a write to 820 (read-only) answers exception 2: %r"
          % tail(out))
    # "To leave external control, write 1 (or 2) to 2902: ESS regulates the grid again."
    status, _ = mbpoll(base + ["-a", "100", "-r", "2902", HOST, "1"])
    check(status == 0 and wait_for(lambda: dbus_number("com.victronenergy.settings", "/Settings/CGwacs/Hub4Mode") == 1, 5),
          "1 in 2902 leaves external control")
    target = dbus_number("com.victronenergy.settings", "/Settings/CGwacs/AcPowerSetPoint")
    grid = lambda: polled(mbpoll(base + ["-a", "100", "-r", "820", HOST])[1], 820)  # noqa: E731
    check(target is not None and wait_for(lambda: abs((grid() or -99999) - target) <= 50, 20),
          "the grid returns to the ESS grid set point %s W while L1 still says -1500: %s" % (target, grid()))


missing = published_list_missing(REFERENCE)
if missing is not None:
    sys.exit(missing)
checks.run_parts((guide_table_and_units, by_hand_with_mbpoll, simulated_site, other_claims, mode1_override))
checks.finish()
