"""Every writable register with a `range` refuses a value just outside it (docs/semantics.md: "written
value outside `range` ... exception 3, nothing written"; docs/architecture.md: "`range: [min, max]` (in
D-Bus units; writes outside it get exception 3)"), on the running daemon, run through with-site.sh on
the default ESS site.

For each writable number register of the shipped map that has a range and whose service is on the site,
one register step above the maximum and one below the minimum (where the register's type can carry
them) are written with FC 16: each answers exception 3, and the simulator receives no SetValue at all.
The units come from the scenario's services (their /DeviceInstance, through the published unit table
../shared/reference/unitid2di.csv for instances above 247; 100 for the GX's own services).
"""
import os
import struct
import sys

import yaml

from sitelib import DEFAULT_SCENARIO, SHIPPED_MAP, SOURCE, Checks, Connection, published_list_missing, published_unit_rows

PORT = int(os.environ["VMD_PORT"])
REFERENCE = os.path.join(SOURCE, "..", "shared", "reference")
INSTANCELESS = {"system", "settings", "hub4", "platform", "pump", "generator"}
LIMITS = {"int16": (-32768, 32767), "uint16": (0, 65535), "int32": (-2 ** 31, 2 ** 31 - 1), "uint32": (0, 2 ** 32 - 1)}
checks = Checks("ranges")
check = checks.check

missing = published_list_missing(REFERENCE)
if missing is not None:
    sys.exit(missing)
unit_of_instance = {instance: unit for unit, instance in published_unit_rows(REFERENCE)}
with open(DEFAULT_SCENARIO) as f:
    services = yaml.safe_load(f)["services"]
units = {}  # service type -> unit ID
for service in services:
    kind = service["name"].split(".")[2]
    instance = service.get("paths", {}).get("/DeviceInstance")
    if kind in INSTANCELESS:
        units[kind] = 100
    elif isinstance(instance, int):
        units.setdefault(kind, instance if instance <= 247 else unit_of_instance.get(instance))
with open(SHIPPED_MAP) as f:
    registers = yaml.safe_load(f)["registers"]


def sets():
    with open(os.environ["VMD_SIM_LOG"], encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if line.startswith("SET "))


c = Connection(PORT)
before = sets()
tried, wrong = 0, []
for reg in registers:
    kind = reg.get("type")
    if reg.get("access") != "W" or "range" not in reg or kind not in LIMITS or units.get(reg["service"]) is None:
        continue
    low, high = LIMITS[kind]
    scale = reg.get("scale", 1)
    minimum, maximum = reg["range"]
    for raw in (round(maximum * scale) + 1, round(minimum * scale) - 1):
        if not low <= raw <= high:
            continue  # the type itself cannot carry it
        words = [raw & 0xFFFF] if kind.endswith("16") else [(raw >> 16) & 0xFFFF, raw & 0xFFFF]
        pdu = struct.pack(">BHHB%dH" % len(words), 16, reg["address"], len(words), 2 * len(words), *words)
        reply = c.request(units[reg["service"]], pdu)
        tried += 1
        if reply != bytes([0x90, 3]):
            wrong.append("%d (%s %s, range %s) raw %d at unit %d: %r" % (reg["address"], reg["service"], reg["path"],
                                                                        reg["range"], raw, units[reg["service"]], reply))
c.close()
check(tried >= 12, "%d values just outside a range were tried (16- and 32-bit, above and below)" % tried)
check(not wrong, "each answers exception 3%s" % ("" if not wrong else ": %d did not, e.g. %s" % (len(wrong), wrong[:5])))
check(sets() == before, "none of them reached D-Bus: %d SetValue" % (sets() - before))
checks.finish()
