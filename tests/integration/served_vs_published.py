"""What the running server serves, checked register by register against the published list.

The oracle is independent of our map: for every row of ../shared/reference/attributes.csv whose
service is on the simulated site, the test reads the D-Bus value with dbus-send, encodes it as the
published list says (Modbus type, scale; register = round(value x scale), half away from zero;
0 where the value is invalid or the path absent; reserved words 0xFFFF), reads the register
through the server at the unit the published unit table gives the service's /DeviceInstance, and
compares the words. Values that change between the D-Bus reads before and after the Modbus read
are read again. Run through with-site.sh; needs dbus-send and busctl (systemd).

    served_vs_published.py [MINIMUM]   (fails when fewer than MINIMUM registers, default 200, were compared)
"""
import csv
import json
import math
import os
import re
import subprocess
import sys

from sitelib import Connection, published_list_missing, published_unit_rows

BUS, PORT = os.environ["VMD_BUS"], int(os.environ["VMD_PORT"])  # the server listens on 127.0.0.1
REFERENCE = os.path.join(os.environ["VMD_SOURCE"], "..", "shared", "reference")
COMPUTED = "INTERNAL"  # rows the GX server computes itself (777, 830, 834, 3214, 5202): not a D-Bus value
RANGES = {"uint16": (0, 0xFFFF), "int16": (-0x8000, 0x7FFF), "uint32": (0, 0xFFFFFFFF),
          "int32": (-0x80000000, 0x7FFFFFFF), "uint64": (0, 0xFFFFFFFFFFFFFFFF)}
WORDS = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "uint64": 4}


def dbus(*args):
    return subprocess.run(["dbus-send", "--bus=" + BUS, "--print-reply", *args], capture_output=True, text=True)


def get_value(service, path):
    """The value at full precision (busctl's JSON): a number, a string, or None (invalid, or no such path)."""
    r = subprocess.run(["busctl", "--address=" + BUS, "call", service, path, "com.victronenergy.BusItem", "GetValue",
                        "--json=short"], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    variant = json.loads(r.stdout)["data"][0]
    kind, data = variant["type"], variant["data"]
    if kind == "s":
        return data
    if kind == "b":
        return 1 if data else 0
    if kind in ("d", "y", "n", "q", "i", "u", "x", "t"):
        return data
    return None  # an empty array: invalid


def encode(value, kind, scale):
    """Register words for `value` as the published list defines the register."""
    if kind.startswith("string["):
        count = int(kind[7:-1])
        data = (value if isinstance(value, str) else "").encode("latin-1", "replace")[:2 * count].ljust(2 * count, b"\0")
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, 2 * count, 2)]
    if kind.startswith("reserved["):
        return [0xFFFF] * int(kind[9:-1])
    if value is None or isinstance(value, str):
        return [0] * WORDS[kind]
    product = float(value) * scale  # double precision, as the GX device computes it
    number = int(math.copysign(math.floor(abs(product) + 0.5), product))
    low, high = RANGES[kind]
    number = max(low, min(high - 1, number))  # beyond the range: MIN or MAX-1 (MAX means "not available")
    raw = number & ((1 << (16 * WORDS[kind])) - 1)
    return [(raw >> (16 * i)) & 0xFFFF for i in reversed(range(WORDS[kind]))]


def size(kind):
    return int(kind[kind.index("[") + 1:-1]) if "[" in kind else WORDS[kind]


def main():
    missing = published_list_missing(REFERENCE)
    if missing is not None:
        sys.exit(missing)
    unit_of = {instance: unit for unit, instance in published_unit_rows(REFERENCE)}
    with open(os.path.join(REFERENCE, "attributes.csv"), newline="") as f:
        rows = [row for row in csv.reader(f) if len(row) >= 8 and row[4].isdigit()]

    names = dbus("--dest=org.freedesktop.DBus", "/", "org.freedesktop.DBus.ListNames").stdout
    services = {}  # service type -> [(bus name, unit)]
    for name in sorted(set(re.findall(r'"(com\.victronenergy\.[^"]+)"', names))):
        kind = ".".join(name.split(".")[:3])
        instance = get_value(name, "/DeviceInstance")
        instance = int(instance) if isinstance(instance, (int, float)) else 0
        unit = instance if 1 <= instance <= 247 and instance != 100 else unit_of.get(instance, 100 if instance == 0 else None)
        if unit is not None:
            services.setdefault(kind, []).append((name, unit))

    modbus = Connection(PORT)  # reads give the words, or the exception code as an int
    compared, failures = 0, []
    for service_type, path_spec, _, _, address, kind, scale, _ in rows:
        if kind.startswith(COMPUTED):
            continue
        for name, unit in services.get(service_type, []):
            paths = [path_spec]
            m = re.match(r"^(.*)\{([^}]*)\}(.*)$", path_spec)
            if m:  # "/Ac/{Grid,Genset}/L1/Power": the first of these that exists
                paths = [m.group(1) + choice + m.group(3) for choice in m.group(2).split(",")]
            factor = float(scale) if scale else 1.0
            for attempt in range(5):
                values = [get_value(name, p) for p in paths]
                before = next((v for v in values if v is not None), None)
                words = modbus.read(unit, int(address), size(kind))
                after = next((v for v in (get_value(name, p) for p in paths) if v is not None), None)
                if before == after:
                    break
            expected = encode(before, kind, factor)
            compared += 1
            if words != expected:
                failures.append("%s %s (unit %d, register %s, %s, scale %s): D-Bus %r, expected %s, served %s"
                                % (name, path_spec, unit, address, kind, scale, before, expected, words))
    for failure in failures[:40]:
        print("FAIL: " + failure, file=sys.stderr)
    print("%d published registers compared on the site, %d differ" % (compared, len(failures)))
    minimum = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    if compared < minimum:
        sys.exit("FAIL: only %d registers compared; the site should cover at least %d" % (compared, minimum))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
