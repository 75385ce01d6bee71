#!/usr/bin/env python3
"""What the tests import and run, derived from their sources (so a new import or tool is found
without a list to keep up to date). Prints one need a line:

    import STATEMENT     a Python import statement of a test, example or tool script (not of a
                         module of the project itself), e.g. "from pymodbus.client import ModbusTcpClient"
    program NAME         a program that a test script, a test's CMake command, a Python script or a
                         C++ test tool starts by name (absolute paths are printed as they are)

    test-needs.py SOURCE_DIR

Programs are found at command position in the shell scripts of tests/, scripts/ and .ci/ (the
first word of a line or after | ; && || $( ! and of wrappers such as exec, stdbuf, timeout), in
`command -v NAME` and `for tool in NAMES` lists, in CMake COMMANDs, in Python lists passed to
subprocess, and in C++ exec calls. Only names that this machine resolves with `which` are printed:
the point is that a fresh machine with scripts/setup's packages has what this one has.
"""

import ast
import os
import re
import shutil
import sys

SRC = os.path.abspath(sys.argv[1])
SKIP_DIRS = {".git", "build", "debian", "obj-x86_64-linux-gnu", "__pycache__", "corpus"}
SHELL_WORDS = set("""
  if then else elif fi for in do done while until case esac function return exit break continue
  local export declare readonly set unset shift trap source eval exec wait kill echo printf read
  cd pwd true false test [ [[ ]] ]] { } ! time command type builtin let mapfile readarray getopts
  umask ulimit alias hash jobs fg bg disown pushd popd dirs shopt compgen complete caller enable
  logout times suspend coproc select
""".split())
WRAPPERS = {"exec", "time", "nice", "stdbuf", "timeout", "env", "sudo", "nohup", "setsid", "setpriv",
            "command", "chroot", "nsenter", "unshare", "flock"}


def files(top, suffixes):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith("build-")]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if name.endswith(suffixes):
                yield path


def is_shell(path):
    if path.endswith(".sh"):
        return True
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
    except (UnicodeDecodeError, OSError):
        return False
    return first.startswith("#!") and ("bash" in first or first.rstrip().endswith("/sh"))


def shell_files():
    for top in ("tests", "scripts", ".ci"):
        for path in files(os.path.join(SRC, top), ("",)):
            if is_shell(path):
                yield path


NAME = re.compile(r"^[a-z][a-z0-9_.+-]*$")


def shell_programs(path):
    text = open(path, encoding="utf-8").read()
    functions = set(re.findall(r"^\s*([a-z_][a-z0-9_-]*)\s*\(\)", text, re.M))
    found = set()
    heredoc = None
    for raw in text.splitlines():
        if heredoc:
            if raw.strip() == heredoc:
                heredoc = None
            continue
        m = re.search(r"<<-?\s*['\"]?([A-Z_]+)['\"]?", raw)
        if m:
            heredoc = m.group(1)
        line = re.sub(r"(^|\s)#.*$", "", raw)             # comments
        line = re.sub(r"'[^']*'", "''", line)              # single-quoted text is never a command,
        inner = []                                         # nor double-quoted text, but its $( ... )
        line = re.sub(r'"[^"]*"', lambda m: inner.extend(re.findall(r"\$\(([^()]*)\)", m.group(0))) or '""', line)
        line = " ; ".join([line] + inner)
        for word in re.findall(r"command -v ([a-z][a-z0-9_.+-]*)", line):
            found.add(word)
        m = re.search(r"for tool in ([a-z0-9_. +-]+);", line)
        if m:
            found.update(m.group(1).split())
        # Words at command position.
        for segment in re.split(r"\|\||&&|[|;(]|\$\(|\bthen\b|\bdo\b|\belse\b|\bif\b|\bwhile\b|\buntil\b|!", line):
            words = segment.split()
            while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
                words.pop(0)                                # VAR=value command
            while words:
                word = words.pop(0)
                if word in WRAPPERS and word not in SHELL_WORDS:
                    found.add(word)
                    while words and (words[0].startswith("-") or re.match(r"^[0-9.]+[smh]?$", words[0])):
                        words.pop(0)
                    continue
                if word in ("exec", "time", "command", "!"):
                    continue
                if NAME.match(word) and word not in SHELL_WORDS and word not in functions:
                    found.add(word)
                break
    return found


def cmake_programs(path, targets):
    found = set()
    text = open(path, encoding="utf-8").read()
    for word in re.findall(r"\bCOMMAND\s+([^\s)]+)", text):
        if word.startswith("/") or (NAME.match(word) and word not in targets):
            found.add(word)
    for word in re.findall(r"\b(?:COMMAND|--)\s+(/usr/bin/[a-z0-9_.+-]+|/bin/[a-z0-9_.+-]+)", text):
        found.add(word)
    return found


def python_needs(path):
    imports, programs = set(), set()
    try:
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
    except SyntaxError as e:
        sys.exit(f"{path}: {e}")
    here = os.path.dirname(path)

    def local(module):
        """A module of the project: beside the importing file, or the tests' shared helpers
        (tests/integration/sitelib.py, which tests in other directories put on their sys.path)."""
        top = module.split(".")[0]
        for where in (here, os.path.join(SRC, "tests", "integration")):
            if os.path.exists(os.path.join(where, top + ".py")) or os.path.isdir(os.path.join(where, top)):
                return True
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not local(alias.name):
                    imports.add(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and not local(node.module):
                names = ", ".join(a.name for a in node.names if a.name != "*") or None
                imports.add(f"from {node.module} import {names}" if names else f"import {node.module}")
        elif isinstance(node, ast.List) and node.elts:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and NAME.match(first.value):
                programs.add(first.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "which" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                programs.add(arg.value)
    return imports, programs


def main():
    targets = set()
    for path in files(SRC, ("CMakeLists.txt",)):
        targets.update(re.findall(r"add_executable\(\s*([A-Za-z0-9_.+-]+)", open(path, encoding="utf-8").read()))
    programs, imports = set(), set()
    for path in shell_files():
        programs |= shell_programs(path)
    for path in files(os.path.join(SRC, "tests"), ("CMakeLists.txt",)):
        programs |= cmake_programs(path, targets)
    for top in ("tests", "examples", "tools"):
        for path in files(os.path.join(SRC, top), (".py",)):
            i, p = python_needs(path)
            imports |= i
            programs |= p
    for top in ("tests", "tools"):
        for path in files(os.path.join(SRC, top), (".cpp",)):
            programs.update(re.findall(r"exec[lv]p?e?\(\s*\"([a-z][a-z0-9_.+-]*)\"", open(path, encoding="utf-8").read()))
    for stmt in sorted(imports):
        print(f"import {stmt[len('import '):]}" if stmt.startswith("import ") else stmt)
    for name in sorted(programs):
        if name in targets or name.startswith("venus-"):
            continue                                        # built by the project
        if name.startswith("/") and os.path.exists(name) or not name.startswith("/") and shutil.which(name):
            print(f"program {name}")


main()
