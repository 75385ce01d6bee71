"""Services without a /DeviceInstance (hub4 and system: instance 0 by their type) restarting with a slow
load, end to end (issue 22, test gaps): docs/semantics.md, "Unit IDs": "A service is served only once
it has loaded: while its GetItems (or the fallbacks) is pending, its unit answers exception 10, it
hides no other service and no write goes to it."

The tank services of the churn tests (MirrorTest.cpp) have no /DeviceInstance until loaded, so they
are never served early even when a restarted service is indexed before its load; hub4 and system
would be, at unit 100 with empty values. Here both leave, come back answering their reads 5 s late,
and meanwhile are read and written at unit 100: exception 10, nothing sent, while the Multi at unit
246 goes on being served and written. Once loaded, their values read and their writes are sent.

Usage: restart_loading_test.py BUILD_DIR
"""
import struct
import sys

from sitelib import Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
checks = Checks("restarted instanceless services while loading")
check = checks.check

BASE = """\
services:
  - name: com.victronenergy.vebus.ttyO1
    paths:
      /DeviceInstance: 257
      /Mode: {value: 3, type: u, writable: true}
"""
HUB4 = """\
services:
  - name: com.victronenergy.hub4
%s    paths:
      /PvPowerLimiterActive: 1
      /Overrides/Setpoint: {value: 100.0, type: d, writable: true}
      /Pv/Disable: 0
"""
SYSTEM = """\
services:
  - name: com.victronenergy.system
%s    paths:
      /Serial: c0619ab2f1e4
      /Relay/0/State: {value: 0, type: i, writable: true}
"""
SLOW = "    read-delay-ms: 5000\n"
NAMES = {"hub4": "com.victronenergy.hub4", "system": "com.victronenergy.system"}


def write_multiple(c, unit, address, words):
    """FC 16: None when accepted, or the exception code."""
    pdu = struct.pack(">BHHB%dH" % len(words), 16, address, len(words), 2 * len(words), *words)
    reply = c.request(unit, pdu)
    return reply[1] if reply[0] & 0x80 else None


def sets(site, log):
    return [line for line in site.text(log).splitlines() if line.startswith("SET ")]


with Site(BUILD, prefix="vmd-restart-loading.") as site:
    def scenario(name, text):
        path = site.path(name)
        with open(path, "w") as f:
            f.write(text)
        return path

    site.start_sim(scenario("base.yaml", BASE))
    hub4 = site.start_sim(scenario("hub4.yaml", HUB4 % ""), log="hub4.log")
    system = site.start_sim(scenario("system.yaml", SYSTEM % ""), log="system.log")
    _, port = site.start_server()
    c = Connection(port)
    log = lambda: site.text("server.log")
    check(wait_for(lambda: c.read(100, 2709) == [1] and c.read(100, 806) == [0], 10),
          "first start: hub4 2709 and system 806 read at unit 100")

    site.stop(hub4)
    site.stop(system)
    check(wait_for(lambda: all("service left: %s" % n in log() for n in NAMES.values()), 10), "both have left")
    check(c.read(100, 2709) == 10 and c.read(100, 806) == 10, "away: exception 10 at unit 100")

    site.start_sim(scenario("hub4-slow.yaml", HUB4 % SLOW), log="hub4-slow.log")
    site.start_sim(scenario("system-slow.yaml", SYSTEM % SLOW), log="system-slow.log")
    check(wait_for(lambda: "READ com.victronenergy.hub4 GetItems delayed" in site.text("hub4-slow.log") and
                   "READ com.victronenergy.system GetItems delayed" in site.text("system-slow.log"), 10),
          "back: the daemon's GetItems of both is pending (answered 5 s late)")

    # While both load: their unit answers exception 10 for reads and writes, and nothing reaches them.
    loading = {
        "hub4 2709 read": c.read(100, 2709),
        "hub4 2716-2717 read (an int32)": c.read(100, 2716, 2),
        "hub4 2716 written (FC 16)": write_multiple(c, 100, 2716, [0, 200]),
        "hub4 2717 written (FC 6)": c.write(100, 2717, 300),
        "system 800-805 read (a string)": c.read(100, 800, 6),
        "system 806 written (FC 6)": c.write(100, 806, 1),
        "system 806 written (FC 16)": write_multiple(c, 100, 806, [1]),
    }
    still_loading = not any("REPLY %s GetItems" % n in site.text("%s-slow.log" % s) for s, n in NAMES.items())
    check(still_loading, "... these requests were all answered before either load did")
    for what, answer in loading.items():
        check(answer == 10, "while loading: %s answers exception 10: %s" % (what, answer))
    check(sets(site, "hub4-slow.log") == [] and sets(site, "system-slow.log") == [],
          "while loading: no SetValue reached hub4 or system: %s" % (sets(site, "hub4-slow.log") +
                                                                    sets(site, "system-slow.log")))
    # Another unit's service is served and written meanwhile.
    check(c.read(246, 33) == [3], "while loading: the Multi's /Mode still reads at unit 246")
    check(c.write(246, 33, 2) is None, "while loading: the Multi's /Mode is still written at unit 246")

    # Loaded: served again, and written.
    check(wait_for(lambda: c.read(100, 2709) == [1] and c.read(100, 806) == [0], 20),
          "loaded: hub4 2709 and system 806 read again at unit 100")
    check(write_multiple(c, 100, 2716, [0, 200]) is None and c.write(100, 806, 1) is None,
          "loaded: hub4 2716 and system 806 are written")
    check(wait_for(lambda: len(sets(site, "hub4-slow.log")) == 1 and len(sets(site, "system-slow.log")) == 1, 5),
          "loaded: one SetValue each: %s" % (sets(site, "hub4-slow.log") + sets(site, "system-slow.log")))
    c.close()

checks.finish(lambda: site.text("server.log")[-4000:])
