"""Start-up as docs/architecture.md ("Start-up") and docs/deploy.md ("Readiness") promise it: the daemon
binds its listeners only once every service found on the bus at start is loaded, at most 3 s, so a
client never sees a half-loaded site; a service still loading after that answers exception 10 until it
has loaded (docs/semantics.md "Unit IDs").

1. A grid meter whose reads are answered 1.5 s late: "listening on" comes after its "service online"
   line and at least 1.5 s after start, and the first read after listening gets its value.
2. A grid meter whose reads are answered 8 s late: the daemon listens after about 3 s all the same;
   the meter's unit answers exception 10 until it has loaded, then its value.

Usage: startup_test.py BUILD_DIR
"""
import sys
import time

from sitelib import Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
checks = Checks("start-up")
check = checks.check

METER = """\
services:
  - name: com.victronenergy.grid.slow_meter
    read-delay-ms: %d
    paths:
      /DeviceInstance: 70
      /Ac/L1/Power: {value: 777.0, type: d}
"""


def site_with_meter(site, delay_ms):
    scenario = site.path("meter.yaml")
    with open(scenario, "w") as f:
        f.write(METER % delay_ms)
    site.start_sim()
    site.start_sim(scenario, log="meter.log")


with Site(BUILD, prefix="vmd-startup.") as site:
    site_with_meter(site, 1500)
    started = time.monotonic()
    _, port = site.start_server("--log-level", "info")
    elapsed = time.monotonic() - started
    log = site.text("server.log")
    online = log.find("service online: com.victronenergy.grid.slow_meter")
    check(0 <= online < log.find("listening on"), "the slow meter is online before the daemon listens")
    check(elapsed >= 1.4, "listening waited for the meter's late reply: %.2f s after start" % elapsed)
    c = Connection(port)
    check(c.read(70, 2600) == [777], "the first read after listening gets the meter's value")
    c.close()

with Site(BUILD, prefix="vmd-startup.") as site:
    site_with_meter(site, 8000)
    started = time.monotonic()
    _, port = site.start_server("--log-level", "info")
    elapsed = time.monotonic() - started
    check(2.9 <= elapsed < 7.5, "a meter still loading holds listening back about 3 s, not 8: %.2f s" % elapsed)
    c = Connection(port)
    first = c.read(70, 2600)
    check(first == 10, "while it loads, its unit answers exception 10: %s" % first)
    check(wait_for(lambda: c.read(70, 2600) == [777], 20), "once loaded it is served: %s" % c.read(70, 2600))
    c.close()

checks.finish()
