"""docs/semantics.md "Unit IDs": "A service whose every read failed is read again after 1 s, 2 s, 4 s ...
(at most 32 s), not served meanwhile"; docs/architecture.md "Retries": "At start-up such a service no
longer holds back listening".

A tank whose every read (GetItems, GetValue on / and per path) fails for its first 10 s on the bus
(the simulator's reads-fail-for-ms) is started before the daemon. The daemon listens without waiting
for it; each failed load is logged with its attempt and the next delay, the delays are 1, 2, 4, 8 s in
that order and the attempts are at least that far apart; the tank's unit answers exception 10 meanwhile,
and its level once a load succeeds.

Usage: load_retry_test.py BUILD_DIR
"""
import re
import sys
import time

from sitelib import Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
checks = Checks("load retry")
check = checks.check

TANK = """\
services:
  - name: com.victronenergy.tank.retried
    reads-fail-for-ms: 10000
    paths:
      /DeviceInstance: 57
      /Level: {value: 44.0, type: d}
"""
FAILED = re.compile(r"com\.victronenergy\.tank\.retried: every read failed \(attempt (\d+)\): not served; "
                    r"trying again in (\d+) s")

with Site(BUILD, prefix="vmd-retry.") as site:
    scenario = site.path("tank.yaml")
    with open(scenario, "w") as f:
        f.write(TANK)
    site.start_sim()
    site.start_sim(scenario, log="tank.log")
    started = time.monotonic()
    _, port = site.start_server("--log-level", "info")
    check(time.monotonic() - started < 8.0, "the daemon listens without waiting for the failing tank: %.1f s"
          % (time.monotonic() - started))
    c = Connection(port)
    seen = {}  # attempt -> (delay, when the line was first seen)
    answers = set()

    def loaded():
        for attempt, delay in FAILED.findall(site.text("server.log")):
            seen.setdefault(int(attempt), (int(delay), time.monotonic()))
        level = c.read(57, 3004)
        answers.add(level if isinstance(level, int) else tuple(level))
        return level == [440]

    check(wait_for(loaded, 40), "the tank is served once a load succeeds: %s" % answers)
    attempts = sorted(seen)
    delays = [seen[a][0] for a in attempts]
    check(attempts[:4] == [1, 2, 3, 4] and delays[:4] == [1, 2, 4, 8],
          "failed loads are logged with their attempt and delays 1, 2, 4, 8 s: %s" % list(zip(attempts, delays)))
    gaps = [seen[a + 1][1] - seen[a][1] for a in attempts[:-1] if a + 1 in seen]
    check(all(gap >= seen[a][0] - 0.3 for a, gap in zip(attempts, gaps)),
          "each attempt comes no earlier than the delay announced before it: %s" % ["%.1f" % g for g in gaps])
    check(10 in answers, "the tank's unit answered exception 10 while its loads failed")
    check(answers <= {10, (440,)}, "and never anything but exception 10 or its level: %s" % answers)
    c.close()

checks.finish(lambda: site.text("server.log")[-3000:])
