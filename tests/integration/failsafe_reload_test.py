"""docs/ess-mode3.md "Fail-safe": a reload (SIGHUP) while fail-safes are armed, end to end.

"On a reload (SIGHUP) the new map's rules are in force at once: an armed fail-safe whose register has
no fail-safe any more is disarmed (logged), one whose rule changed takes the new value and `after`
(counted from the last client write)". failsafe_test.py covers a write pending during the reload; this
test covers fail-safes already armed by accepted writes.

The daemon starts with an overlay arming 37 and 40 of the Multi (unit 246) after 6 s with 0 W. A client
writes both; about 2 s later a reload replaces the overlay: 37 has no fail-safe any more, 40 has 250 W
after 10 s. Then 37 is never written by the server (the log says it was disarmed), and 40 gets 250 W
(the new value) 10 s after the client's write (the new `after`, counted from the write: not the old
6 s, nor 10 s from the reload), read on D-Bus from the simulator's SET lines.

Usage: failsafe_reload_test.py BUILD_DIR
"""
import os
import re
import signal
import sys
import time

from sitelib import Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
VEBUS = "com.victronenergy.vebus.ttyO1"
L1, L2 = "/Hub4/L1/AcPowerSetpoint", "/Hub4/L2/AcPowerSetpoint"
checks = Checks("fail-safe reload")
check = checks.check


def overlay(path, rules):
    with open(path, "w") as f:
        f.write("amend:\n")
        for address, after, value in rules:
            f.write("  - {address: %d, failsafe: {after: %d, value: %d}}\n" % (address, after, value))


with Site(BUILD, prefix="vmd-failsafe-reload.") as site:
    site.start_sim()
    rules = site.path("failsafe.yaml")
    overlay(rules, [(37, 6, 0), (40, 6, 0)])
    server, port = site.start_server("--overlay", rules, "--log-level", "debug")

    def sets(path, value):
        return [l for l in site.set_lines() if l.startswith("SET %s %s d %s " % (VEBUS, path, value))]

    c = Connection(port)
    check(c.write(246, 37, 1000) is None and c.write(246, 40, 1000) is None, "the client writes 37 and 40")
    written = time.monotonic()
    check(wait_for(lambda: time.monotonic() - written >= 2.0, 3), "two seconds pass")
    overlay(rules, [(40, 10, 250)])
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "reload: map" in site.text("server.log"), 5), "the reload happens")
    reloaded = time.monotonic() - written
    check(reloaded < 5.0, "... before the old fail-safes were due (6 s): %.1f s after the write" % reloaded)
    check(wait_for(lambda: re.search(r"fail-safe of %s %s disarmed: register 37 " % (re.escape(VEBUS), L1),
                                     site.text("server.log")), 5), "the log says 37's fail-safe was disarmed")

    fired = wait_for(lambda: sets(L2, "250"), 25)
    at = time.monotonic() - written
    check(bool(fired), "40's fail-safe writes the new value, 250 W, to %s" % L2)
    check(not sets(L2, "0"), "... never the old value 0")
    check(9.9 <= at < 10.0 + reloaded - 0.5,
          "... 10 s after the client's write (the new after, counted from the write, not from the reload at "
          "%.1f s): %.1f s" % (reloaded, at))
    check(not sets(L1, "0"), "37, disarmed, was never written by the server")
    check(re.search(r"fail-safe: no client wrote register 40 \(%s %s\) for 10 s: writing 250" % (re.escape(VEBUS), L2),
                    site.text("server.log")), "the warning names register 40, the new after and value")
    check(c.read(246, 37) == [1000], "37 still holds the client's 1000 W")
    c.close()
    check(site.stop(server) == 0, "the daemon stops with status 0")

checks.finish(lambda: site.text("server.log")[-3000:])
