"""The two rows of docs/semantics.md's "GX write switch" table that MirrorTest's [gxswitch] case does not
reach, end to end, each with the log line that names the deciding case:

- "the settings service has loaded without that setting": writes allowed;
- "the setting is published invalid": writes refused (exception 2), nothing sent.

Each starts its own site (tests/integration/scenarios/gx-no-settings.yaml: system and a Multi at unit
246) with a settings service of the test's own.

Usage: gx_switch_rows_test.py BUILD_DIR
"""
import os
import sys

from sitelib import SOURCE, Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
BASE = os.path.join(SOURCE, "tests", "integration", "scenarios", "gx-no-settings.yaml")
SETTING = "com.victronenergy.settings /Settings/ModbusServer/ReadWrite"
checks = Checks("GX write switch rows")
check = checks.check

SETTINGS = """\
services:
  - name: com.victronenergy.settings
    paths:
%s      /Settings/CGwacs/AcPowerSetPoint: {value: 50.0, writable: true}
"""

for name, setting_line, writes, logged in (
        ("loaded without the setting", "", True,
         "writes enabled: com.victronenergy.settings has no /Settings/ModbusServer/ReadWrite"),
        ("the setting published invalid", "      /Settings/ModbusServer/ReadWrite: {value: null, type: i}\n", False,
         "writes refused: %s is invalid" % SETTING)):
    with Site(BUILD, prefix="vmd-gxswitch.") as site:
        settings = site.path("settings.yaml")
        with open(settings, "w") as f:
            f.write(SETTINGS % setting_line)
        site.start_sim(BASE)
        site.start_sim(settings, log="settings.log")
        _, port = site.start_server()
        c = Connection(port)
        check(wait_for(lambda: logged in site.text("server.log"), 10), "%s: the log says '%s'" % (name, logged))
        before = len(site.set_lines())
        answer = c.write(246, 22, 150)
        if writes:
            check(answer is None and wait_for(lambda: len(site.set_lines()) == before + 1, 5),
                  "%s: a write is accepted and sent: %s" % (name, answer))
        else:
            check(answer == 2, "%s: a write is refused with exception 2: %s" % (name, answer))
            check(len(site.set_lines()) == before, "%s: ... and nothing is sent" % name)
        c.close()

checks.finish()
