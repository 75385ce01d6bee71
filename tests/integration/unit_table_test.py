"""Every row of the published unit-ID table reaches its device instance on the running daemon.

docs/semantics.md "Unit IDs": "otherwise the map's unit-ids table (unit 100 -> instance 0, the
VE.Bus/VE.Direct port instances 256..296 -> units 204..247, 512 -> 225)". The oracle is the published
table, ../shared/reference/unitid2di.csv, not our map: the test publishes one tank per row, at the row's
device instance, whose level is the instance / 10 (so register 3004, /Level at scale 10, reads the
instance itself), and reads each at the row's unit ID. A unit that is in no row and equals no instance
(17) answers exception 10.

Usage: unit_table_test.py BUILD_DIR
"""
import os
import sys

from sitelib import SOURCE, Checks, Connection, Site, published_list_missing, published_unit_rows, wait_for

BUILD = sys.argv[1]
REFERENCE = os.path.join(SOURCE, "..", "shared", "reference")
checks = Checks("unit table")
check = checks.check

missing = published_list_missing(REFERENCE)
if missing is not None:
    sys.exit(missing)
rows = published_unit_rows(REFERENCE)
check(len(rows) > 40 and (100, 0) in rows and (225, 512) in rows, "the published table has its %d rows" % len(rows))

with Site(BUILD, prefix="vmd-units.") as site:
    scenario = site.path("tanks.yaml")
    with open(scenario, "w") as f:
        f.write("services:\n")
        for unit, instance in rows:
            f.write("  - name: com.victronenergy.tank.unit%d\n    paths:\n      /DeviceInstance: %d\n"
                    "      /Level: {value: %.1f, type: d}\n" % (unit, instance, instance / 10))
    site.start_sim(scenario)
    _, port = site.start_server()
    c = Connection(port)
    check(wait_for(lambda: c.read(225, 3004) == [512], 20), "the tanks are served")
    wrong = [(unit, instance, c.read(unit, 3004)) for unit, instance in rows if c.read(unit, 3004) != [instance]]
    check(not wrong, "each of the %d units reads the tank at its published instance%s"
          % (len(rows), "" if not wrong else ": (unit, instance, read) %s" % wrong))
    check(c.read(0, 3004) == [0], "unit 0 also reaches instance 0")
    check(c.read(17, 3004) == 10, "unit 17, in no row and no instance, answers exception 10")
    c.close()

checks.finish()
