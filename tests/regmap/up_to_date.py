"""The committed map and documents are what `venus-regmap` makes of the committed sources.

    up_to_date.py VENUS_REGMAP SOURCE_DIR

Runs generate, export and coverage into a scratch directory and compares the results with
register-maps/victron.yaml, docs/registers.csv, docs/registers.md and docs/coverage.md byte for byte.
docs/registers.xlsx is read back (openpyxl, an independent reader of the format): every row of its
"Field list" sheet must say what the same row of registers.csv says, and its "Unit ID mapping" sheet
must hold the unit table, 100 -> instance 0 among it.
"""
import csv
import difflib
import os
import re
import subprocess
import sys
import tempfile

import openpyxl


def run(*args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("%s failed (%d):\n%s%s" % (" ".join(args), result.returncode, result.stdout, result.stderr))


def same(made, committed, failures):
    with open(made, "rb") as f:
        new = f.read()
    try:
        with open(committed, "rb") as f:
            old = f.read()
    except OSError as e:
        failures.append("%s: cannot read (%s)" % (committed, e.strerror))
        return
    if new != old:
        diff = difflib.unified_diff(old.decode("utf-8", "replace").splitlines(),
                                    new.decode("utf-8", "replace").splitlines(), committed, "regenerated",
                                    lineterm="", n=1)
        excerpt = "\n".join(list(diff)[:20])
        failures.append("%s is out of date; run the venus-regmap commands of docs/registers.md:\n%s"
                        % (committed, excerpt))


def blank_to_none(value):
    return None if value in ("", None) else value


def xlsx_matches_csv(xlsx, csv_file, failures):
    """Every row of the xlsx's field list against the same row of the CSV, field by field."""
    try:
        workbook = openpyxl.load_workbook(xlsx, read_only=True)
    except Exception as e:  # openpyxl raises many types for a broken file
        failures.append("%s: not a readable xlsx (%s)" % (xlsx, e))
        return
    for sheet in ("Field list", "Unit ID mapping"):
        if sheet not in workbook.sheetnames:
            failures.append("%s: no sheet '%s'" % (xlsx, sheet))
            return
    sheet_rows = list(workbook["Field list"].iter_rows(values_only=True))
    with open(csv_file, newline="") as f:
        csv_rows = list(csv.reader(f))
    if len(sheet_rows) != len(csv_rows):
        failures.append("%s: %d rows in 'Field list', %d in %s" % (xlsx, len(sheet_rows), len(csv_rows), csv_file))
    if sheet_rows and sheet_rows[0][:9] != ("service", "description", "address", "type", "scale factor", "range",
                                           "D-Bus path", "writable", "unit/enum"):
        failures.append("%s: unexpected header %r" % (xlsx, sheet_rows[0]))
    wrong = 0
    for number, (row, line) in enumerate(zip(sheet_rows[1:], csv_rows[1:]), start=2):
        service, path, address, kind, scale, unit, access, value_range, description = line
        expected = ("com.victronenergy." + service, description, int(address), kind,
                    float(scale) if scale else None, blank_to_none(value_range), blank_to_none(path),
                    {"R": "no", "W": "yes"}[access], blank_to_none(unit))
        got = tuple(blank_to_none(v) for v in row[:9])
        remarks = blank_to_none(row[9]) if len(row) > 9 else None
        if remarks:  # the CSV has no remarks column: it writes them after the description
            got = (got[0], got[1] + " (" + remarks + ")" if got[1] else remarks) + got[2:]
        got = got[:4] + (float(got[4]) if got[4] is not None else None,) + got[5:]
        if got != expected:
            wrong += 1
            if wrong <= 5:
                failures.append("%s: row %d is %r, registers.csv says %r" % (xlsx, number, got, expected))
    if wrong > 5:
        failures.append("%s: %d rows differ from registers.csv in all" % (xlsx, wrong))
    units = {row[0]: row[1] for row in workbook["Unit ID mapping"].iter_rows(min_row=2, values_only=True)}
    if units.get(100) != 0:
        failures.append("%s: the 'Unit ID mapping' sheet does not map unit 100 to instance 0" % xlsx)


def main():
    tool, source = sys.argv[1], sys.argv[2]
    failures = []
    with tempfile.TemporaryDirectory(prefix="regmap-") as work:
        sources = os.path.join(source, "register-maps", "src")
        made_map = os.path.join(work, "victron.yaml")
        run(tool, "generate", "--sources", sources, "--output", made_map)
        same(made_map, os.path.join(source, "register-maps", "victron.yaml"), failures)
        run(tool, "export", "--map", made_map, "--sources", sources, "--out-dir", work)
        run(tool, "coverage", "--sources", sources, "--map", made_map, "--output", os.path.join(work, "coverage.md"))
        for name in ("registers.csv", "registers.md", "coverage.md"):
            same(os.path.join(work, name), os.path.join(source, "docs", name), failures)
        for xlsx in (os.path.join(work, "registers.xlsx"), os.path.join(source, "docs", "registers.xlsx")):
            xlsx_matches_csv(xlsx, os.path.join(source, "docs", "registers.csv"), failures)
        # What users read names no issue of this project's tracker ("withdrawn (issue 17)").
        for name in ("victron.yaml", "registers.csv", "registers.md", "coverage.md"):
            with open(os.path.join(work, name), encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    if re.search(r"\bissues? \d+", line, re.I):
                        failures.append("%s:%d cites an internal issue number (fix its source in register-maps/src): %s"
                                        % (name, number, line.strip()[:120]))
    for f in failures:
        print(f, file=sys.stderr)
    if failures:
        sys.exit(1)
    print("victron.yaml, registers.csv, registers.md and coverage.md are up to date; registers.xlsx says what registers.csv says")


if __name__ == "__main__":
    main()
