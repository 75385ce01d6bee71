"""A discovery scan as Home Assistant's Victron integration does it, through pymodbus (via with-site.sh).

For the first address of every published register group (a run of consecutive addresses of one service
type in ../shared/reference/attributes.csv) and every unit 0-247, one read of the words that follow
without a gap (at most 125). A client creates a device wherever such a read succeeds, so a read must
succeed exactly where the service of the register at the start address is present at that unit: the
scenario's services, reached by /DeviceInstance == unit or the published unit table (unitid2di.csv).
Nothing else may answer: 4700+5 at unit 0 (pump /State, then settings) without a pump is exception 10.
A site without hub4 still reads 2700+13 at unit 100 (settings first; hub4's 2709 reads "not
available", 0). On a scenario with fixed values (no model), every published number register whose path
has a value reads what a GX device reads: round(value x scale) with the product in double and halves
away from zero, computed here with Python floats (IEEE double) as the oracle.

  discovery_scan_test.py SCENARIO   (the scenario with-site.sh runs)

Skips (exit 77) when ../shared/reference is absent, and fails then when CI=true.
"""
import csv
import math
import os
import re
import sys

import yaml
from pymodbus.client import ModbusTcpClient

from sitelib import published_list_missing, published_unit_rows

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


def published_rows():
    """[(address, service type, path, modbus type, scale)] of the published number registers."""
    rows = []
    with open(os.path.join(REFERENCE, "attributes.csv"), newline="") as f:
        for field in csv.reader(f):
            if len(field) < 8 or not field[4].isdigit() or field[5] not in ("int16", "uint16", "int32", "uint32"):
                continue
            scale = float(field[6]) if field[6] and float(field[6]) != 0 else 1.0
            rows.append((int(field[4]), field[0].split(".")[2], field[1], field[5], scale))
    return rows


def gx_round(x):
    """C round(): halves away from zero, exact for every double."""
    fraction, whole = math.modf(abs(x))
    return int(math.copysign(whole + (1 if fraction >= 0.5 else 0), x))


def gx_words(value, modbus_type, scale):
    """The words a GX device reads for VALUE, or None when the type cannot hold it."""
    raw = gx_round(float(value) * scale)  # the product in double, as the GX computes it
    bits = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32}[modbus_type]
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if modbus_type.startswith("int") else (0, (1 << bits) - 1)
    if raw < low or raw >= high:
        return None
    raw &= (1 << bits) - 1
    return [raw] if bits == 16 else [raw >> 16, raw & 0xFFFF]


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
    return dict(published_unit_rows(REFERENCE))


def load_site(scenario):
    with open(scenario) as f:
        return yaml.safe_load(f)


def instance_of(service):
    instance = service.get("paths", {}).get("/DeviceInstance", 0)
    return int(instance.get("value", 0) if isinstance(instance, dict) else instance)


def present_services(site):
    """{(service type, device instance)} of the scenario; a service without /DeviceInstance is instance 0."""
    return {(service["name"].split(".")[2], instance_of(service)) for service in site["services"]}


def fixed_numbers(service):
    """{path: number} of the service's paths with a fixed number value."""
    numbers = {}
    for path, spec in service.get("paths", {}).items():
        if isinstance(spec, dict):
            if "walk" in spec:
                continue
            spec = spec.get("value")
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            numbers[path] = spec
    return numbers


def main():
    missing = published_list_missing(REFERENCE)
    if missing is not None:
        return missing
    site = load_site(sys.argv[1])
    present = present_services(site)
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

    # The absent-sibling rule: settings first, hub4 absent: the block reads, hub4's words as 0.
    if not any(t == "hub4" for t, _ in present) and ("settings", 0) in present:
        r = client.read_holding_registers(2700, 13, slave=100)
        if r.isError():
            failures.append("2700+13 at unit 100 without hub4: %s" % r)
        elif r.registers[9] != 0:
            failures.append("2709 (hub4, absent) reads %d, not 0" % r.registers[9])

    # Values: every published number register of a fixed value reads as on a GX device.
    compared = 0
    if "model" not in site:
        rows = published_rows()
        reverse = {instance: unit for unit, instance in table.items()}
        for service in site["services"]:
            service_type, instance = service["name"].split(".")[2], instance_of(service)
            unit = instance if instance <= 247 else reverse.get(instance)  # instance == unit is tried first
            if unit is None:
                continue
            values = fixed_numbers(service)
            for address, row_type, path, modbus_type, scale in rows:
                if row_type != service_type or path not in values:
                    continue
                expected = gx_words(values[path], modbus_type, scale)
                if expected is None:
                    continue
                r = client.read_holding_registers(address, len(expected), slave=unit)
                compared += 1
                if r.isError() or r.registers != expected:
                    failures.append("unit %d register %d (%s %s = %r, %s x %g): reads %s, a GX device %s"
                                    % (unit, address, service_type, path, values[path], modbus_type, scale,
                                       getattr(r, "registers", r), expected))
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
    print("discovery scan: %d groups x 248 units, %d (type, unit) found, no phantom device: %s; "
          "%d registers read as a GX device reads them"
          % (len(groups), len(found), ", ".join("%s@%d" % x for x in sorted(found)), compared))
    return 0


sys.exit(main())
