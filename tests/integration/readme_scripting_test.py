"""README.md's "Scripting" section, run as printed, on the simulated site.

1. Every `$ venus-regmap ...` line of the README's transcript runs against the daemon on the demo's
   site (the default scenario, the server as scripts/demo starts it but on a free port instead of
   5020) and prints exactly the lines the README shows under it (standard output, or standard error
   for a refusal). No write of the transcript sends a value other than the set point's 50 W default.
2. The README's two mbpoll lines for the demo read, on the default site, what the published list
   (../shared/reference/attributes.csv) says their comments promise: 840-843 are the system's battery
   voltage, current, power and SoC, each the D-Bus value times the published scale; unit 246 is the
   VE.Bus Multi (instance 257, ../shared/reference/unitid2di.csv) and 3+20 reads at it.
3. `read` prints `not available` for a missing value only from a server started with
   `--not-available max`; from a default server the same path reads 0, as on a GX device.

Usage: readme_scripting_test.py BUILD_DIR
"""
import csv
import json
import os
import re
import subprocess
import sys

from sitelib import DEFAULT_SCENARIO, SOURCE, Checks, Site, published_list_missing, published_unit_rows, wait_for

BUILD = sys.argv[1]
TOOL = os.path.join(BUILD, "venus-regmap")
checks = Checks("README scripting")
check = checks.check


def regmap(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=60)


def transcript():
    """(arguments, expected output lines) of each `$ venus-regmap` line of the README's Scripting block."""
    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        block = f.read().split("## Scripting")[1].split("```")[1]
    steps = []
    for line in block.splitlines()[1:]:
        if line.startswith("$ venus-regmap "):
            steps.append((line[len("$ venus-regmap "):], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def split_args(command):
    """The README's command as arguments: words, and "quoted text" as one."""
    return [a[1:-1] if a.startswith('"') else a for a in re.findall(r'"[^"]*"|\S+', command)]


with Site(BUILD, prefix="vmd-readme.") as site:
    site.start_sim(DEFAULT_SCENARIO)
    _, port = site.start_server()
    _, max_port = site.start_server("--not-available", "max", log="max.log")

    steps = transcript()
    check(len(steps) == 7, "the README's transcript has its seven commands: %d" % len(steps))
    for command, expected in steps:
        check("gx.local" not in command and (not command.startswith("write ") or "100000" in command or
                                             re.search(r"/AcPowerSetPoint 50( |$)", command)),
              "the transcript's %s talks to the demo and writes nothing but the 50 W default" % command)
        args = [a.replace("127.0.0.1:5020", "127.0.0.1:%d" % port) for a in split_args(command)]
        r = regmap(*args)
        printed = (r.stdout if r.returncode == 0 else r.stderr).splitlines()
        check(printed == expected, "venus-regmap %s prints %r: %r (exit %d)" % (command, expected, printed, r.returncode))
        check(r.returncode == (2 if "not sent" in "".join(expected) else 0),
              "venus-regmap %s exits %d as the README says" % (command, r.returncode))

    # The man page's --json of write: the fields of a write done, {"ok": false, "refused"} of one refused.
    r = regmap("write", "127.0.0.1:%d" % port, "settings", "/Settings/CGwacs/AcPowerSetPoint", "-250", "--json")
    try:
        done = json.loads(r.stdout)
        fields = {"ok", "service", "path", "unit_id", "address", "type", "scale", "unit", "function", "words", "text"}
        check(r.returncode == 0 and fields <= set(done) and done["ok"] is True and done["address"] == 2700 and
              done["function"] == 6 and done["words"] == [(-250) & 0xFFFF],
              "write --json of a write done has the man page's fields: %s" % done)
    except ValueError:
        check(False, "write --json prints JSON: %r" % r.stdout)
    r = regmap("write", "127.0.0.1:%d" % port, "settings", "/Settings/CGwacs/AcPowerSetPoint", "100000", "--json")
    try:
        refused = json.loads(r.stdout)
        check(r.returncode == 2 and refused.get("ok") is False and "does not fit int16" in refused.get("refused", ""),
              "write --json of a refused value: {\"ok\": false, \"refused\": ...}, exit 2: %s" % refused)
    except ValueError:
        check(False, "write --json of a refused value prints JSON: %r" % r.stdout)

    # /Dc/Battery/TimeToGo (846) is null in the scenario.
    r = regmap("read", "127.0.0.1:%d" % max_port, "system", "/Dc/Battery/TimeToGo")
    check(r.returncode == 0 and r.stdout == "not available\n",
          "read of a missing value from a --not-available max server prints 'not available': %r %r" % (r.stdout, r.stderr))
    r = regmap("read", "127.0.0.1:%d" % port, "system", "/Dc/Battery/TimeToGo", "--json")
    check(r.returncode == 0 and '"words": [0]' in r.stdout and "not available" not in r.stdout,
          "from a default server the same read is the word 0, not 'not available': %r" % r.stdout)


def dbus_number(bus, service, path):
    out = subprocess.run(["dbus-send", "--bus=" + bus, "--print-reply", "--dest=" + service, path,
                          "com.victronenergy.BusItem.GetValue"], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"variant\s+\w+\s+(-?[0-9.e+]+)", out)
    return float(m.group(1)) if m else None


def mbpoll(line, port):
    args = line.split("#")[0].split()
    args[args.index("-p") + 1] = str(port)
    out = subprocess.run(["stdbuf", "-o0"] + args, capture_output=True, text=True, timeout=30).stdout
    return {int(a): int(v) for a, v in re.findall(r"^\[(\d+)\]:\s+(-?\d+)", out, re.M)}


reference = os.path.join(SOURCE, "..", "shared", "reference")
missing = published_list_missing(reference)
if missing is not None:
    checks.finish()  # the checks above do not need the list: their failures are failures all the same
    sys.exit(missing)
with open(os.path.join(reference, "attributes.csv"), newline="") as f:
    published = {int(r[4]): r for r in csv.reader(f) if len(r) >= 8 and r[4].isdigit()}
units = dict(published_unit_rows(reference))
with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
    demo = [l.strip() for l in f.read().split("With the demo running")[1].split("---")[0].splitlines()
            if l.strip().startswith("mbpoll ")]
check(len(demo) == 2, "the README has two mbpoll lines for the demo: %d" % len(demo))
check([published[a][1] for a in (840, 841, 842, 843)] ==
      ["/Dc/Battery/Voltage", "/Dc/Battery/Current", "/Dc/Battery/Power", "/Dc/Battery/Soc"] and
      all(published[a][0] == "com.victronenergy.system" for a in (840, 841, 842, 843)) and
      "battery voltage, current, power, SoC" in demo[0],
      "the published list's 840-843 are the system's battery voltage, current, power and SoC, as the comment says")
check(units.get(246) == 257 and "VE.Bus Multi at unit 246" in demo[1], "unit 246 is instance 257, a VE.Bus port")
with Site(BUILD, prefix="vmd-readme-demo.") as site:
    site.start_sim()
    _, port = site.start_server()

    def matches():
        """The four words read by the README's line, each the D-Bus value read around it times the scale."""
        before = [dbus_number(site.bus, "com.victronenergy.system", published[a][1]) for a in (840, 841, 842, 843)]
        words = mbpoll(demo[0], port)
        after = [dbus_number(site.bus, "com.victronenergy.system", published[a][1]) for a in (840, 841, 842, 843)]
        if sorted(words) != [840, 841, 842, 843]:
            return False
        for i, a in enumerate((840, 841, 842, 843)):
            scale, signed = float(published[a][6]), published[a][5] == "int16"
            word = words[a] - 65536 if signed and words[a] >= 32768 else words[a]
            if word not in {round(v * scale) for v in (before[i], after[i]) if v is not None}:
                return False
        return True

    check(wait_for(matches, 10), "the first line reads 840-843 as the D-Bus battery values times the published scales")
    multi = mbpoll(demo[1], port)
    check(sorted(multi) == list(range(3, 23)), "the second line reads 20 registers from 3 at unit 246: %s" % sorted(multi))
    check(multi.get(3) == round(dbus_number(site.bus, "com.victronenergy.vebus.ttyO1", "/Ac/ActiveIn/L1/V") *
                               float(published[3][6])), "its register 3 is the Multi's %s" % published[3][1])

checks.finish()
