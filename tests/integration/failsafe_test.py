"""ESS fail-safes end to end: a private bus, the simulator (tests/integration/scenarios/failsafe-site.yaml,
each Multi in its own venus-sim process), the daemon with a config file and an overlay of fail-safe
rules, and pymodbus as the client. What arrives on D-Bus is read from the simulator's SET lines.

1. Three armed fail-safes (37, 40, 41, the mode-3 set points of the example overlay) all fire.
2. A reload while a client write is pending: the reply arrives after the reload, and the new map's
   rules are in force (a rule the reload removed does not fire, one it added does).
3. A fail-safe write that fails (the service has left the bus) is retried until it is accepted,
   and the diagnostics count it meanwhile.

Usage: failsafe_test.py BUILD_DIR
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

from pymodbus.client import ModbusTcpClient

from sitelib import SHIPPED_MAP, Checks, Site, waiting

build = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
scenario = os.path.join(here, "scenarios", "failsafe-site.yaml")
site = Site(build, prefix="vmd-failsafe.")
work = site.work
checks = Checks("failsafe")
check = checks.check
wait_for = waiting(10.0)
text = site.text

PROMPT = "com.victronenergy.vebus.fs_prompt"  # unit 41
SLOW = "com.victronenergy.vebus.fs_slow"  # unit 42, answers SetValue 3 s late (time for the reload)
RESTARTING = "com.victronenergy.vebus.fs_restarting"  # unit 43
L1, L2, L3 = ("/Hub4/L%d/AcPowerSetpoint" % i for i in (1, 2, 3))


def sets(log, service, path, value=None):
    """The simulator's SET lines for (service, path), optionally only those of one value."""
    lines = [l for l in text(log).splitlines() if l.startswith("SET %s %s " % (service, path))]
    return [l for l in lines if value is None or l.split()[4] == value]


def diagnostic(path):
    """A number of the daemon's diagnostics service, read with dbus-send."""
    out = subprocess.run(["dbus-send", "--bus=" + address, "--print-reply", "--dest=com.victronenergy.modbustcp",
                          path, "com.victronenergy.BusItem.GetValue"], capture_output=True, text=True).stdout
    m = re.search(r"variant\s+u?int\d+ (\d+)", out)
    return int(m.group(1)) if m else None


def start_sim(only, log):
    return site.start_sim(scenario, [a for name in only for a in ("--only", name)], log, timeout=10.0)


def write_overlay(rules):
    with open(overlay, "w") as f:
        f.write("amend:\n")
        for address, after in rules:
            f.write("  - {address: %d, failsafe: {after: %s, value: 0}}\n" % (address, after))


try:
    address = site.start_bus()
    start_sim([PROMPT, SLOW], "sim.log")
    restarting = start_sim([RESTARTING], "sim-restarting-1.log")

    config = os.path.join(work, "venus-modbusd.yaml")
    overlay = os.path.join(work, "failsafe.yaml")
    write_overlay([(37, 1), (40, 1), (41, 1)])  # as register-maps/examples/ess-mode3-failsafe.yaml, after 1 s
    with open(config, "w") as f:
        f.write("listen: [127.0.0.1:0]\nlog-level: debug\nbus: %s\nwrite-timeout: 5000\noverlays: [%s]\n"
                % (address, overlay))
    server = site.spawn([os.path.join(build, "venus-modbusd"), "--config", config, "--map", SHIPPED_MAP], "server.log")
    if not wait_for(lambda: "listening on 127.0.0.1:" in text("server.log")):
        raise RuntimeError("the daemon did not start")
    port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", text("server.log")).group(1))
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=8)
    if not client.connect():
        raise RuntimeError("cannot connect")
    if not wait_for(lambda: all(not client.read_holding_registers(37, 1, slave=u).isError() for u in (41, 42, 43))):
        raise RuntimeError("the simulated Multis are not served")

    # 1. A client writes 37, 40 and 41, 100 ms apart, every 300 ms for 1.5 s, then goes quiet: all
    # three fire (their deadlines are 100 ms apart: one timer that happens to be late cannot fire all).
    for _ in range(5):
        for register, watts in ((37, 1100), (40, 1200), (41, 1300)):
            check(not client.write_register(register, watts, slave=41).isError(), "write %d" % register)
            time.sleep(0.1)
    check(not any(sets("sim.log", PROMPT, p, "0") for p in (L1, L2, L3)),
          "no fail-safe fires while the client keeps writing")
    for register, path in ((37, L1), (40, L2), (41, L3)):
        check(wait_for(lambda: sets("sim.log", PROMPT, path, "0"), 10),
              "the fail-safe of register %d writes 0 W to %s on D-Bus" % (register, path))
        check("SET %s %s d 0 -> 0" % (PROMPT, path) in sets("sim.log", PROMPT, path, "0"),
              "... and the service accepts it")
        check("fail-safe: no client wrote register %d (%s %s)" % (register, PROMPT, path) in text("server.log"),
              "the server logs the fail-safe of register %d" % register)
    check(wait_for(lambda: all(client.read_holding_registers(r, 1, slave=41).registers == [0] for r in (37, 40, 41)), 5),
          "registers 37, 40 and 41 read back 0")
    check(wait_for(lambda: (diagnostic("/Failsafe/Activations") or 0) >= 3, 5), "/Failsafe/Activations counts all three")

    # 2. Two writes to the slow Multi are pending across a reload that removes the fail-safe of 37
    # and adds one to 98 (the 32-bit L2 set point). Their replies arrive after the reload.
    results = {}

    def pending_write(register, words):
        c = ModbusTcpClient("127.0.0.1", port=port, timeout=8)
        c.connect()
        results[register] = c.write_registers(register, words, slave=42)
        c.close()

    writers = [threading.Thread(target=pending_write, args=(37, [900])),
               threading.Thread(target=pending_write, args=(98, [0, 800]))]
    for t in writers:
        t.start()
    check(wait_for(lambda: sets("sim.log", SLOW, L1, "900") and sets("sim.log", SLOW, L2, "800")),
          "both writes reach the slow Multi, whose replies are delayed")
    reloads = text("server.log").count("reload: map")
    write_overlay([(40, 1), (41, 3), (98, 1)])
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: text("server.log").count("reload: map") > reloads), "the reload happens")
    for t in writers:
        t.join()
    check(all(not r.isError() for r in results.values()), "both pending writes succeed: %s" % results)
    log = text("server.log")
    replied = log.find("register 37 words [0x0384] -> %s" % SLOW)
    check(0 <= log.rfind("reload: map") < replied, "the reply to the pending write came after the reload")
    check(wait_for(lambda: sets("sim.log", SLOW, L2, "0"), 10),
          "register 98's fail-safe, added by the reload, is armed by the pending write's reply and fires")
    time.sleep(0.5)  # 37 was armed before 98: had it been armed, it would have fired by now
    check(not sets("sim.log", SLOW, L1, "0"), "register 37's fail-safe, removed by the reload, does not fire")
    check("fail-safe: no client wrote register 37 (%s" % SLOW not in text("server.log"),
          "... and the log says nothing of it")

    # 3. A client writes 41 (fail-safe after 3 s) of the third Multi, whose service then leaves the
    # bus: the fail-safe write is refused and retried until the service is back and accepts it.
    check(not client.write_register(41, 1500, slave=43).isError(), "write 41 to the third Multi")
    written = time.monotonic()
    restarting.send_signal(signal.SIGTERM)
    restarting.wait(timeout=10)
    check(time.monotonic() - written < 2.5, "the service left before its fail-safe was due")
    failed = "fail-safe write %s %s: refused" % (RESTARTING, L3)
    check(wait_for(lambda: failed in text("server.log"), 10), "the fail-safe write fails while the service is gone")
    check(re.search(re.escape(failed) + r".*retrying in \d+(\.\d+)? s", text("server.log")) is not None,
          "the log says it will be retried")
    check(wait_for(lambda: diagnostic("/Failsafe/Retrying") == 1, 5), "/Failsafe/Retrying counts it")
    restarting = start_sim([RESTARTING], "sim-restarting-2.log")
    check(wait_for(lambda: sets("sim-restarting-2.log", RESTARTING, L3, "0"), 40),  # retries: 1, 2, 4, 8, 16 s
          "the retried fail-safe write reaches the service once it is back")
    check("SET %s %s d 0 -> 0" % (RESTARTING, L3) in sets("sim-restarting-2.log", RESTARTING, L3, "0"),
          "... and is accepted")
    check(wait_for(lambda: "fail-safe write %s %s: accepted" % (RESTARTING, L3) in text("server.log"), 5),
          "the log says it was accepted")
    check(wait_for(lambda: diagnostic("/Failsafe/Retrying") == 0, 5), "/Failsafe/Retrying is 0 again")
    client.close()

    server.send_signal(signal.SIGTERM)
    check(server.wait(timeout=10) == 0, "the daemon stops with status 0")
except Exception as e:  # a client error, a process that did not start: fail with the logs below
    check(False, "the test ran to its end: %s: %s" % (type(e).__name__, e))
finally:
    site.stop_all()

try:
    checks.finish(lambda: text("server.log")[-4000:])
finally:
    shutil.rmtree(work, ignore_errors=True)
