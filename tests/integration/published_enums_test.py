"""Every value the published register list documents for a writable register is accepted, through
pymodbus (via with-site.sh, scenario mixed-no-hub4.yaml): for each writable published register whose
service and path the scenario publishes writable, each value of column 4 of
../shared/reference/attributes.csv is written and must reach D-Bus (the simulator logs the SetValue).
Charger /Mode (2317), inverter /Mode (3126) and evcharger /Position (3827) used to refuse some of them.

  published_enums_test.py SCENARIO

Skips (exit 77) when ../shared/reference is absent, and fails then when CI=true.
"""
import csv
import os
import re
import sys
import time

import yaml
from pymodbus.client import ModbusTcpClient

from sitelib import published_list_missing

HOST, PORT = os.environ["VMD_HOST"], int(os.environ["VMD_PORT"])
REFERENCE = os.path.join(os.environ["VMD_SOURCE"], "..", "shared", "reference")
SIM_LOG = os.environ["VMD_SIM_LOG"]


def documented(column):
    values = []
    for item in column.split(";"):
        m = re.fullmatch(r"\s*(-?\d+)(?:\s*-\s*(\d+))?\s*=.*", item)
        first = int(m.group(1))
        values.extend(range(first, int(m.group(2) or first) + 1))
    return values


def main():
    missing = published_list_missing(REFERENCE)
    if missing is not None:
        return missing
    with open(sys.argv[1]) as f:
        site = yaml.safe_load(f)
    writable = {}  # (service type, path) -> (bus name, unit)
    for service in site["services"]:
        instance = service.get("paths", {}).get("/DeviceInstance", 0)
        for path, spec in service.get("paths", {}).items():
            if isinstance(spec, dict) and spec.get("writable") and instance <= 247:
                writable[(service["name"].split(".")[2], path)] = (service["name"], instance)
    failures = []
    client = ModbusTcpClient(HOST, port=PORT, timeout=5)
    assert client.connect(), "cannot connect"
    written = 0
    with open(os.path.join(REFERENCE, "attributes.csv"), newline="") as f:
        for field in csv.reader(f):
            if len(field) < 8 or not field[4].isdigit() or field[7] != "W" or "=" not in field[3]:
                continue
            key = (field[0].split(".")[2], field[1])
            if key not in writable or field[5] not in ("uint16", "int16"):
                continue
            name, unit = writable[key]
            scale = float(field[6]) if field[6] and float(field[6]) != 0 else 1.0
            for value in documented(field[3]):
                r = client.write_register(int(field[4]), int(round(value * scale)) & 0xFFFF, slave=unit)
                if r.isError():
                    failures.append("register %s (%s %s) refuses %d, which the published list documents: %s"
                                    % (field[4], key[0], key[1], value, r))
                    continue
                written += 1
                expected = "SET %s %s %s %d " % (name, field[1], field[2], value)
                deadline = time.monotonic() + 5
                while expected not in open(SIM_LOG).read() and time.monotonic() < deadline:
                    time.sleep(0.02)
                if expected not in open(SIM_LOG).read():
                    failures.append("register %s: no '%s' in the simulator log" % (field[4], expected.strip()))
    client.close()
    if written == 0:
        failures.append("no register of the scenario was written: the test checked nothing")
    if failures:
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        return 1
    print("published enums: %d documented values written and sent" % written)
    return 0


sys.exit(main())
