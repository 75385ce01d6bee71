"""venus-regmap reports each problem of a broken map or broken sources at its file and line.

    bad_input.py VENUS_REGMAP
"""
import os
import subprocess
import sys
import tempfile

failures = []


def run(*args):
    return subprocess.run(args, capture_output=True, text=True)


def expect(tool, work, name, text, problems, notes=()):
    """Validates a map holding `text`; `problems` are the exact lines expected on stderr (exit 2)."""
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    result = run(tool, "validate", path)
    want = ["%s:%s" % (path, p) for p in problems]
    got = [line for line in result.stderr.splitlines() if line.startswith(path)]
    status = 2 if problems else 0
    if result.returncode != status:
        failures.append("%s: exit %d, expected %d\n%s" % (name, result.returncode, status, result.stderr))
    if got != want:
        failures.append("%s: problems\n  %s\nexpected\n  %s" % (name, "\n  ".join(got), "\n  ".join(want)))
    for note in notes:
        if "%s:%s" % (path, note) not in result.stdout:
            failures.append("%s: note '%s' missing from\n%s" % (name, note, result.stdout))


def check_maps(tool, work):
    expect(tool, work, "clean.yaml",
           "unit-ids:\n"
           "  - {unit: 100, instance: 0}\n"
           "registers:\n"
           "  - {address: 10, service: battery, path: /Soc, type: uint16, scale: 10, dbus-type: d, access: R}\n"
           "  - {address: 13, service: battery, path: /Dc/0/Voltage, type: uint16, scale: 100, dbus-type: d, access: R}\n",
           [], ["5: note: words 11..12 are a hole inside the battery block"])
    expect(tool, work, "overlap.yaml",
           "registers:\n"
           "  - {address: 10, service: battery, path: /A, type: uint32, dbus-type: d, access: R}\n"
           "  - {address: 11, service: battery, path: /B, type: uint16, dbus-type: d, access: R}\n",
           ["3: register 11 overlaps register 10 (battery, %s:2)" % os.path.join(work, "overlap.yaml")])
    expect(tool, work, "types.yaml",
           "registers:\n"
           "  - {address: 1, service: system, path: /Serial, type: uint16, dbus-type: s, access: R}\n"
           "  - {address: 2, service: system, path: /Name, type: \"string[4]\", dbus-type: d, access: R}\n"
           "  - {address: 6, service: system, path: /Mode, type: uint16, access: W}\n"
           "  - {address: 7, service: system, type: \"reserved[2]\", path: /X, access: R}\n"
           "  - {address: 9, service: system, type: uint32, access: R, compute: utc-time}\n"
           "  - {address: 11, service: system, path: /T, type: \"string[2]\", scale: 10, access: R}\n",
           ["2: dbus-type 's' (string) on a uint16 register",
            "3: a string register needs dbus-type 's', not 'd'",
            "4: a writable register needs 'dbus-type'",
            "5: a reserved register has no path",
            "6: compute 'utc-time' needs type uint64, not uint32",
            "7: a string[2] register cannot have a scale (10)"])
    expect(tool, work, "enums.yaml",
           "registers:\n"
           "  - {address: 1, service: vebus, path: /Mode, type: uint16, dbus-type: i, access: W,\n"
           "     enum: {-1: Bad, 1: On}}\n"
           "  - {address: 2, service: vebus, path: /P, type: int16, scale: 10, dbus-type: d, access: W, range: [0, 5000]}\n"
           "  - {address: 3, service: vebus, path: /Name, type: \"string[2]\", access: R, enum: {0: x}}\n",
           ["3: enum value -1 does not fit uint16 with scale 1",
            "4: range [0, 5000] does not fit int16 with scale 10",
            "5: a string[2] register cannot have enum texts"])
    expect(tool, work, "units.yaml",
           "unit-ids:\n"
           "  - {unit: 100, instance: 0}\n"
           "  - {unit: 7, instance: 7}\n"
           "  - {unit: 101, instance: 0}\n"
           "  - {unit: 100, instance: 5}\n"
           "  - {unit: 0, instance: 3}\n"
           "registers: []\n",
           ["3: unit 7 maps to itself: the row has no effect",
            "4: instance 0 is already reached through unit 100 (%s:2)" % os.path.join(work, "units.yaml"),
            "5: unit 100 is already mapped at %s:2" % os.path.join(work, "units.yaml"),
            "6: unit 0 always stands for instance 0; it takes no row"])
    expect(tool, work, "syntax.yaml", "registers:\n  - {address: 1, service: x\n", ["3: YAML syntax: end of map flow not found"])


def check_sources(tool, work):
    src = os.path.join(work, "src")
    os.makedirs(src)
    files = {
        "paths.yaml": "services:\n"
                      "  - service: battery\n"
                      "    title: Batteries\n"
                      "    units: its instance\n"
                      "    paths:\n"
                      "      - {path: /Soc, description: State of charge, unit: \"%\"}\n"
                      "      - {path: /Dc/0/Voltage, description: Voltage, unit: V DC}\n"
                      "      - {path: /Batteries, description: List, kind: array, exclude: array-valued}\n"
                      "      - {path: /Forgotten, description: Nobody maps me}\n"
                      "      - {path: /Mode, description: Mode, access: W}\n"
                      "      - {path: \"/Out/#/State\", description: Output on, access: W}\n",
        "published.yaml": "registers:\n"
                          "  - {address: 10, service: battery, path: /Soc, type: uint16, scale: 10, dbus-type: d, access: W}\n"
                          "  - {address: 11, service: battery, path: /Unknown, type: uint16, dbus-type: d, access: R}\n"
                          "  - {address: 12, service: battery, path: /Batteries, type: uint16, dbus-type: d, access: R}\n",
        "extensions.yaml": "blocks:\n"
                           "  - {service: battery, first: 40000, last: 40009}\n"
                           "registers:\n"
                           "  - {address: 40010, service: battery, path: /Dc/0/Voltage, type: uint16, scale: 100, dbus-type: d, access: R}\n"
                           "  - {address: 40005, service: battery, path: /Mode, type: uint16, dbus-type: i, access: W}\n",
        "unit-ids.yaml": "unit-ids:\n  - {unit: 100, instance: 0}\n",
    }
    for name, text in files.items():
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    out = os.path.join(work, "never.yaml")
    result = run(tool, "generate", "--sources", src, "--output", out)
    published = os.path.join(src, "published.yaml")
    extensions = os.path.join(src, "extensions.yaml")
    want = ["%s:4: register 40010 lies outside the battery block 40000..40009" % extensions,
            "%s:5: writable register 40005 needs 'checked': the software its D-Bus type and range were taken "
            "from, or 'unverified'" % extensions,
            "%s:2: register 10 is writable but the path list does not mark '/Soc' writable" % published,
            "%s:3: path '/Unknown' of service 'battery' is not in the path list" % published,
            "%s:4: path '/Batteries' is excluded in the path list (array-valued) but register 12 serves it" % published]
    got = [line for line in result.stderr.splitlines() if line.startswith(src)]
    if result.returncode != 2 or got != want or os.path.exists(out):
        failures.append("generate on broken sources: exit %d\n  %s\nexpected\n  %s"
                        % (result.returncode, "\n  ".join(got), "\n  ".join(want)))

    # coverage: a path without a register and without a reason is a problem at its line.
    with open(os.path.join(src, "published.yaml"), "w") as f:
        f.write("registers:\n"
                "  - {address: 10, service: battery, path: /Soc, type: uint16, scale: 10, dbus-type: d, access: R}\n")
    with open(extensions, "w") as f:
        f.write("blocks:\n  - {service: battery, first: 40000, last: 40099}\nregisters:\n"
                "  - {address: 40000, service: battery, path: /Dc/0/Voltage, type: uint16, scale: 100, dbus-type: d, access: R}\n"
                "  - {address: 40005, service: battery, path: /Mode, type: uint16, dbus-type: i, access: W, checked: \"unverified: no driver\"}\n"
                "  - {address: 40006, service: battery, path: \"/Out/#1/State\", type: uint16, dbus-type: i, access: W, checked: a test driver}\n"
                "  - {address: 40007, service: battery, path: \"/Out/#2/State\", type: uint16, dbus-type: i, access: W, checked: a test driver}\n")
    result = run(tool, "generate", "--sources", src, "--output", out)
    if result.returncode != 0:
        failures.append("generate on repaired sources: exit %d\n%s" % (result.returncode, result.stderr))
        return
    with open(out) as f:
        made = f.read()
    for line in ('remarks: "D-Bus type and range unverified against a device (no driver)"',
                 'path: "/Out/#1/State", type: "uint16", scale: 1, dbus-type: i, access: W, description: "Output slot 1: '
                 'Output on", remarks: "D-Bus type and range from a test driver"'):
        if line not in made:
            failures.append("generate: '%s' missing from the map:\n%s" % (line, made))
    cov = os.path.join(work, "coverage.md")
    result = run(tool, "coverage", "--sources", src, "--map", out, "--output", cov)
    want = "%s:9: path '/Forgotten' of 'battery' is not mapped: it has no register and no reason; give it one or add 'exclude'" % \
        os.path.join(src, "paths.yaml")
    if result.returncode != 2 or want not in result.stderr.splitlines() or not os.path.exists(cov):
        failures.append("coverage: exit %d, stderr:\n%s\nexpected the line\n%s" % (result.returncode, result.stderr, want))
        return
    with open(cov) as f:
        made = f.read()
    for line in ("3 writable registers from 40000 up: 2 take their D-Bus type and range from the software that "
                 "publishes the path",
                 "| 40005 | battery | /Mode | unverified: no driver |",
                 "| /Out/#/State | 40006, 40007 |  |"):
        if line not in made:
            failures.append("coverage: '%s' missing from\n%s" % (line, made))


def check_usage(tool):
    for args, status in ((["frobnicate"], 2), (["generate", "--bogus", "x"], 2), (["export", "--help"], 0),
                         (["--help"], 0), ([], 2)):
        result = run(tool, *args)
        if result.returncode != status:
            failures.append("venus-regmap %s: exit %d, expected %d" % (" ".join(args), result.returncode, status))


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="regmap-bad-") as work:
        check_maps(tool, work)
        check_sources(tool, work)
        check_usage(tool)
    for f in failures:
        print(f, file=sys.stderr)
    if failures:
        sys.exit(1)
    print("every problem was reported at its file and line")


if __name__ == "__main__":
    main()
