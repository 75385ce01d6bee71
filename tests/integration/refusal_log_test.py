"""What the log says of requests (issue 23: logs as documented): at debug level one line for each
request and one for its answer; a refused write names the register, its D-Bus path, the value
written and the reason: a read-only register, a value out of range, --write-allow, --read-only,
and the setting that made the server read-only as the user wrote it (command line or config file).

Usage: refusal_log_test.py BUILD_DIR
"""
import os
import re
import struct
import sys

from sitelib import Checks, Connection, Site, waiting

build = sys.argv[1]
site = Site(build, prefix="vmd-refusal-log.")
checks = Checks("refusal log")
check = checks.check
wait_for = waiting(10.0)


def logged(log, pattern):
    return wait_for(lambda: re.search(pattern, site.text(log), re.M) is not None)


def refused(port, address, value, unit=100):
    """One write on a connection of its own (a connection's refusals are rate-limited)."""
    c = Connection(port)
    code = c.write(unit, address, value)
    c.close()
    return code


try:
    site.start_bus()
    site.start_sim()
    _, port = site.start_server("--log-level", "debug", "--write-allow", "127.0.0.0/8")

    c = Connection(port)
    c.read(100, 2902)
    c.close()
    check(logged("server.log", r"request transaction \d+ unit 100 function 3 address 2902 quantity 1 \(5 bytes\)$"),
          "debug: one line for the request")
    check(logged("server.log", r"answer transaction \d+: 4 bytes$"), "debug: one line for its answer")

    check(refused(port, 840, 1) == 2, "a write to read-only 840 answers exception 2")
    check(logged("server.log", r"write refused: .* address 840 quantity 1: exception 2: register 840 "
                               r"\(system /Dc/Battery/Voltage\) words \[0x0001\]: register 840 is read-only$"),
          "its log line names the register, its path, the words and why")
    # Refusals are logged once per 10 s for the whole server (docs/protocol.md): one daemon each.
    _, other = site.start_server(log="range.log")
    check(refused(other, 2902, 4) == 3, "Hub4Mode 4 answers exception 3")
    check(logged("range.log", r"write refused: .* exception 3: register 2902 \(settings "
                              r"/Settings/CGwacs/Hub4Mode\) words \[0x0004\]: the value does not fit register 2902"),
          "its log line says the value does not fit")

    # A daemon that lets no one write: --write-allow names the rule.
    _, strict = site.start_server("--write-allow", "10.0.0.0/8", log="strict.log")
    check(refused(strict, 2700, 25) == 2, "outside --write-allow: exception 2")
    check(logged("strict.log", r"write refused: .*register 2700 .* -> com\.victronenergy\.settings "
                               r"/Settings/CGwacs/AcPowerSetPoint = 25: the client's address is not in --write-allow$"),
          "its log line names the D-Bus path, the value and --write-allow")

    # Read-only from the command line, then from a config file: each named as the user wrote it.
    _, ro = site.start_server("--read-only", log="ro.log")
    check(refused(ro, 2700, 25) == 2, "--read-only: exception 2")
    check(logged("ro.log", r"write refused: .*register 2700 \(settings /Settings/CGwacs/AcPowerSetPoint\) "
                           r"words \[0x0019\]: writes refused by --read-only$"),
          "its log line says --read-only refused it")
    config = site.path("ro.yaml")
    with open(config, "w") as f:
        f.write("read-only: true\n")
    _, rc = site.start_server(config=config, log="rc.log")
    check(refused(rc, 2700, 25) == 2, "read-only: true in a config file: exception 2")
    check(logged("rc.log", r"writes refused by 'read-only: true' in %s$" % re.escape(config)),
          "the write switch line names the config file's key, not --read-only")
    check(logged("rc.log", r"write refused: .*: writes refused by 'read-only: true' in %s$" % re.escape(config)),
          "and so does the refused write")
finally:
    site.stop_all()
checks.finish(lambda: "\n".join("--- %s\n%s" % (l, site.text(l)[-3000:]) for l in ("server.log", "range.log", "strict.log", "ro.log", "rc.log")))
