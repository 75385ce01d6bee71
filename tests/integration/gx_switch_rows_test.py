"""The rows of docs/semantics.md's "GX write switch" table that MirrorTest's [gxswitch] case does not
reach, end to end, each with the log line that names the deciding case:

- the settings service has loaded without the setting: writes allowed, whether its GetItems did not list
  it or (a service read path by path) GetValue answered that there is no such object;
- the setting is decided on its number, not its text: 0.0 and -0.0 ("-0") are read-only; 0.4, the string
  "abc" and an invalid value are unknown: writes refused (exception 2), nothing sent;
- the setting's read fails (GetValue answers an error, and there is no GetItems): unknown, writes
  refused; the read is retried, and once it answers 1 writes are accepted;
- after a reload (SIGHUP; what the mirror keeps is rebuilt on the reload thread) the setting is still
  watched: a settings service that publishes 0 refuses writes.

One site (tests/integration/scenarios/gx-no-settings.yaml: system and a Multi at unit 246) and one
daemon; each row brings a settings service of its own and takes it away again.

Usage: gx_switch_rows_test.py BUILD_DIR
"""
import os
import re
import signal
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
%s    paths:
%s      /Settings/CGwacs/AcPowerSetPoint: {value: 50.0, writable: true}
"""
PATH_BY_PATH = "    getitems: false\n    root-getvalue: false\n"


def setting(value, type_letter, extra=""):
    return "      /Settings/ModbusServer/ReadWrite: {value: %s, type: %s%s}\n" % (value, type_letter, extra)


REFUSED, ENABLED = False, True
# name, service keys, the setting's line, writes allowed, the log line that names the case
ROWS = (
    ("loaded without the setting (GetItems)", "", "", ENABLED,
     "writes enabled: com.victronenergy.settings has no /Settings/ModbusServer/ReadWrite"),
    ("loaded without the setting (path by path: no such object)", PATH_BY_PATH, "", ENABLED,
     "writes enabled: com.victronenergy.settings has no /Settings/ModbusServer/ReadWrite"),
    ("the setting published invalid", "", setting("null", "i"), REFUSED,
     "writes refused: %s unknown: it is invalid" % SETTING),
    ("the setting 0.0", "", setting("0.0", "d"), REFUSED, "writes refused by the GX setting %s = 0" % SETTING),
    ("the setting -0.0", "", setting("-0.0", "d"), REFUSED, "writes refused by the GX setting %s = -0" % SETTING),
    ("the setting 1.0", "", setting("1.0", "d"), ENABLED, "writes enabled by the GX setting %s = 1" % SETTING),
    ("the setting 0.4", "", setting("0.4", "d"), REFUSED,
     "writes refused: %s unknown: 0.4 is not an integer" % SETTING),
    ("the setting 'abc'", "", setting("abc", "s"), REFUSED,
     "writes refused: %s unknown: the string 'abc' is not an integer" % SETTING),
)

with Site(BUILD, prefix="vmd-gxswitch.") as site:
    site.start_sim(BASE)
    server, port = site.start_server()
    c = Connection(port)
    log = lambda: site.text("server.log")
    check(wait_for(lambda: "writes enabled: no com.victronenergy.settings on this bus" in log(), 10),
          "before any settings service: not a GX device, writes enabled")
    value = 150

    def write_checked(name, writes):
        """One write to the Multi's input current limit: accepted and sent, or exception 2 and nothing sent."""
        global value
        value += 1
        before = len(site.set_lines())
        answer = c.write(246, 22, value)
        if writes:
            return check(answer is None and wait_for(lambda: len(site.set_lines()) == before + 1, 5),
                         "%s: a write is accepted and sent: %s" % (name, answer))
        check(answer == 2, "%s: a write is refused with exception 2: %s" % (name, answer))
        return check(len(site.set_lines()) == before, "%s: ... and nothing is sent" % name)

    def settings_service(n, keys, setting_line):
        path = site.path("settings-%d.yaml" % n)
        with open(path, "w") as f:
            f.write(SETTINGS % (keys, setting_line))
        return site.start_sim(path, log="settings-%d.log" % n)

    def take_away(proc, n):
        site.stop(proc)
        check(wait_for(lambda: log().count("service left: com.victronenergy.settings") == n, 10),
              "settings service %d has left" % n)

    for n, (name, keys, setting_line, writes, logged) in enumerate(ROWS, 1):
        start = len(log())
        proc = settings_service(n, keys, setting_line)
        check(wait_for(lambda: logged in log()[start:], 10), "%s: the log says '%s'" % (name, logged))
        write_checked(name, writes)
        take_away(proc, n)

    # The setting's read fails for 3 s after the service publishes it; GetItems and GetValue on / are
    # not offered, so the mirror reads path by path and nothing lists the setting.
    name = "the setting's read fails"
    n = len(ROWS) + 1
    start = len(log())
    proc = settings_service(n, PATH_BY_PATH, setting("1", "i", ", read-fails-for-ms: 3000"))
    unknown = "writes refused: %s unknown: its read failed (org.freedesktop.DBus.Error.Failed: venus-sim: " \
              "reading /Settings/ModbusServer/ReadWrite fails for now); reading it again" % SETTING
    check(wait_for(lambda: unknown in log()[start:], 10), "%s: the log says '%s'" % (name, unknown))
    check("has no /Settings/ModbusServer/ReadWrite" not in log()[start:],
          "%s: ... and never that the service has no such setting" % name)
    write_checked(name + ", while unknown", REFUSED)
    enabled = "writes enabled by the GX setting %s = 1" % SETTING
    check(wait_for(lambda: enabled in log()[start:], 20), "%s: read again, it is 1: the log says '%s'" % (name, enabled))
    reads = site.text("settings-%d.log" % n).count("READ com.victronenergy.settings "
                                                   "/Settings/ModbusServer/ReadWrite failed")
    check(reads >= 2, "%s: ... after the load's read and at least one retry failed (%d failed reads)" % (name, reads))
    write_checked(name + ", once read as 1", ENABLED)
    take_away(proc, n)

    name = "after a reload, the setting 0"
    start = len(log())
    server.send_signal(signal.SIGHUP)
    check(wait_for(lambda: re.search(r"reload: map \d+ registers: 0 added, 0 removed", log()[start:]), 20),
          "%s: the reload is applied" % name)
    n += 1
    proc = settings_service(n, "", setting("0", "i"))
    refused = "writes refused by the GX setting %s = 0" % SETTING
    check(wait_for(lambda: refused in log()[start:], 10), "%s: the log says '%s'" % (name, refused))
    write_checked(name, REFUSED)
    take_away(proc, n)
    c.close()

checks.finish(lambda: site.text("server.log")[-4000:])
