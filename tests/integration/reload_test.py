"""SIGHUP as docs/architecture.md ("Reload", "Version registers") describes it, on one connection that
stays open throughout:

1. A changed map file is swapped in: the map identity in registers 39503-39504 becomes FNV-1a (32 bits)
   of the new file's bytes, computed here, "so any change ... changes it and a reload shows the new one";
   a register the new map drops answers exception 2, one it adds is served, values of registers both
   maps have keep being served.
2. SIGHUP re-applies `write-timeout` (README "SIGHUP re-reads the config"): a SetValue that never
   answers gets exception 11 after the new timeout, on a connection opened before the reload.
3. "The bus and the listen addresses need a restart": a reload that changes them logs that they need
   one, and the daemon goes on serving the old bus on the old address only.

Usage: reload_test.py BUILD_DIR
"""
import os
import re
import signal
import socket
import struct
import sys
import time

from sitelib import SHIPPED_MAP, SOURCE, Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
checks = Checks("reload")
check = checks.check


def fnv1a32(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def identity(c):
    words = c.read(100, 39503, 2)
    return (words[0] << 16) | words[1] if isinstance(words, list) else words


with Site(BUILD, prefix="vmd-reload.") as site:
    site.start_sim()
    map_file, config = site.path("map.yaml"), site.path("venus-modbusd.yaml")
    with open(SHIPPED_MAP, "rb") as f:
        shipped = f.read()
    with open(map_file, "wb") as f:
        f.write(shipped)
    with open(config, "w") as f:
        f.write("listen: [127.0.0.1:0]\nbus: %s\nmap: %s\n" % (site.bus, map_file))
    # Bus, listen address and map from the config file alone: on the command line they would win over it.
    server = site.spawn([os.path.join(BUILD, "venus-modbusd"), "--config", config], "server.log")
    found = wait_for(lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)", site.text("server.log")), 20)
    if not found:
        raise RuntimeError("the daemon did not start:\n" + site.text("server.log"))
    port = int(found.group(1))
    c = Connection(port)
    check(identity(c) == fnv1a32(shipped), "39503-39504 hold FNV-1a of the map as loaded: 0x%08X" % identity(c))
    soc = c.read(100, 843)
    check(isinstance(soc, list) and c.read(100, 60000) == 2, "843 is served and 60000 is not mapped")

    # 1. The new map: 60000 added, 2716 (hub4 /Overrides/Setpoint) dropped.
    lines = [l for l in shipped.decode().splitlines(keepends=True) if "{address: 2716," not in l]
    check(len(lines) == shipped.decode().count("\n") - 1, "the new map drops exactly one line, register 2716's")
    changed = ("".join(lines) + "  - {address: 60000, service: system, path: /Dc/Battery/Soc, type: uint16, "
               "scale: 1, access: R}\n").encode()
    check(re.search(rb"\n  - \{address: 60000", changed) is not None and changed.rstrip().endswith(b"}"),
          "the register is appended to the map's register list (its last section)")
    with open(map_file, "wb") as f:
        f.write(changed)
    reloads = site.text("server.log").count("reload: map")
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: site.text("server.log").count("reload: map") > reloads, 10), "the reload is logged")
    check(identity(c) == fnv1a32(changed), "after the reload 39503-39504 hold FNV-1a of the new file: 0x%08X, "
          "expected 0x%08X" % (identity(c), fnv1a32(changed)))
    check(c.read(100, 2716, 2) == 2, "the dropped register answers exception 2 on the same connection")
    check(c.read(100, 60000) == c.read(100, 843) != 2, "the added one is served")

    # 2. write-timeout 1000 -> 3000 ms; unit 41 of the extra simulator never answers /Hub4/L1/AcPowerSetpoint.
    site.start_sim(os.path.join(SOURCE, "tests", "integration", "scenarios", "extra-meter.yaml"), log="extra.log")
    check(wait_for(lambda: c.read(41, 33) == [3], 10), "the extra simulator's unit 41 is served")
    with open(config, "w") as f:
        f.write("listen: [127.0.0.1:0]\nbus: %s\nmap: %s\nwrite-timeout: 3000\n" % (site.bus, map_file))
    reloads = site.text("server.log").count("reload: map")
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: site.text("server.log").count("reload: map") > reloads, 10), "the reload happens")
    slow = Connection(port, timeout=30)
    started = time.monotonic()
    reply = slow.request(41, struct.pack(">BHH", 6, 37, 5))
    elapsed = time.monotonic() - started
    check(reply == bytes([0x86, 11]) and elapsed >= 2.9,
          "after the reload a hung SetValue is exception 11 after the new 3000 ms, not 1000: %r after %.2f s" % (reply, elapsed))
    slow.close()

    # 3. Bus and listen addresses need a restart.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with open(config, "w") as f:
        f.write("listen: [127.0.0.1:%d]\nbus: unix:path=%s\nmap: %s\n" % (free, site.path("another-bus"), map_file))
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "reload: listen addresses changed: need a restart" in site.text("server.log"), 10),
          "a changed listen address is logged as needing a restart")
    check("reload: bus changed to 'unix:path=%s': needs a restart" % site.path("another-bus") in site.text("server.log"),
          "a changed bus is logged as needing a restart")
    check(c.read(100, 843) != 10 and isinstance(c.read(100, 800, 6), list), "the old bus is still mirrored")
    other = Connection(port)
    check(isinstance(other.read(100, 843), list), "the old address still accepts new connections")
    other.close()
    with socket.socket() as s:
        s.settimeout(2)
        check(s.connect_ex(("127.0.0.1", free)) != 0, "nothing listens on the new address")
    c.close()
    check(site.stop(server) == 0, "the daemon stops with status 0")

checks.finish(lambda: site.text("server.log")[-3000:])
