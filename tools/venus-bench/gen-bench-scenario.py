#!/usr/bin/env python3
"""Generates the venus-sim scenario used by the benchmarks (tools/venus-sim/scenarios/bench-50x100.yaml).

50 services with 100 paths each, laid out so that every device answers at its own Modbus unit:

    unit 100   system, settings, hub4          (instance 0)
    unit 246   vebus.ttyO1                     (instance 257, via the unit table)
    units 1-12 solarcharger, 13-20 battery, 21-25 grid, 26-33 tank, 34-39 temperature,
    40-45      pvinverter, 46 multi            (DeviceInstance = unit)

The paths of each service are the D-Bus paths the published register list uses for its service
type (read from the reference attributes.csv, which is not part of this repository), then the
usual device paths, then unmapped filler paths up to 100 (real services publish many paths that
have no register). Four numeric read-only paths per service walk; with tick-ms 200 the simulator
publishes 50 x 4 x 5 = 1,000 value changes per second.

venus-bench's mixes (tools/venus-bench/Mix.cpp) assume this layout: change both together.

    gen-bench-scenario.py [--attributes CSV] [--output YAML]
"""

import argparse
import csv
import os
import re
import sys

PATHS_PER_SERVICE = 100
WALKS_PER_SERVICE = 4
TICK_MS = 200

# (service type, bus name suffix pattern, first unit, count, product name)
DEVICES = [
    ("solarcharger", "ttyUSB{n}", 1, 12, "SmartSolar Charger MPPT 150/35"),
    ("battery", "socketcan_can1_vi{n}", 13, 8, "Lynx Smart BMS 500"),
    ("grid", "cgwacs_ttyUSB{n}_mb1", 21, 5, "Energy Meter ET340"),
    ("tank", "adc_builtin0_{n}", 26, 8, "Fresh water tank"),
    ("temperature", "adc_builtin1_{n}", 34, 6, "Temperature sensor"),
    ("pvinverter", "cgwacs_ttyUSB{n}_mb2", 40, 6, "Fronius Primo 5.0-1"),
    ("multi", "socketcan_can0_vi{n}", 46, 1, "MultiPlus-II RS 48/6000"),
]
# Services at unit 100 (instance 0) and the VE.Bus inverter at unit 246 (instance 257).
SITE = [
    ("system", "com.victronenergy.system", 0, "Cerbo GX"),
    ("settings", "com.victronenergy.settings", None, None),
    ("hub4", "com.victronenergy.hub4", None, None),
    ("vebus", "com.victronenergy.vebus.ttyO1", 257, "MultiPlus-II 48/5000/70-50"),
]
COMMON_DEVICE_PATHS = ["/DeviceInstance", "/ProductName", "/ProductId", "/FirmwareVersion", "/Connected",
                       "/CustomName", "/Serial", "/Mgmt/ProcessName", "/Mgmt/ProcessVersion",
                       "/Mgmt/Connection"]
INTEGER_TYPES = "ybnqiuxt"


def expand(path):
    """'/Ac/{Grid,Genset}/L1/Power' -> ['/Ac/Grid/L1/Power', '/Ac/Genset/L1/Power']."""
    m = re.search(r"\{([^}]*)\}", path)
    if not m:
        return [path]
    result = []
    for alternative in m.group(1).split(","):
        result.extend(expand(path[:m.start()] + alternative + path[m.end():]))
    return result


def read_register_list(csv_path):
    """{service type: [(path, type letter, scale, writable), ...]} in address order, paths unique."""
    rows = []
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) < 8 or not row[4].strip().isdigit():
                continue
            service_type = row[0].split(".")[2]
            rows.append((int(row[4]), service_type, row[1], row[2], float(row[6] or 1), row[7] == "W", row[5]))
    rows.sort()
    by_type = {}
    for _address, service_type, paths, letter, scale, writable, modbus_type in rows:
        if modbus_type.startswith("reserved"):
            continue
        entries = by_type.setdefault(service_type, [])
        for path in expand(paths):
            if path not in (e[0] for e in entries):
                entries.append((path, letter, scale, writable))
    return by_type


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def initial_value(path, letter, scale, index):
    if letter == "s":
        return quote("bench " + path.rsplit("/", 1)[-1].lower())
    if letter == "b":
        return "false"
    if letter in INTEGER_TYPES:
        return str(1 + index % 3)
    # A double that stays inside 16 bits after scaling.
    limit = min(100.0, 3000.0 / max(abs(scale), 0.001))
    return f"{round(limit * (0.2 + (index % 5) * 0.1), 2)}"


def walk_for(letter, scale):
    if letter in INTEGER_TYPES:
        return "{min: 0, max: 200, step: 1}"
    limit = min(100.0, 3000.0 / max(abs(scale), 0.001))
    return f"{{min: 0, max: {round(limit, 3)}, step: {round(limit / 50, 4)}}}"


def service_lines(bus_name, service_type, instance, product, register_paths):
    lines = [f"  - name: {bus_name}", "    paths:"]
    entries = []  # (path, rendered value, walk-candidate, letter, scale)
    used = set()

    def add(path, rendered, walkable=False, letter="d", scale=1.0):
        if path in used or len(entries) >= PATHS_PER_SERVICE:
            return
        used.add(path)
        entries.append((path, rendered, walkable, letter, scale))

    if instance is not None:
        add("/DeviceInstance", str(instance))
        add("/ProductName", quote(product))
        add("/Connected", "1")
    for index, (path, letter, scale, writable) in enumerate(register_paths):
        value = initial_value(path, letter, scale, index)
        typed = f"{{value: {value}, type: {letter}"
        if writable:
            add(path, typed + ", writable: true}")
        else:
            add(path, typed + "}", walkable=letter not in "sb" and path != "/DeviceInstance",
                letter=letter, scale=scale)
    if instance is not None:
        for path in COMMON_DEVICE_PATHS:
            add(path, quote("bench") if path.startswith("/Mgmt/Process") or path in (
                "/Serial", "/CustomName", "/Mgmt/Connection") else "1")
    filler = 0
    while len(entries) < PATHS_PER_SERVICE:
        add(f"/Bench/Unmapped/{filler}", f"{float(filler)}", walkable=True, letter="d", scale=1.0)
        filler += 1

    # Walk the first read-only numeric register paths, spread over the list; filler if too few.
    mapped = [e[0] for e in entries if e[2] and not e[0].startswith("/Bench/")]
    filler_paths = [e[0] for e in entries if e[2] and e[0].startswith("/Bench/")]
    step = max(1, len(mapped) // WALKS_PER_SERVICE)
    walking = set(mapped[::step][:WALKS_PER_SERVICE])
    walking.update(filler_paths[:WALKS_PER_SERVICE - len(walking)])
    for path, rendered, _walkable, letter, scale in entries:
        if path in walking:
            if rendered.startswith("{"):
                rendered = rendered[:-1] + f", walk: {walk_for(letter, scale)}}}"
            else:
                rendered = f"{{value: {rendered}, type: {letter}, walk: {walk_for(letter, scale)}}}"
        lines.append(f"      {path}: {rendered}")
    assert len(entries) == PATHS_PER_SERVICE and len(walking) == WALKS_PER_SERVICE, bus_name
    return lines


def generate(csv_path):
    by_type = read_register_list(csv_path)
    out = [
        "# GENERATED by tools/venus-bench/gen-bench-scenario.py from the published register list:",
        "# do not edit by hand. The benchmark site of docs/benchmarks.md: 50 services x 100 paths,",
        f"# {WALKS_PER_SERVICE} walking paths per service every {TICK_MS} ms = "
        f"{50 * WALKS_PER_SERVICE * 1000 // TICK_MS} value changes per second.",
        "# Units: 100 system/settings/hub4, 246 vebus, 1-12 solarcharger, 13-20 battery, 21-25 grid,",
        "# 26-33 tank, 34-39 temperature, 40-45 pvinverter, 46 multi.",
        f"tick-ms: {TICK_MS}",
        "",
        "services:",
    ]
    count = 0
    for service_type, bus_name, instance, product in SITE:
        out += service_lines(bus_name, service_type, instance, product, by_type.get(service_type, []))
        count += 1
    for service_type, suffix, first_unit, number, product in DEVICES:
        for i in range(number):
            unit = first_unit + i
            bus_name = f"com.victronenergy.{service_type}.{suffix.format(n=i)}"
            out += service_lines(bus_name, service_type, unit, f"{product} #{i + 1}",
                                 by_type.get(service_type, []))
            count += 1
    if count != 50:
        sys.exit(f"gen-bench-scenario.py: {count} services, expected 50")
    return "\n".join(out) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source = os.path.normpath(os.path.join(here, "..", ".."))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attributes",
                        default=os.path.join(source, "..", "shared", "reference", "attributes.csv"),
                        help="the published register list (attributes.csv)")
    parser.add_argument("--output",
                        default=os.path.join(source, "tools", "venus-sim", "scenarios", "bench-50x100.yaml"))
    args = parser.parse_args()
    text = generate(args.attributes)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
