"""`venus-regmap paths import`: merging a release of Victron's D-Bus path list into paths.yaml.

    path_import.py VENUS_REGMAP SOURCE_DIR current   the current list is already merged: a no-op
    path_import.py VENUS_REGMAP SOURCE_DIR release   a small list, then a release of it with paths added,
                                                     one removed and a description changed: the exact
                                                     summary and resulting files; coverage flags the new
                                                     paths as not mapped
    path_import.py VENUS_REGMAP SOURCE_DIR bad       malformed lists: FILE:LINE errors, nothing written

`current` reads ../shared/seeds/dbus-paths.txt beside the checkout: it exits 77 (skipped) when that is
absent, and fails instead when CI=true.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

failures = []


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def expect(what, got, want):
    if got != want:
        failures.append("%s:\n--- got ---\n%s\n--- expected ---\n%s" % (what, got, want))


def check_current(tool, source):
    seed = os.path.join(source, "..", "shared", "seeds", "dbus-paths.txt")
    if not os.path.exists(seed):
        message = "the path list %s is not there" % os.path.normpath(seed)
        if os.environ.get("CI") == "true":
            sys.exit("FAIL: " + message + " (CI=true: the test must run)")
        print("SKIP: " + message)
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="regmap-import-") as work:
        src = os.path.join(work, "src")
        shutil.copytree(os.path.join(source, "register-maps", "src"), src)
        result = run(tool, "paths", "import", seed, "--sources", src)
        lines = result.stdout.splitlines()
        if result.returncode != 0 or len(lines) != 2 or \
                not lines[0].endswith(" listed paths: 0 added (0 new in paths.yaml), 0 gone, 0 changed descriptions") \
                or lines[1] != "paths.yaml and path-list.yaml are up to date":
            failures.append("import of the current list is not a no-op (exit %d):\n%s%s"
                            % (result.returncode, result.stdout, result.stderr))
        for name in os.listdir(os.path.join(source, "register-maps", "src")):
            if read(os.path.join(src, name)) != read(os.path.join(source, "register-maps", "src", name)):
                failures.append("import of the current list changed %s" % name)


SOURCES = {
    "paths.yaml": "# Curated by hand: this comment and every field stay.\n"
                  "services:\n"
                  "  - service: battery\n"
                  "    title: Batteries\n"
                  "    units: its instance\n"
                  "    paths:\n"
                  "      - {path: /Soc, description: State of charge (our words), unit: \"%\"}\n"
                  "      - {path: /Dc/0/Voltage, description: Battery voltage, unit: V DC}\n"
                  "      - {path: /Dc/0/Temperature, description: Battery temperature, unit: \"°C\"}\n"
                  "      - {path: /Old, description: A path the list drops, exclude: not served}\n"
                  "\n"
                  "  # The system service.\n"
                  "  - service: system\n"
                  "    title: System\n"
                  "    units: \"100 (instance 0)\"\n"
                  "    paths:\n"
                  "      - {path: /Relay/0/State, description: Relay 1 state, enum: {0: Open, 1: Closed}}\n",
    "published.yaml": "registers:\n"
                      "  - {address: 266, service: battery, path: /Soc, type: uint16, scale: 10, dbus-type: d, access: R}\n"
                      "  - {address: 259, service: battery, path: /Dc/0/Voltage, type: uint16, scale: 100, dbus-type: d, access: R}\n"
                      "  - {address: 262, service: battery, path: /Dc/0/Temperature, type: int16, scale: 10, dbus-type: d, access: R}\n"
                      "  - {address: 806, service: system, path: /Relay/0/State, type: uint16, dbus-type: i, access: R}\n",
    "extensions.yaml": "blocks: []\nregisters: []\n",
    "unit-ids.yaml": "unit-ids:\n  - {unit: 100, instance: 0}\n",
}

LIST_V1 = """Index:
- battery
- system
Battery
com.victronenergy.battery
/Soc <- State of charge in %
/Dc/0/Voltage <- V DC
/Old <- going away
System
The system service.
com.victronenergy.system
/Relay/x/State <- relay x state
"""

LIST_V2 = """Index:
- battery
- system
- heatpump
Battery
com.victronenergy.battery
/Soc <- State of charge, 0 to 100%
/Dc/0/Voltage <- V DC
/Dc/0/Current <- Battery current (A)
/Dc/0/Temperature <- temperature in degrees Celsius
/Alarms/n/State <- alarm n
System
com.victronenergy.system
/Relay/x/State <- relay x state
/Dc/Pv/Power <- PV power in Watts
Heatpump
/Temperature -> Water temperature in degrees Celsius
"""

SUMMARY_V1 = """added to the list (4):
  battery /Soc: paths.yaml has it already
  battery /Dc/0/Voltage: paths.yaml has it already
  battery /Old: paths.yaml has it already
  system /Relay/x/State: paths.yaml has it already
4 listed paths: 4 added (0 new in paths.yaml), 0 gone, 0 changed descriptions
"""

SUMMARY_V2 = """added to the list (5):
  battery /Dc/0/Current: new in paths.yaml, not mapped until it has a register or an exclusion reason
  battery /Dc/0/Temperature: paths.yaml has it already
  battery /Alarms/n/State: new in paths.yaml, not mapped until it has a register or an exclusion reason
  system /Dc/Pv/Power: new in paths.yaml, not mapped until it has a register or an exclusion reason
  heatpump /Temperature: new in paths.yaml, not mapped until it has a register or an exclusion reason
gone from the list (1), kept in paths.yaml:
  battery /Old
changed descriptions (1), paths.yaml keeps its own:
  battery /Soc: "State of charge, 0 to 100%"
8 listed paths: 5 added (4 new in paths.yaml), 1 gone, 1 changed descriptions
"""

PATHS_V2 = """# Curated by hand: this comment and every field stay.
services:
  - service: battery
    title: Batteries
    units: its instance
    paths:
      - {path: /Soc, description: State of charge (our words), unit: "%"}
      - {path: /Dc/0/Voltage, description: Battery voltage, unit: V DC}
      - {path: /Dc/0/Temperature, description: Battery temperature, unit: "°C"}
      - {path: /Old, description: A path the list drops, exclude: not served}
      - {path: "/Dc/0/Current", description: "Battery current (A)", unit: "A"}
      - {path: "/Alarms/n/State", description: "alarm n"}

  # The system service.
  - service: system
    title: System
    units: "100 (instance 0)"
    paths:
      - {path: /Relay/0/State, description: Relay 1 state, enum: {0: Open, 1: Closed}}
      - {path: "/Dc/Pv/Power", description: "PV power in Watts", unit: "W"}
  - service: heatpump
    title: "heatpump (added by the path-list import)"
    units: "the device's /DeviceInstance"
    paths:
      - {path: "/Temperature", description: "Water temperature in degrees Celsius", unit: "°C"}
"""


def check_release(tool):
    with tempfile.TemporaryDirectory(prefix="regmap-import-") as work:
        src = os.path.join(work, "src")
        os.makedirs(src)
        for name, text in SOURCES.items():
            write(os.path.join(src, name), text)
        v1, v2 = os.path.join(work, "v1.txt"), os.path.join(work, "v2.txt")
        write(v1, LIST_V1)
        write(v2, LIST_V2)
        state = os.path.join(src, "path-list.yaml")
        paths = os.path.join(src, "paths.yaml")

        # The first import: every path is known, nothing is added to paths.yaml; the state is written.
        result = run(tool, "paths", "import", v1, "--sources", src)
        expect("summary of the first import (exit %d, %s)" % (result.returncode, result.stderr),
               "\n".join(result.stdout.splitlines()[:-1]) + "\n", SUMMARY_V1)
        expect("paths.yaml after the first import", read(paths), SOURCES["paths.yaml"])
        if not os.path.exists(state):
            failures.append("the first import wrote no path-list.yaml")
            return
        state_v1 = read(state)

        # A dry run of the release prints the summary and writes nothing.
        result = run(tool, "paths", "import", v2, "--dry-run", "--sources", src)
        expect("summary of the dry run (exit %d, %s)" % (result.returncode, result.stderr), result.stdout,
               SUMMARY_V2 + "dry run: nothing written\n")
        expect("paths.yaml after the dry run", read(paths), SOURCES["paths.yaml"])
        expect("path-list.yaml after the dry run", read(state), state_v1)

        # The release itself.
        result = run(tool, "paths", "import", v2, "--sources", src)
        if result.returncode != 0:
            failures.append("import of the release: exit %d\n%s" % (result.returncode, result.stderr))
        expect("summary of the release", "\n".join(result.stdout.splitlines()[:-1]) + "\n", SUMMARY_V2)
        expect("paths.yaml after the release", read(paths), PATHS_V2)
        listed = [line.split(", digest")[0] for line in read(state).splitlines() if line.startswith("  - ")]
        expect("path-list.yaml after the release", listed, [
            '  - {service: battery, path: "/Soc"', '  - {service: battery, path: "/Dc/0/Voltage"',
            '  - {service: battery, path: "/Dc/0/Current"', '  - {service: battery, path: "/Dc/0/Temperature"',
            '  - {service: battery, path: "/Alarms/n/State"', '  - {service: system, path: "/Relay/x/State"',
            '  - {service: system, path: "/Dc/Pv/Power"', '  - {service: heatpump, path: "/Temperature"'])

        # Importing the same release again changes nothing.
        result = run(tool, "paths", "import", v2, "--sources", src)
        expect("second import of the release", result.stdout,
               "8 listed paths: 0 added (0 new in paths.yaml), 0 gone, 0 changed descriptions\n"
               "paths.yaml and path-list.yaml are up to date\n")

        # The map still generates; coverage lists exactly the new paths as not mapped (and fails).
        mapfile = os.path.join(work, "victron.yaml")
        result = run(tool, "generate", "--sources", src, "--output", mapfile)
        if result.returncode != 0:
            failures.append("generate after the import: exit %d\n%s" % (result.returncode, result.stderr))
            return
        result = run(tool, "coverage", "--sources", src, "--map", mapfile, "--output", os.path.join(work, "cov.md"))
        flagged = sorted(line.split(": ", 1)[1] for line in result.stderr.splitlines() if line.startswith(paths))
        expect("coverage after the import (exit %d)" % result.returncode, (result.returncode, flagged), (2, [
            "path '/Alarms/n/State' of 'battery' is not mapped: it has no register and no reason; give it one or add 'exclude'",
            "path '/Dc/0/Current' of 'battery' is not mapped: it has no register and no reason; give it one or add 'exclude'",
            "path '/Dc/Pv/Power' of 'system' is not mapped: it has no register and no reason; give it one or add 'exclude'",
            "path '/Temperature' of 'heatpump' is not mapped: it has no register and no reason; give it one or add 'exclude'"]))


def check_bad(tool):
    cases = [
        ("an empty component", "com.victronenergy.battery\n/Soc <- fine\n/Dc//Voltage <- two slashes\n",
         ":3: malformed path '/Dc//Voltage': an empty component"),
        ("a backwards range", "com.victronenergy.platform\n/Notifications/[19-0]/Type <- x\n",
         ":2: malformed path '/Notifications/[19-0]/Type': '[19-0]' is not a range [A-B] of numbers with A <= B"),
        ("a character no path has", "com.victronenergy.battery\n\n/Dc/0/Volt$ge <- x\n",
         ":3: malformed path '/Dc/0/Volt$...': a path holds only letters, digits, '_' and the placeholders x, n, #, [A-B], *"),
        ("a path before any section", "Some prose\n/Soc <- orphan\n",
         ":2: path '/Soc' before the first service section (com.victronenergy.TYPE)"),
    ]
    with tempfile.TemporaryDirectory(prefix="regmap-import-") as work:
        src = os.path.join(work, "src")
        os.makedirs(src)
        for name, text in SOURCES.items():
            write(os.path.join(src, name), text)
        for what, text, want in cases:
            bad = os.path.join(work, "bad.txt")
            write(bad, text)
            result = run(tool, "paths", "import", bad, "--sources", src)
            if result.returncode != 2 or bad + want not in result.stderr.splitlines():
                failures.append("%s: exit %d, stderr:\n%s\nexpected the line\n%s%s"
                                % (what, result.returncode, result.stderr, bad, want))
            expect("paths.yaml after a bad list (%s)" % what, read(os.path.join(src, "paths.yaml")), SOURCES["paths.yaml"])
            if os.path.exists(os.path.join(src, "path-list.yaml")):
                failures.append("a bad list (%s) wrote path-list.yaml" % what)
        # Very long lines (std::regex would recurse once per character and overflow the stack) and
        # seeded random mutations of a list: an answer (0, or 2 with FILE:LINE), never a crash or a hang.
        longs = ["com.victronenergy.battery" + "a" * 300000 + "\n/Soc <- x\n",
                 "- " + "a" * 300000 + "\n",
                 "com.victronenergy.battery\n/Soc <" + "-" * 300000 + " x\n",
                 "com.victronenergy.battery\n/" + "A/" * 100000 + "B <- x\n",
                 "com.victronenergy.battery\n/Soc <- " + "(in seconds " * 50000 + "\n"]
        rng = random.Random(12)
        mutants = []
        for _ in range(150):
            text = bytearray((LIST_V2 * 3).encode("utf-8"))
            for _ in range(rng.randint(1, 12)):
                text[rng.randrange(len(text))] = rng.choice(b"/<->:[]()#*.x\n \xe2\x80\x94\x00" + bytes([rng.randrange(256)]))
            mutants.append(bytes(text))
        for i, data in enumerate([t.encode("utf-8") for t in longs] + mutants):
            case = os.path.join(work, "case.txt")
            with open(case, "wb") as f:
                f.write(data)
            result = subprocess.run([tool, "paths", "show", case], capture_output=True, timeout=60)
            if result.returncode not in (0, 2):
                failures.append("paths show on bad input %d (%s...): exit %d\n%s"
                                % (i, data[:60], result.returncode, result.stderr[-300:]))
        # Binary junk and a missing file: a clear error or nothing found, never a crash.
        junk = os.path.join(work, "junk.bin")
        with open(junk, "wb") as f:
            f.write(bytes(range(256)) * 64)
        for args in ((junk,), (os.path.join(work, "missing.txt"),)):
            result = run(tool, "paths", "import", *args, "--dry-run", "--sources", src)
            if result.returncode not in (0, 2) or "Traceback" in result.stderr:
                failures.append("paths import %s: exit %d\n%s" % (args[0], result.returncode, result.stderr))
        result = run(tool, "paths", "import", os.path.join(work, "missing.txt"), "--sources", src)
        if result.returncode != 2 or "cannot read" not in result.stderr:
            failures.append("a missing list: exit %d, %s" % (result.returncode, result.stderr))


def main():
    tool, source, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    {"current": lambda: check_current(tool, source), "release": lambda: check_release(tool),
     "bad": lambda: check_bad(tool)}[mode]()
    for f in failures:
        print(f, file=sys.stderr)
    if failures:
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
