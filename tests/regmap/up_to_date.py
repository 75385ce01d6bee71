"""The committed map and documents are what `venus-regmap` makes of the committed sources.

    up_to_date.py VENUS_REGMAP SOURCE_DIR

Runs generate, export and coverage into a scratch directory and compares the results with
register-maps/victron.yaml, docs/registers.csv, docs/registers.md and docs/coverage.md byte for byte.
docs/registers.xlsx is checked to be a zip with the sheets "Field list" and "Unit ID mapping".
"""
import difflib
import os
import subprocess
import sys
import tempfile
import zipfile


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
            try:
                with zipfile.ZipFile(xlsx) as z:
                    workbook = z.read("xl/workbook.xml").decode("utf-8")
                for sheet in ("Field list", "Unit ID mapping"):
                    if 'name="%s"' % sheet not in workbook:
                        failures.append("%s: no sheet '%s'" % (xlsx, sheet))
            except (OSError, KeyError, zipfile.BadZipFile) as e:
                failures.append("%s: not a readable xlsx (%s)" % (xlsx, e))
    for f in failures:
        print(f, file=sys.stderr)
    if failures:
        sys.exit(1)
    print("victron.yaml, registers.csv, registers.md and coverage.md are up to date; registers.xlsx is sound")


if __name__ == "__main__":
    main()
