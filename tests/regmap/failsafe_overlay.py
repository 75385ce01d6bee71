"""The shipped fail-safe overlay covers every ESS mode-3 power set point of the published list.

    failsafe_overlay.py VENUS_MODBUSD SOURCE_DIR

The published list (../shared/reference/attributes.csv) is the oracle: every writable register whose
path is a mode-3 power set point (/Hub4/Ln/AcPowerSetpoint, /Overrides/Setpoint, /Ess/AcPowerSetpoint)
must have a fail-safe of 0 W after 60 s in register-maps/examples/ess-mode3-failsafe.yaml, and no other
register; the daemon's --check must accept the overlay and count those fail-safes.
"""
import csv
import os
import re
import subprocess
import sys

SET_POINT = re.compile(r"^(/Hub4/L[123]/AcPowerSetpoint|/Overrides/Setpoint|/Ess/AcPowerSetpoint)$")


def main():
    daemon, source = sys.argv[1], sys.argv[2]
    reference = os.path.join(source, "..", "shared", "reference", "attributes.csv")
    overlay = os.path.join(source, "register-maps", "examples", "ess-mode3-failsafe.yaml")
    if not os.path.exists(reference):
        message = "%s is absent: the overlay cannot be checked against the published list" % reference
        if os.environ.get("CI") == "true":
            sys.exit("FAIL: " + message)
        print("SKIP: " + message)
        sys.exit(77)
    with open(reference, newline="") as f:
        expected = {int(row[4]) for row in csv.reader(f) if len(row) >= 8 and row[7] == "W" and SET_POINT.match(row[1])}
    rules = {}
    with open(overlay) as f:
        for number, line in enumerate(f, start=1):
            m = re.match(r"\s*- \{address: (\d+), failsafe: \{after: (\d+), value: (-?\d+)\}\}\s*$", line)
            if m:
                rules[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
            elif line.strip().startswith("- "):
                sys.exit("FAIL: %s:%d: a rule this test does not understand: %s" % (overlay, number, line.strip()))
    failures = []
    if set(rules) != expected:
        failures.append("the overlay covers %s; the published mode-3 set points are %s (missing %s, extra %s)"
                        % (sorted(rules), sorted(expected), sorted(expected - set(rules)), sorted(set(rules) - expected)))
    for address, rule in sorted(rules.items()):
        if rule != (60, 0):
            failures.append("register %d: fail-safe %r, expected 0 W after 60 s as the overlay's header says" % (address, rule))
    shipped = os.path.join(source, "register-maps", "victron.yaml")
    check = subprocess.run([daemon, "--config", "/dev/null", "--check", "--map", shipped, "--overlay", overlay],
                           capture_output=True, text=True)
    if check.returncode != 0 or "%d with a fail-safe" % len(expected) not in check.stdout:
        failures.append("--check with the overlay: exit %d, %r" % (check.returncode, check.stdout + check.stderr))
    for failure in failures:
        print("FAIL: " + failure, file=sys.stderr)
    if failures:
        sys.exit(1)
    print("the fail-safe overlay covers the %d published mode-3 set points with 0 W after 60 s" % len(expected))


if __name__ == "__main__":
    main()
