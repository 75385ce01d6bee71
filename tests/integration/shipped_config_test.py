"""The Debian package's shipped config (packaging/venus-modbusd.yaml) refuses writes until an
administrator allows them, and says so in one start-up line naming the key.

  shipped_config_test.py BUILD_DIR
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sitelib  # noqa: E402

BUILD = sys.argv[1]
SHIPPED = os.path.join(sitelib.SOURCE, "packaging", "venus-modbusd.yaml")
checks = sitelib.Checks("shipped config")
check = checks.check


with sitelib.Site(BUILD) as site:
    site.start_sim()
    # The shipped file as it is; the command line only points it at the test's bus and port.
    proc, port = site.start_server(config=SHIPPED)
    c = sitelib.Connection(port)
    check(c.read(100, 2700) not in (2, 10, 11) and isinstance(c.read(100, 2700), list), "reads are served")
    check(c.write(100, 2700, 123) == 2, "a write of the ESS set point answers exception 2")
    check(c.write(246, 33, 4) == 2, "a write of the VE.Bus mode answers exception 2")
    check(site.set_lines() == [], "nothing reached D-Bus (%s)" % site.set_lines())
    lines = [l for l in site.text("server.log").splitlines() if "every write is refused" in l]
    check(len(lines) == 1 and "'read-only: true' in " + SHIPPED in lines[0] and "read-only: false" in lines[0],
          "one start-up line names the key and the file (%s)" % lines)
    c.close()
    checks.finish(lambda: site.text("server.log"))
