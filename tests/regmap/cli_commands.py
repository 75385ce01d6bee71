"""venus-regmap's commands as its man page (docs/man/venus-regmap.1) describes them, where no other test
runs them to success:

- `generate --output -` writes the map to standard output: the committed register-maps/victron.yaml,
  byte for byte ("The output is deterministic"), twice the same;
- `validate` with no FILE checks the shipped map (exit 0); `validate MAP OVERLAY` loads them together
  as the server does: the shipped fail-safe overlay passes, an overlay overlapping a register of the map
  exits 2 with FILE:LINE: message naming the overlay's line; holes are notes, not problems;
- `paths show LIST` prints each listed path as SERVICE PATH [UNIT] DESCRIPTION;
- `find TEXT --json` is one JSON array whose objects carry the fields the man page lists, and
  `find` exits 1 when nothing matches.

    cli_commands.py VENUS_REGMAP SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from sitelib import Checks  # noqa: E402

tool, source = sys.argv[1], sys.argv[2]
shipped = os.path.join(source, "register-maps", "victron.yaml")
checks = Checks("venus-regmap commands")
check = checks.check


def run(*args):
    return subprocess.run([tool, *args], capture_output=True, timeout=120)


first, second = run("generate", "--sources", os.path.join(source, "register-maps", "src"), "--output", "-"), \
    run("generate", "--sources", os.path.join(source, "register-maps", "src"), "--output", "-")
with open(shipped, "rb") as f:
    committed = f.read()
check(first.returncode == 0 and first.stdout == committed, "generate --output - prints the committed map byte for byte")
check(second.stdout == first.stdout, "... and the same bytes again")

r = run("validate")
check(r.returncode == 0, "validate with no FILE passes the shipped map: %d %s" % (r.returncode, r.stderr[-300:]))
overlay = os.path.join(source, "register-maps", "examples", "ess-mode3-failsafe.yaml")
r = run("validate", shipped, overlay)
check(r.returncode == 0, "validate MAP OVERLAY passes the shipped map with the fail-safe overlay: %d %s"
      % (r.returncode, r.stderr[-300:]))
with tempfile.TemporaryDirectory(prefix="regmap-cli-") as work:
    bad = os.path.join(work, "overlaps.yaml")
    with open(bad, "w") as f:
        f.write("registers:\n  - {address: 60000, service: system, path: /Serial, type: uint16, access: R}\n"
                "  - {address: 843, service: system, path: /Dc/Battery/Soc, type: uint16, access: R}\n")
    r = run("validate", shipped, bad)
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 2 and (bad + ":3: ") in err and "843" in err,
          "an overlay overlapping register 843 of the map exits 2 with its FILE:LINE: %d %r" % (r.returncode, err[-300:]))
    listing = os.path.join(work, "list.txt")
    with open(listing, "w") as f:
        f.write("Index:\n- battery\nBattery\ncom.victronenergy.battery\n/Soc <- State of charge in %\n"
                "/Dc/0/Voltage <- V DC\n/Alarms/n/State <- alarm n\n")
    r = run("paths", "show", listing)
    check(r.returncode == 0 and r.stdout.decode().splitlines() ==
          ["battery /Soc [%] State of charge in %", "battery /Dc/0/Voltage [V DC] V DC", "battery /Alarms/n/State alarm n"],
          "paths show prints SERVICE PATH [UNIT] DESCRIPTION: %r" % r.stdout.decode())

r = run("find", "/Dc/Battery/Soc", "--json")
try:
    found = json.loads(r.stdout)
    soc = [f for f in found if f.get("service") == "system" and f.get("path") == "/Dc/Battery/Soc"]
    wanted = {"service", "path", "description", "address", "type", "scale", "unit", "access", "unit_id", "mbpoll"}
    check(isinstance(found, list) and len(soc) == 1 and wanted <= set(soc[0]) and soc[0]["address"] == 843 and
          soc[0]["unit_id"] == 100, "find --json: one array, system /Dc/Battery/Soc with %s: %s" % (sorted(wanted), soc))
except ValueError as e:
    check(False, "find --json prints JSON: %s %r" % (e, r.stdout[:200]))
r = run("find", "no register has this text anywhere")
check(r.returncode == 1, "find exits 1 when nothing matches: %d" % r.returncode)
checks.finish()
