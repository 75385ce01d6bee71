"""README.md's "Scripting" section, run as printed, on the simulated site.

1. Every `$ venus-regmap ...` line of the README's transcript runs against the daemon and prints exactly
   the lines the README shows under it (standard output, or standard error for a refusal). `gx.local` is
   the daemon's address; the site's Multi is at instance 276, the Cerbo GX VE.Bus port that the README's
   `--unit 227` reaches (../shared/reference/unitid2di.csv: 227 -> 276), so the transcript needs no edit.
2. `read` prints `not available` for a missing value only from a server started with
   `--not-available max`; from a default server the same path reads 0, as on a GX device.

Usage: readme_scripting_test.py BUILD_DIR
"""
import os
import re
import subprocess
import sys

from sitelib import DEFAULT_SCENARIO, SOURCE, Checks, Site

BUILD = sys.argv[1]
TOOL = os.path.join(BUILD, "venus-regmap")
checks = Checks("README scripting")
check = checks.check


def regmap(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=60)


def transcript():
    """(arguments, expected output lines) of each `$ venus-regmap` line of the README's Scripting block."""
    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        block = f.read().split("## Scripting")[1].split("```")[1]
    steps = []
    for line in block.splitlines()[1:]:
        if line.startswith("$ venus-regmap "):
            steps.append((line[len("$ venus-regmap "):], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def split_args(command):
    """The README's command as arguments: words, and "quoted text" as one."""
    return [a[1:-1] if a.startswith('"') else a for a in re.findall(r'"[^"]*"|\S+', command)]


with Site(BUILD, prefix="vmd-readme.") as site:
    scenario = site.path("cerbo-site.yaml")
    with open(DEFAULT_SCENARIO) as f:
        original = f.read()
    check(original.count("/DeviceInstance: 257") == 1, "the default site has one Multi at instance 257")
    with open(scenario, "w") as f:
        f.write(original.replace("/DeviceInstance: 257", "/DeviceInstance: 276"))
    site.start_sim(scenario)
    _, port = site.start_server()
    _, max_port = site.start_server("--not-available", "max", log="max.log")

    steps = transcript()
    check(len(steps) == 6, "the README's transcript has its six commands: %d" % len(steps))
    for command, expected in steps:
        args = [a.replace("gx.local", "127.0.0.1:%d" % port) for a in split_args(command)]
        r = regmap(*args)
        printed = (r.stdout if r.returncode == 0 else r.stderr).splitlines()
        check(printed == expected, "venus-regmap %s prints %r: %r (exit %d)" % (command, expected, printed, r.returncode))
        check(r.returncode == (2 if "not sent" in "".join(expected) else 0),
              "venus-regmap %s exits %d as the README says" % (command, r.returncode))

    # /Dc/Battery/TimeToGo (846) is null in the scenario.
    r = regmap("read", "127.0.0.1:%d" % max_port, "system", "/Dc/Battery/TimeToGo")
    check(r.returncode == 0 and r.stdout == "not available\n",
          "read of a missing value from a --not-available max server prints 'not available': %r %r" % (r.stdout, r.stderr))
    r = regmap("read", "127.0.0.1:%d" % port, "system", "/Dc/Battery/TimeToGo", "--json")
    check(r.returncode == 0 and '"words": [0]' in r.stdout and "not available" not in r.stdout,
          "from a default server the same read is the word 0, not 'not available': %r" % r.stdout)

checks.finish()
