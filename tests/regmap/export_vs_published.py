"""What `venus-regmap export` writes says what the published register list says.

    export_vs_published.py VENUS_REGMAP SOURCE_DIR

up_to_date.py proves the committed documents are what the tool makes; this test checks what the tool
makes against an oracle that is not the project: the published list (../shared/reference/attributes.csv,
the unit table ../shared/reference/unitid2di.csv). It runs `venus-regmap export` into a scratch directory
and reads each of its three formats back independently: registers.csv (csv module), registers.md (its
"Registers by service" tables) and registers.xlsx (openpyxl, sheets "Field list" and "Unit ID mapping").
In each, every published register must appear exactly once at its address, with its service, D-Bus path,
type, scale and access, and the unit table must hold every published unit ID with its device instance.
Our own registers have no oracle but the map: "every register, generated from the map" (README) is
checked by comparing each format's rows, all of them, with the registers of register-maps/victron.yaml.
"""
import csv
import os
import re
import subprocess
import sys
import tempfile

import openpyxl
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from sitelib import Checks, published_list_missing, published_unit_rows  # noqa: E402

TYPE = re.compile(r"^(u?int(16|32|64)|string\[\d+\]|reserved\[\d+\])$")


def published(reference):
    """(address, service, path, type, scale, access) of every row of attributes.csv with an address."""
    rows = []
    with open(os.path.join(reference, "attributes.csv"), newline="") as f:
        for row in csv.reader(f):
            if len(row) < 8 or not row[4].isdigit():
                continue
            kind = row[5]
            path = "" if kind.startswith("reserved") else row[1]
            scale = None if kind.startswith("reserved") or kind.startswith("string") else float(row[6] or 1) or 1.0
            rows.append((int(row[4]), row[0].split(".")[2], path, kind, scale, "W" if row[7].startswith("W") else "R"))
    return rows


def unit_table(reference):
    return dict(published_unit_rows(reference))


def entry(service, path, address, kind, scale, access):
    """One exported register, normalised: scale as a float (None for strings and reserved words)."""
    number = None
    if not kind.startswith(("string", "reserved")):
        number = float(scale) if scale not in ("", None) else 1.0
    return (int(address), service, path or "", kind, number, access)


def paths_match(exported, wanted):
    """The export writes alternatives as {/a,/b}: the published path must be one of them."""
    if exported.startswith("{") and exported.endswith("}"):
        return wanted in exported[1:-1].split(",")
    return exported == wanted


def from_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return [entry(r[0], r[1], r[2], r[3], r[4], r[6]) for r in rows[1:]]


def from_md(path):
    """The rows of the tables under '## Registers by service', each under its '### SERVICE' heading."""
    rows, service, inside = [], None, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                inside = line.strip() == "## Registers by service"
            elif inside and line.startswith("### "):
                service = line[4:].strip()
            elif inside and line.startswith("| ") and not line.startswith(("| address", "| ---")):
                cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
                if cells[0].isdigit():
                    rows.append(entry(service, cells[1], cells[0], cells[2], cells[3], cells[4]))
    return rows


def from_xlsx(path):
    book = openpyxl.load_workbook(path, read_only=True)
    rows = []
    for r in list(book["Field list"].iter_rows(values_only=True))[1:]:
        service = (r[0] or "").replace("com.victronenergy.", "")
        rows.append(entry(service, r[6], r[2], r[3], r[4], {"yes": "W", "no": "R"}.get(r[7], r[7])))
    units = {int(r[0]): int(r[1]) for r in book["Unit ID mapping"].iter_rows(min_row=2, values_only=True)
             if r and isinstance(r[0], int)}
    return rows, units


def md_units(path):
    """The '### Unit table' of registers.md: unit ID -> device instance."""
    units, inside = {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                inside = line.strip() == "### Unit table"
            elif inside and re.match(r"^\| \d+ \| \d+ \|", line):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                units[int(cells[0])] = int(cells[1])
    return units


def words(kind):
    """The number of registers a type takes."""
    sized = re.match(r"^(string|reserved)\[(\d+)\]$", kind)
    return int(sized.group(2)) if sized else {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "uint64": 4}[kind]


def compare(checks, name, exported, wanted):
    by_address = {}
    for row in exported:
        by_address.setdefault(row[0], []).append(row)
    checks.check(all(TYPE.match(row[3]) for row in exported), "%s: every type is a Modbus type of the map" % name)
    wrong = []
    for want in wanted:
        got = by_address.get(want[0], [])
        if len(got) != 1:
            wrong.append("register %d: %d rows" % (want[0], len(got)))
            continue
        g = got[0]
        internal = re.match(r"^INTERNAL\[(\d+)\]$", want[3])
        if internal:  # computed by the GX server (777, 830, 834, 3214, 5202): the service and the size
            same = g[1] == want[1] and g[5] == want[5] and words(g[3]) == int(internal.group(1))
            if not same:
                wrong.append("register %d: exported %r, published %r" % (want[0], g, want))
            continue
        same = g[1] == want[1] and paths_match(g[2], want[2]) and g[3] == want[3] and g[5] == want[5] and \
            (want[4] is None or g[4] == want[4])
        if not same:
            wrong.append("register %d: exported %r, published %r" % (want[0], g, want))
    checks.check(not wrong, "%s: all %d published registers at their address with their service, path, type, "
                 "scale and access%s" % (name, len(wanted), "" if not wrong else ": %d differ, e.g. %s"
                                         % (len(wrong), "; ".join(wrong[:5]))))


def from_map(path):
    with open(path) as f:
        registers = yaml.safe_load(f)["registers"]
    return sorted(entry(r["service"], r.get("path", ""), r["address"], r["type"], r.get("scale", 1),
                        r.get("access", "R")) for r in registers)


def main():
    tool, source = sys.argv[1], sys.argv[2]
    reference = os.path.join(source, "..", "shared", "reference")
    missing = published_list_missing(reference)
    if missing is not None:
        sys.exit(missing)
    wanted = published(reference)
    units = unit_table(reference)
    checks = Checks("export vs published")
    checks.check(len(wanted) > 1000, "the published list has %d registers with an address" % len(wanted))
    with tempfile.TemporaryDirectory(prefix="regmap-export-") as work:
        result = subprocess.run([tool, "export", "--map", os.path.join(source, "register-maps", "victron.yaml"),
                                 "--sources", os.path.join(source, "register-maps", "src"), "--out-dir", work],
                                capture_output=True, text=True, timeout=120)
        checks.check(result.returncode == 0, "venus-regmap export exits 0: %d %s" % (result.returncode, result.stderr))
        mapped = from_map(os.path.join(source, "register-maps", "victron.yaml"))
        csv_rows, md_rows = from_csv(os.path.join(work, "registers.csv")), from_md(os.path.join(work, "registers.md"))
        sheet, sheet_units = from_xlsx(os.path.join(work, "registers.xlsx"))
        for name, rows in (("registers.csv", csv_rows), ("registers.md", md_rows), ("registers.xlsx", sheet)):
            compare(checks, name, rows, wanted)
            differ = [(a, b) for a, b in zip(sorted(rows), mapped) if a != b]
            checks.check(len(rows) == len(mapped) and not differ,
                         "%s: all %d registers of the map, each with the map's fields (%d rows%s)"
                         % (name, len(mapped), len(rows), "" if not differ else "; e.g. %s" % differ[:3]))
        for name, table in (("registers.md", md_units(os.path.join(work, "registers.md"))),
                            ("registers.xlsx", sheet_units)):
            differ = {u: (table.get(u), i) for u, i in units.items() if table.get(u) != i}
            checks.check(not differ, "%s: the unit table maps all %d published unit IDs to their device instance%s"
                         % (name, len(units), "" if not differ else ": (ours, published) %s" % differ))
    checks.finish()


if __name__ == "__main__":
    main()
