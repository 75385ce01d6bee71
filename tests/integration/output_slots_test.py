"""Output slots never re-target a write (issue 22, item 3; docs/registers.md "Output slots").

A GX IO extender (com.victronenergy.switch.ttyUSB0, instance 1 = unit 1) publishes relay_1, relay_2 and
relay_3: slots 1, 2, 3. A PLC switches slot 2 (relay_2). The service restarts with a new output aux_1,
which sorts before the others, and without relay_3: slot 2 still switches relay_2, aux_1 takes slot 4,
and slot 3 reads not available and refuses writes with exception 2. The daemon restarts with the same
--state-dir: the same slots. The service restarts as it was: relay_3 is back in slot 3, aux_1's slot 4
refuses writes. A state file with a bad line: the line is logged by file and line number, the daemon
starts with the others. The diagnostics service lists the slots, a gone output in parentheses.

Usage: output_slots_test.py BUILD_DIR
"""
import os
import re
import subprocess
import sys

from sitelib import Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
checks = Checks("output slots")
check = checks.check

SERVICE = "com.victronenergy.switch.ttyUSB0"
UNIT = 1
ID, NAME, STATE = 0, 8, 24  # offsets in a slot of 36 registers from 53300


def slot(k, offset=0):
    return 53300 + 36 * (k - 1) + offset


def scenario(outputs):
    lines = ["services:", "  - name: " + SERVICE, "    paths:", "      /DeviceInstance: 1",
             "      /ProductName: GX IO extender 150", "      /Connected: 1"]
    for output in outputs:
        lines += ["      /SwitchableOutput/%s/State: {value: 0, writable: true}" % output,
                  "      /SwitchableOutput/%s/Status: 0" % output,
                  "      /SwitchableOutput/%s/Settings/CustomName: {value: %s, writable: true}" % (output, output)]
    return "\n".join(lines) + "\n"


def text(words):
    if not isinstance(words, list):
        return "exception %s" % words
    return b"".join(w.to_bytes(2, "big") for w in words).rstrip(b"\0").decode(errors="replace")


def ids(c, count):
    return [text(c.read(UNIT, slot(k, ID), 8)) for k in range(1, count + 1)]


def sets(site, log):
    """The simulator's SET lines without their outcome: "SET SERVICE PATH SIGNATURE VALUE"."""
    return [line.split(" -> ")[0] for line in site.set_lines(log)]


def diagnostics_slots(site):
    """/Services/N/Slots of the IO extender on com.victronenergy.modbustcp, "" if not listed."""
    out = subprocess.run(["dbus-send", "--bus=" + site.bus, "--print-reply", "--dest=com.victronenergy.modbustcp",
                          "/", "com.victronenergy.BusItem.GetItems"], capture_output=True, text=True,
                         timeout=10).stdout
    values = dict(re.findall(r'string "(/Services/\d+/\w+)"\s+array \[.*?string "Value"\s+variant\s+\S+ "?([^"\n]*)"?',
                             out, re.S))
    for key, value in values.items():
        if key.endswith("/ServiceName") and value == SERVICE:
            return values.get(key[:-len("ServiceName")] + "Slots", "")
    return ""


with Site(BUILD, prefix="vmd-slots.") as site:
    state = site.path("state")
    os.mkdir(state)
    state_file = os.path.join(state, "output-slots")
    for name, outputs in (("three.yaml", ["relay_1", "relay_2", "relay_3"]), ("new.yaml", ["aux_1", "relay_1", "relay_2"])):
        with open(site.path(name), "w") as f:
            f.write(scenario(outputs))

    sim = site.start_sim(site.path("three.yaml"), log="sim-three.log")
    server, port = site.start_server("--state-dir", state, log="server-1.log")
    c = Connection(port)
    check(wait_for(lambda: ids(c, 3) == ["relay_1", "relay_2", "relay_3"]),
          "at first the slots follow the natural order: %s" % ids(c, 4))
    check(c.write(UNIT, slot(2, STATE), 1) is None, "the PLC switches slot 2 on")
    check(sets(site, "sim-three.log") == ["SET %s /SwitchableOutput/relay_2/State i 1" % SERVICE],
          "which switches relay_2: %s" % sets(site, "sim-three.log"))
    check(wait_for(lambda: os.path.exists(state_file)), "the slots are saved in " + state_file)

    # The service restarts with a new output that sorts first, and without relay_3.
    site.stop(sim)
    sim = site.start_sim(site.path("new.yaml"), log="sim-new.log")
    check(wait_for(lambda: ids(c, 4) == ["relay_1", "relay_2", "", "aux_1"], 20),
          "the new output aux_1 takes the next free slot, 4; the others keep theirs: %s" % ids(c, 4))
    check(c.write(UNIT, slot(2, STATE), 0) is None, "the PLC switches slot 2 off")
    check(sets(site, "sim-new.log") == ["SET %s /SwitchableOutput/relay_2/State i 0" % SERVICE],
          "which still switches relay_2 (and nothing else): %s" % sets(site, "sim-new.log"))
    check(c.read(UNIT, slot(3), 25) == [0] * 25, "slot 3, held for the gone relay_3, reads not available")
    check(c.write(UNIT, slot(3, STATE), 1) == 2, "and refuses a write with exception 2")
    check(wait_for(lambda: "/SwitchableOutput/#3/State is held for an output %s no longer publishes" % SERVICE
                   in site.text("server-1.log"), 5), "the refusal is logged with its reason")
    check(c.write(UNIT, slot(4, STATE), 1) is None and
          sets(site, "sim-new.log")[-1] == "SET %s /SwitchableOutput/aux_1/State i 1" % SERVICE,
          "slot 4 switches aux_1: %s" % sets(site, "sim-new.log")[-1:])
    check(wait_for(lambda: diagnostics_slots(site) == "/SwitchableOutput/ 1=relay_1 2=relay_2 3=(relay_3) 4=aux_1"),
          "the diagnostics list the slots, the gone output in parentheses: %r" % diagnostics_slots(site))
    c.close()

    # The daemon restarts with the same state directory.
    check(site.stop(server) == 0, "the daemon stops with status 0")
    saved = open(state_file).read()
    check(re.search(r"(?m)^switch:1 /SwitchableOutput/ 3 relay_3$", saved) and
          re.search(r"(?m)^switch:1 /SwitchableOutput/ 4 aux_1$", saved),
          "the state file holds every slot, the gone relay_3's too:\n" + saved)
    server, port = site.start_server("--state-dir", state, log="server-2.log")
    c = Connection(port)
    check(wait_for(lambda: ids(c, 4) == ["relay_1", "relay_2", "", "aux_1"]),
          "after a daemon restart the slots are the same: %s" % ids(c, 4))
    check(c.write(UNIT, slot(3, STATE), 1) == 2, "slot 3 still refuses writes with exception 2")
    check(c.write(UNIT, slot(2, STATE), 1) is None and
          sets(site, "sim-new.log")[-1] == "SET %s /SwitchableOutput/relay_2/State i 1" % SERVICE,
          "slot 2 still switches relay_2: %s" % sets(site, "sim-new.log")[-1:])

    # The service restarts as it was at first: relay_3 returns to its slot, aux_1 is gone.
    site.stop(sim)
    sim = site.start_sim(site.path("three.yaml"), log="sim-back.log")
    check(wait_for(lambda: ids(c, 4) == ["relay_1", "relay_2", "relay_3", ""], 20),
          "relay_3 returns to slot 3; aux_1's slot 4 reads not available: %s" % ids(c, 4))
    check(c.write(UNIT, slot(3, STATE), 1) is None and
          sets(site, "sim-back.log") == ["SET %s /SwitchableOutput/relay_3/State i 1" % SERVICE],
          "slot 3 switches relay_3 again: %s" % sets(site, "sim-back.log"))
    check(c.write(UNIT, slot(4, STATE), 1) == 2, "slot 4 (aux_1 gone) refuses writes with exception 2")
    c.close()
    check(site.stop(server) == 0, "the daemon stops with status 0")

    # A bad line in the state file: named by file and line; the daemon starts with the other lines.
    with open(state_file, "a") as f:
        f.write("switch:1 /SwitchableOutput/ many relay_9\n")
    bad_line = len(open(state_file).read().splitlines())
    server, port = site.start_server("--state-dir", state, log="server-3.log")
    c = Connection(port)
    check(("%s:%d: slot 'many' is not a number" % (state_file, bad_line)) in site.text("server-3.log"),
          "the bad line is logged with the file and its line number")
    check(wait_for(lambda: ids(c, 4) == ["relay_1", "relay_2", "relay_3", ""]),
          "and the other lines are kept: %s" % ids(c, 4))
    c.close()

checks.finish(lambda: site.text("server-3.log")[-3000:] + site.text("server-2.log")[-3000:] +
              site.text("server-1.log")[-3000:])
