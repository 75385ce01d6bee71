"""docs/semantics.md's answers, case by case, through real sockets on a simulated site.

The unit tests check each row of the table on the pure RequestHandler and Codec; this test checks the
rows a client relies on end to end: the value set on D-Bus (dbus-send to the simulator), the words a
client reads, what a write sends to D-Bus (the simulator's SET lines and GetValue).

- unit IDs: the instanceless services (system, settings) answer at unit 0 and unit 100 alike;
- a withdrawn register (50229 gps /CustomName, 53060 switch /Channel/0/CustomName) is read-only (a write
  is exception 2) and reads "not available" (zeros) unless a device publishes the path;
- a value beyond the type saturates at MIN or MAX-1; halves round away from zero; the double product
  decides (4700.65 x 10 reads 47007, 1.005 x 100 reads 100);
- strings: a character outside Latin-1 reads '?'; a write is cut at its first NUL and sent as UTF-8;
- a partial write of a multi-word register is merged with the current value;
- a writable reserved word is accepted and dropped (nothing is sent);
- a block running past 65535 is exception 2;
- "not available" with --not-available max: the type's maximum for 32-bit types too (int32 0x7FFFFFFF,
  uint32 0xFFFFFFFF), while strings stay 0.

Usage: semantics_test.py BUILD_DIR
"""
import os
import re
import struct
import subprocess
import sys

from sitelib import Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
checks = Checks("semantics")
check = checks.check

SCENARIO = """\
services:
  - name: com.victronenergy.vebus.sem_multi
    paths:
      /DeviceInstance: 60
      /Mode: {value: 3, type: u, writable: true}
      /CustomName: {value: "Multi", type: s, writable: true}
      /Ac/ActiveIn/CurrentLimit: {value: 16.0, type: d, writable: true}
      /Hub4/L1/AcPowerSetpoint: {value: -2000.0, type: d, writable: true}
      /Ac/ActiveIn/L1/V: {value: 230.0, type: d, writable: true}
      /Dc/0/Voltage: {value: 52.0, type: d, writable: true}
      /Ac/ActiveIn/L1/F: {value: "fifty", type: s}
  - name: com.victronenergy.gps.sem_plain
    paths:
      /DeviceInstance: 61
      /Fix: {value: 1, type: i}
  - name: com.victronenergy.gps.sem_named
    paths:
      /DeviceInstance: 62
      /Fix: {value: 1, type: i}
      /CustomName: {value: "Mast GPS", type: s}
  - name: com.victronenergy.switch.sem_plain
    paths:
      /DeviceInstance: 63
      /State: {value: 256, type: i}
  - name: com.victronenergy.switch.sem_named
    paths:
      /DeviceInstance: 64
      /State: {value: 256, type: i}
      /Channel/0/CustomName: {value: "Pump", type: s}
"""
MULTI = "com.victronenergy.vebus.sem_multi"


def words_of(text, count):
    raw = text.encode("latin-1").ljust(2 * count, b"\0")[:2 * count]
    return list(struct.unpack(">%dH" % count, raw))


def set_value(bus, service, path, signature, value):
    r = subprocess.run(["dbus-send", "--bus=" + bus, "--print-reply", "--dest=" + service, path,
                        "com.victronenergy.BusItem.SetValue", "variant:%s:%s" % (signature, value)],
                       capture_output=True, text=True, timeout=10)
    return r.returncode == 0 and "int32 0" in r.stdout


def get_value(bus, service, path):
    r = subprocess.run(["dbus-send", "--bus=" + bus, "--print-reply", "--dest=" + service, path,
                        "com.victronenergy.BusItem.GetValue"], capture_output=True, timeout=10)
    m = re.search(rb'variant\s+(\w+)\s+(.*)$', r.stdout.strip(), re.S)
    if not m:
        return None
    value = m.group(2).strip()
    return value[1:-1].decode("utf-8") if m.group(1) == b"string" else float(value)


with Site(BUILD, prefix="vmd-semantics.") as site:
    scenario = site.path("semantics.yaml")
    with open(scenario, "w") as f:
        f.write(SCENARIO)
    site.start_sim()  # the default ESS site: system and settings without /DeviceInstance
    site.start_sim(scenario, log="sem.log")
    _, port = site.start_server()
    c = Connection(port)
    bus = site.bus
    check(wait_for(lambda: c.read(60, 33) == [3]), "the test's Multi is served at unit 60")

    # Unit IDs.
    check(c.read(0, 800, 6) == c.read(100, 800, 6) != 10, "system /Serial reads the same at unit 0 and unit 100")
    check(c.read(0, 2902) == c.read(100, 2902) != 10, "settings Hub4Mode reads the same at unit 0 and unit 100")

    # Withdrawn registers.
    for unit, address, name, count in ((61, 50229, None, 16), (62, 50229, "Mast GPS", 16),
                                       (63, 53060, None, 16), (64, 53060, "Pump", 16)):
        want = words_of(name, count) if name else [0] * count
        check(c.read(unit, address, count) == want, "withdrawn register %d at unit %d reads %s" %
              (address, unit, repr(name) if name else "not available (zeros)"))
        check(c.write(unit, address, 0x4142) == 2, "a write to withdrawn register %d at unit %d is exception 2"
              % (address, unit))

    # Saturation and rounding: 22 is /Ac/ActiveIn/CurrentLimit, int16, scale 10.
    for value, word, what in (("10000", 32766, "beyond int16 saturates at MAX-1"),
                              ("-10000", 0x8000, "below int16 saturates at MIN"),
                              ("0.25", 3, "2.5 rounds away from zero to 3"),
                              ("-0.25", (-3) & 0xFFFF, "-2.5 rounds away from zero to -3")):
        check(set_value(bus, MULTI, "/Ac/ActiveIn/CurrentLimit", "double", value), "set the current limit to %s" % value)
        check(wait_for(lambda: c.read(60, 22) == [word], 5), "%s A x 10 reads %d: %s (%s)" % (value, word, c.read(60, 22), what))

    # "as a GX device computes it": 4700.65 x 10 (register 3, uint16 scale 10) reads 47007, not the 47006
    # of an 80-bit product; 1.005 x 100 (register 26, uint16 scale 100) is 100.4999... in double: 100.
    for path, value, address, word in (("/Ac/ActiveIn/L1/V", "4700.65", 3, 47007), ("/Dc/0/Voltage", "1.005", 26, 100)):
        check(set_value(bus, MULTI, path, "double", value), "set %s to %s" % (path, value))
        check(wait_for(lambda: c.read(60, address) == [word], 5),
              "%s reads %d at register %d, as on a GX device: %s" % (value, word, address, c.read(60, address)))

    # Strings: 140 is /CustomName, string[8].
    check(set_value(bus, MULTI, "/CustomName", "string", "Boat\u20ac1"), "set the custom name to 'Boat\u20ac1'")
    check(wait_for(lambda: c.read(60, 140, 8) == words_of("Boat?1", 8), 5),
          "a character outside Latin-1 reads '?': %s" % c.read(60, 140, 8))
    check(set_value(bus, MULTI, "/CustomName", "string", "ABCDEFGHIJKLMNOPQRS"), "set a 19-character name")
    check(wait_for(lambda: c.read(60, 140, 8) == words_of("ABCDEFGHIJKLMNOP", 8), 5),
          "a string longer than its 8 registers is cut to them: %s" % c.read(60, 140, 8))
    payload = "B\u00f8at\0junk".encode("latin-1").ljust(16, b"\0")
    reply = c.request(60, struct.pack(">BHHB", 16, 140, 8, 16) + payload)
    check(reply[:1] == b"\x10", "FC 16 of a Latin-1 text is accepted: %r" % reply)
    check(get_value(bus, MULTI, "/CustomName") == "B\u00f8at", "it arrives on D-Bus cut at the NUL, as UTF-8: %r"
          % get_value(bus, MULTI, "/CustomName"))

    # A partial write: 96-97 is /Hub4/L1/AcPowerSetpoint, int32; -2000 is 0xFFFF F830. Writing only the
    # low word 0xF000 makes 0xFFFF F000, -4096.
    check(c.read(60, 96, 2) == [0xFFFF, 0xF830], "the 32-bit set point reads -2000, high word first")
    check(c.read(60, 97) == [0xF830], "a read may start inside it: 97 alone is its low word")
    check(c.read(60, 95, 2) == [0, 0xFFFF], "and end inside it: 95 (not published: 0) and 96, its high word")
    check(c.write(60, 97, 0xF000) is None, "a write of its low word alone is accepted")
    check(get_value(bus, MULTI, "/Hub4/L1/AcPowerSetpoint") == -4096.0,
          "it is merged with the current high word: -4096 on D-Bus, got %s" % get_value(bus, MULTI, "/Hub4/L1/AcPowerSetpoint"))

    # A writable reserved word (212, vebus reserved[1]) is accepted and dropped.
    before = len(site.set_lines("sem.log"))
    check(c.write(60, 212, 7) is None, "a write to the writable reserved word 212 is accepted")
    check(c.write(60, 33, 3) is None, "and a write after it goes through")
    check(wait_for(lambda: len(site.set_lines("sem.log")) == before + 1, 5) and
          "/Mode" in site.set_lines("sem.log")[-1], "only the second one reached D-Bus: %s" % site.set_lines("sem.log")[before:])

    # A block running past 65535.
    check(c.read(100, 65535, 2) == 2, "a read of 65535 + 2 is exception 2")

    # Not available, 32-bit and strings: 98 (int32 /Hub4/L2/AcPowerSetpoint, null on the site's Multi),
    # 78 (uint32 /Energy/AcIn2ToAcOut, not published by it), 50229 of the gps without /CustomName.
    _, max_port = site.start_server("--not-available", "max", log="max.log")
    m = Connection(max_port)
    check(c.read(246, 98, 2) == [0, 0] and m.read(246, 98, 2) == [0x7FFF, 0xFFFF],
          "a missing int32 reads 0, or 0x7FFFFFFF with --not-available max: %s" % m.read(246, 98, 2))
    check(c.read(246, 78, 2) == [0, 0] and m.read(246, 78, 2) == [0xFFFF, 0xFFFF],
          "a missing uint32 reads 0, or 0xFFFFFFFF with --not-available max: %s" % m.read(246, 78, 2))
    check(m.read(61, 50229, 16) == [0] * 16, "a missing string stays 0 with --not-available max")
    # "string in a number register, NaN": not available, 0 or the type's maximum. 9 (/Ac/ActiveIn/L1/F,
    # int16) holds the text "fifty"; 22 (int16) is set to NaN.
    check(c.read(60, 9) == [0] and m.read(60, 9) == [0x7FFF],
          "a string in a number register reads 0, or 0x7FFF with --not-available max: %s %s" % (c.read(60, 9), m.read(60, 9)))
    check(set_value(bus, MULTI, "/Ac/ActiveIn/CurrentLimit", "double", "nan"), "set the current limit to NaN")
    check(wait_for(lambda: c.read(60, 22) == [0] and m.read(60, 22) == [0x7FFF], 5),
          "NaN reads 0, or 0x7FFF with --not-available max: %s %s" % (c.read(60, 22), m.read(60, 22)))
    m.close()
    c.close()

checks.finish()
