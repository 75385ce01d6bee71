#!/usr/bin/env python3
"""Runs the README's "Scripting" transcript as printed: each `$ venus-regmap ...` line, with the demo's
127.0.0.1:5020 pointed at PORT (the only change), must print exactly the lines the README shows under it
(standard output, or standard error for a refusal) and exit 0 (2 for a value "not sent").

    readme-transcript.py README PORT [RUNNER...]

RUNNER is the command that runs venus-regmap (default: venus-regmap from PATH), for example
`chroot ROOT venus-regmap` for the installed one of a fresh root. Exit status 1 if a line differs.
"""
import re
import subprocess
import sys


def transcript(readme):
    """(command, expected output lines) of each `$ venus-regmap` line of the README's Scripting block."""
    with open(readme, encoding="utf-8") as f:
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


def main():
    readme, port, runner = sys.argv[1], sys.argv[2], sys.argv[3:] or ["venus-regmap"]
    steps = transcript(readme)
    failures = 0
    if len(steps) < 5:
        print("FAIL: the README's transcript has %d venus-regmap commands, expected at least 5" % len(steps))
        return 1
    for command, expected in steps:
        args = [a.replace("127.0.0.1:5020", "127.0.0.1:" + port) for a in split_args(command)]
        r = subprocess.run(runner + args, capture_output=True, text=True, timeout=60)
        printed = (r.stdout if r.returncode == 0 else r.stderr).splitlines()
        status = 2 if "not sent" in "".join(expected) else 0
        if printed == expected and r.returncode == status:
            print("ok   $ venus-regmap %s" % command)
        else:
            failures += 1
            print("FAIL $ venus-regmap %s\n  expected (exit %d): %r\n  printed (exit %d): %r\n  stderr: %r"
                  % (command, status, expected, r.returncode, printed, r.stderr))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
