"""The shipped fail-safe overlay in the running daemon (docs/ess-mode3.md "Fail-safe"): "writes 0 W to
every mode-3 set point (37, 40, 41, 96, 98, 100, 2716, 4610, 4922) when no client has written it".

register-maps/examples/ess-mode3-failsafe.yaml is used as shipped, but for its `after`: 60 s becomes 2 s
(tests/regmap/failsafe_overlay.py checks the 60 s and the list of registers against the published list).
1. A client writes a non-zero set point to each of the nine registers once, 16-bit ones with FC 6 and
   32-bit ones with FC 16, on the default ESS site and a Multi RS and an AC system (scenarios/ess-rs.yaml,
   units 50 and 51). Each of the six set points (D-Bus paths) they reach gets exactly one fail-safe
   write of 0 (the simulators' SET lines): the 16- and 32-bit registers of a set point share its timer,
   and the warning names the register written last. Six activations are counted.
2. The shared timer: a client that wrote 37 once and then keeps writing 96 (the same set point) is not
   overridden while it writes; once it stops, one fail-safe write follows.

Usage: failsafe_overlay_fires_test.py BUILD_DIR
"""
import os
import re
import struct
import subprocess
import sys
import time

from sitelib import SOURCE, Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
SHIPPED = os.path.join(SOURCE, "register-maps", "examples", "ess-mode3-failsafe.yaml")
RS = os.path.join(SOURCE, "tests", "integration", "scenarios", "ess-rs.yaml")
VEBUS = "com.victronenergy.vebus.ttyO1"
TARGETS = {  # register: (unit, words, log, bus name, path)
    37: (246, [1000], "sim.log", VEBUS, "/Hub4/L1/AcPowerSetpoint"),
    40: (246, [1000], "sim.log", VEBUS, "/Hub4/L2/AcPowerSetpoint"),
    41: (246, [1000], "sim.log", VEBUS, "/Hub4/L3/AcPowerSetpoint"),
    96: (246, [0, 1000], "sim.log", VEBUS, "/Hub4/L1/AcPowerSetpoint"),
    98: (246, [0, 1000], "sim.log", VEBUS, "/Hub4/L2/AcPowerSetpoint"),
    100: (246, [0, 1000], "sim.log", VEBUS, "/Hub4/L3/AcPowerSetpoint"),
    2716: (100, [0, 1000], "sim.log", "com.victronenergy.hub4", "/Overrides/Setpoint"),
    4610: (50, [0, 1000], "rs.log", "com.victronenergy.multi.socketcan_can0_vi0_uc1234", "/Ess/AcPowerSetpoint"),
    4922: (51, [0, 1000], "rs.log", "com.victronenergy.acsystem.socketcan_can0_sys0", "/Ess/AcPowerSetpoint"),
}
checks = Checks("shipped fail-safe overlay")
check = checks.check

with Site(BUILD, prefix="vmd-failsafe-overlay.") as site:
    with open(SHIPPED) as f:
        shipped = f.read()
    rules = re.findall(r"\{address: (\d+), failsafe: \{after: 60, value: 0\}\}", shipped)
    check(sorted(int(r) for r in rules) == sorted(TARGETS), "the shipped overlay covers the nine registers: %s" % rules)
    overlay = site.path("ess-mode3-failsafe.yaml")
    with open(overlay, "w") as f:
        f.write(shipped.replace("after: 60,", "after: 2,"))
    site.start_sim()
    site.start_sim(RS, log="rs.log")
    _, port = site.start_server("--overlay", overlay)
    c = Connection(port)
    for register, (unit, words, log, service, path) in sorted(TARGETS.items()):
        if len(words) == 1:
            ok = c.write(unit, register, words[0]) is None
        else:
            ok = c.request(unit, struct.pack(">BHHB2H", 16, register, 2, 4, *words))[:1] == b"\x10"
        check(ok, "the client writes 1000 W to register %d at unit %d" % (register, unit))
    c.close()

    def activations():
        out = subprocess.run(["dbus-send", "--bus=" + site.bus, "--print-reply", "--dest=com.victronenergy.modbustcp",
                              "/Failsafe/Activations", "com.victronenergy.BusItem.GetValue"],
                             capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"variant\s+u?int\d+ (\d+)", out)
        return int(m.group(1)) if m else None

    def zeroed(log, service, path):
        return [l for l in site.set_lines(log) if l == "SET %s %s d 0 -> 0" % (service, path)]

    last = {}  # set point -> the register written last (TARGETS is written in address order)
    for register, (unit, words, log, service, path) in sorted(TARGETS.items()):
        last[(log, service, path)] = register
    check(len(last) == 6, "the nine registers reach six set points")
    for (log, service, path), register in sorted(last.items()):
        check(wait_for(lambda: zeroed(log, service, path), 15), "%s %s gets 0 W on D-Bus" % (service, path))
        check(re.search(r"fail-safe: no client wrote register %d \(%s %s\) for 2 s: writing 0"
                        % (register, re.escape(service), re.escape(path)), site.text("server.log")),
              "... logged with register %d, written last" % register)
    check(wait_for(lambda: activations() == 6, 5), "/Failsafe/Activations counts six: %s" % activations())
    check(all(len(zeroed(*key)) == 1 for key in last), "each set point got exactly one fail-safe write")

    # 2. 37 once, then 96 every 0.5 s for 4 s: the shared timer never runs out while 96 is written.
    L1 = ("sim.log", VEBUS, "/Hub4/L1/AcPowerSetpoint")
    c = Connection(port)
    check(c.write(246, 37, 1500) is None, "the client writes 37 once")
    for _ in range(8):
        time.sleep(0.5)  # the client's own pace (a controller writing twice a second), not a wait for an event
        check(c.request(246, struct.pack(">BHHB2H", 16, 96, 2, 4, 0, 1500))[:1] == b"\x10", "... then 96")
    check(len(zeroed(*L1)) == 1, "no fail-safe overrode the set point while the client wrote 96, 4 s past 37's 2 s")
    check(wait_for(lambda: len(zeroed(*L1)) == 2, 10), "once it stops, the set point gets one fail-safe write")
    c.close()

checks.finish(lambda: site.text("server.log")[-3000:])
