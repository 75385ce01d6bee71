"""A discovery scan as Home Assistant's Victron integration does it, through pymodbus (via with-site.sh).

For the first address of every published register group (a run of consecutive addresses of one service
type in ../shared/reference/attributes.csv) and every unit 0-247, one read of the words that follow
without a gap (at most 125). A client creates a device wherever such a read succeeds, so a read must
succeed exactly where the service of the register at the start address is present at that unit: the
scenario's services, reached by /DeviceInstance == unit or the published unit table (unitid2di.csv).
Nothing else may answer: 4700+5 at unit 0 (pump /State, then settings) without a pump is exception 10.

  discovery_scan_test.py SCENARIO   (the scenario with-site.sh runs)

Skips (exit 77) when ../shared/reference is absent, and fails then when CI=true.
"""
import csv
import os
import re
import sys

import yaml
from pymodbus.client import ModbusTcpClient

HOST, PORT = os.environ["VMD_HOST"], int(os.environ["VMD_PORT"])
REFERENCE = os.path.join(os.environ["VMD_SOURCE"], "..", "shared", "reference")


def words_of(modbus_type):
    if modbus_type in ("int16", "uint16"):
        return 1
    if modbus_type in ("int32", "uint32"):
        return 2
    if modbus_type == "uint64":
        return 4
    return int(re.search(r"\[(\d+)\]", modbus_type).group(1))


def published_groups():
    """[(first address, words readable from it without a gap (<= 125), service type)]"""
    rows = []
    with open(os.path.join(REFERENCE, "attributes.csv"), newline="") as f:
        for field in csv.reader(f):
            if len(field) < 8 or not field[4].isdigit():
                continue
            rows.append((int(field[4]), words_of(field[5]), field[0].split(".")[2]))
    rows.sort()
    groups = []
    previous_end, previous_type = None, None
    for address, words, service_type in rows:
        if address != previous_end or service_type != previous_type:
            groups.append([address, service_type])
        previous_end, previous_type = address + words, service_type
    runs = []  # [start, end) of each gap-free run of words
    for address, words, _ in rows:
        if runs and runs[-1][1] == address:
            runs[-1][1] = address + words
        else:
            runs.append([address, address + words])
    result = []
    for address, service_type in groups:
        end = next(e for s, e in runs if s <= address < e)
        result.append((address, min(end - address, 125), service_type))
    return result


def unit_table():
    table = {}
    with open(os.path.join(REFERENCE, "unitid2di.csv"), newline="") as f:
        for field in csv.reader(f):
            if len(field) >= 2 and field[0].strip().isdigit():
                table[int(field[0].strip())] = int(field[1].strip())
    return table


def present_services(scenario):
    """{(service type, device instance)} of the scenario; a service without /DeviceInstance is instance 0."""
    with open(scenario) as f:
        site = yaml.safe_load(f)
    present = set()
    for service in site["services"]:
        instance = service.get("paths", {}).get("/DeviceInstance", 0)
        if isinstance(instance, dict):
            instance = instance.get("value", 0)
        present.add((service["name"].split(".")[2], int(instance)))
    return present


def main():
    if not os.path.exists(os.path.join(REFERENCE, "attributes.csv")):
        if os.environ.get("CI") == "true":
            print("FAIL: the published register list is not at %s (CI=true)" % REFERENCE, file=sys.stderr)
            return 1
        print("SKIP: the published register list is not at %s" % REFERENCE)
        return 77
    present = present_services(sys.argv[1])
    table = unit_table()
    groups = published_groups()

    def expected(service_type, unit):
        if (service_type, unit) in present:
            return True
        return unit in table and (service_type, table[unit]) in present

    failures = []
    found = set()
    client = ModbusTcpClient(HOST, port=PORT, timeout=5)
    assert client.connect(), "cannot connect"
    for unit in range(248):
        for address, quantity, service_type in groups:
            r = client.read_holding_registers(address, quantity, slave=unit)
            if r is None or not hasattr(r, "isError"):
                failures.append("unit %d %d+%d: no answer (%r)" % (unit, address, quantity, r))
                continue
            if expected(service_type, unit):
                if r.isError():
                    failures.append("unit %d %d+%d (%s, present): %s" % (unit, address, quantity, service_type, r))
                else:
                    found.add((service_type, unit))
            elif not r.isError():
                failures.append("unit %d %d+%d: a %s that is not there answered (a phantom device)"
                                % (unit, address, quantity, service_type))
            elif getattr(r, "exception_code", None) != 10:
                failures.append("unit %d %d+%d (%s, absent): exception %s, 10 expected"
                                % (unit, address, quantity, service_type, getattr(r, "exception_code", None)))
    client.close()

    # Every service of the scenario that has a published group was found at some unit.
    published_types = {service_type for _, _, service_type in groups}
    for service_type, instance in sorted(present):
        if service_type in published_types and not any(t == service_type for t, _ in found):
            failures.append("the scan found no %s (instance %d)" % (service_type, instance))
    if failures:
        for f in failures[:40]:
            print("FAIL:", f, file=sys.stderr)
        print("%d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("discovery scan: %d groups x 248 units, %d (type, unit) found, no phantom device: %s"
          % (len(groups), len(found), ", ".join("%s@%d" % x for x in sorted(found))))
    return 0


sys.exit(main())
