#!/usr/bin/env python3
"""The committed bench site is what gen-bench-scenario.py makes from the published register list.

    bench_scenario.py SOURCE_DIR       (exit 77, skipped, when the reference list is not there;
                                        with CI=true that fails instead)
"""

import os
import subprocess
import sys
import tempfile

source = sys.argv[1]
attributes = os.path.join(source, "..", "shared", "reference", "attributes.csv")
committed = os.path.join(source, "tools", "venus-sim", "scenarios", "bench-50x100.yaml")
if not os.path.exists(attributes):
    if os.environ.get("CI") == "true":
        sys.exit(f"FAIL: no {attributes} (CI=true: a test that cannot run fails instead of skipping)")
    print(f"SKIP: no {attributes}")
    sys.exit(77)
with tempfile.TemporaryDirectory() as work:
    fresh = os.path.join(work, "bench.yaml")
    subprocess.run([sys.executable, os.path.join(source, "tools", "venus-bench", "gen-bench-scenario.py"),
                    "--attributes", attributes, "--output", fresh], check=True, timeout=60)
    with open(fresh, encoding="utf-8") as a, open(committed, encoding="utf-8") as b:
        if a.read() != b.read():
            sys.exit(f"{committed} differs from what gen-bench-scenario.py makes: regenerate it")
print("the bench scenario is up to date")
