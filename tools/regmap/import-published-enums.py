#!/usr/bin/env python3
"""Records the enum meanings of the published register list in register-maps/src/published.yaml.

    tools/regmap/import-published-enums.py REFERENCE_DIR [PUBLISHED_YAML]

For every row of REFERENCE_DIR/attributes.csv whose fourth column lists values ("0=Off;1=On",
ranges "51-52=..." give each value of the range), the register of that address in published.yaml
gets `published-enum: {value: "meaning", ...}`, in the list's order, replacing any earlier one.
`venus-regmap generate` makes these the register's meanings and adds the path list's other values,
marked (docs/registers.md). Run it again when the published list changes; it touches nothing else.
"""
import csv
import json
import os
import re
import sys

ITEM = re.compile(r"\s*(-?\d+)(?:\s*-\s*(\d+))?\s*=(.*)")


def published_enums(reference):
    enums = {}
    with open(os.path.join(reference, "attributes.csv"), newline="") as f:
        for field in csv.reader(f):
            if len(field) < 8 or not field[4].isdigit() or "=" not in field[3]:
                continue
            items = {}
            for part in field[3].split(";"):
                m = ITEM.fullmatch(part)
                if not m:
                    sys.exit("%s: register %s: '%s' is not VALUE=TEXT" % (reference, field[4], part))
                first = int(m.group(1))
                last = int(m.group(2)) if m.group(2) else first
                for value in range(first, last + 1):
                    items.setdefault(value, m.group(3).strip())  # the first meaning of a value wins
            enums[int(field[4])] = items
    return enums


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    reference = sys.argv[1]
    target = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(__file__), "..", "..", "register-maps", "src", "published.yaml")
    enums = published_enums(reference)
    lines = open(target).read().split("\n")
    done = set()
    for i, line in enumerate(lines):
        m = re.match(r"  - \{address: (\d+),", line)
        if not m or int(m.group(1)) not in enums:
            continue
        address = int(m.group(1))
        line = re.sub(r", published-enum: \{[^{}]*\}", "", line)
        rendered = ", ".join("%d: %s" % (v, json.dumps(t, ensure_ascii=False))
                             for v, t in enums[address].items())
        assert line.endswith("}")
        lines[i] = line[:-1] + ", published-enum: {" + rendered + "}}"
        done.add(address)
    missing = sorted(set(enums) - done)
    if missing:
        sys.exit("no register in %s for published address(es) %s" % (target, missing))
    open(target, "w").write("\n".join(lines))
    print("%d registers carry the published list's enum" % len(done))


main()
