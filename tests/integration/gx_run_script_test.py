"""The GX bundle's run script (packaging/gx/service/run) as docs/deploy.md describes it, on this machine:
"Further options (--allow, --write-allow, --read-only, ...) go in /data/venus-modbusd/venus-modbusd.yaml
... the run script passes it with --config when it exists"; it serves "on the port of `port`" (5020
without it) with --bus system, the bundled map and the bundle's directory as --state-dir (its
output-slots), and "Leave `listen`, `map`, `bus` and `state-dir` to the run script".

A directory laid out like the bundle: service/run (the shipped script, unchanged), venus-modbusd (here
a wrapper that runs the build's daemon, as the bundle's wrapper runs bin/venus-modbusd), victron.yaml,
`port` with a free port. The system bus is the test's private bus (DBUS_SYSTEM_BUS_ADDRESS).
1. Without venus-modbusd.yaml: served on the port of `port`, writes accepted.
2. With venus-modbusd.yaml holding `read-only: true` and a `listen:` of its own: writes refused with
   exception 2, and still served on the port of `port` (the run script's --listen wins).

Usage: gx_run_script_test.py BUILD_DIR
"""
import os
import re
import shutil
import socket
import stat
import sys

from sitelib import SHIPPED_MAP, SOURCE, Checks, Connection, Site, wait_for

BUILD = sys.argv[1]
checks = Checks("GX run script")
check = checks.check


def free_port():
    """A port free for what the run script binds: [::] with SO_REUSEADDR, as the daemon binds it (dual
    stack unless the system says otherwise, for both). A port free on 127.0.0.1 alone may be taken on
    [::] (4 of 8 runs were, on a machine running other tests)."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", 0))
        return s.getsockname()[1]


def start_run_script(site, bundle, env, log):
    """Runs the run script on a free port; returns (process, port), process None when it did not serve.

    Between the probe and the daemon's bind another process may still take the port: a start that
    fails with "Address already in use" is tried again on another port (three times at most)."""
    for attempt in range(3):
        port = free_port()
        with open(os.path.join(bundle, "port"), "w") as f:
            f.write("%d\n" % port)
        proc = site.spawn(["/bin/sh", os.path.join(bundle, "service", "run")], log, env=env, stdout=True)
        line = "listening on [::]:%d" % port
        wait_for(lambda: line in site.text(log) or proc.poll() is not None, 20)
        if proc.poll() is None and line in site.text(log):
            return proc, port
        site.stop(proc)
        if "Address already in use" not in site.text(log):
            break
        print("port %d was taken before the daemon bound it (attempt %d); trying another" % (port, attempt + 1))
    return None, port


def run_case(site, bundle, env, case, config, log):
    if config is not None:
        with open(os.path.join(bundle, "venus-modbusd.yaml"), "w") as f:
            f.write(config)
    proc, port = start_run_script(site, bundle, env, log)
    if not check(proc is not None, "%s: the run script serves on [::]:%d, the port of `port`" % (case, port)):
        return
    check(os.path.join(bundle, "victron.yaml") in site.text(log), "%s: with the bundled map" % case)
    check(os.path.join(bundle, "output-slots") in site.text(log),
          "%s: the output slots are kept in the bundle's directory" % case)
    c = Connection(port)
    check(c.read(100, 800) == [0x6330], "%s: the system bus is mirrored" % case)
    answer = c.write(100, 2700, 40)
    if config is None:
        check(answer is None, "%s: a write is accepted" % case)
    else:
        check(answer == 2, "%s: read-only from the config file: a write answers exception 2: %s" % (case, answer))
        check(not re.search(r"listening on 127\.0\.0\.1:1\b", site.text(log)),
              "%s: the config's own listen is overridden by the run script" % case)
    c.close()
    check(site.stop(proc) == 0, "%s: SIGTERM stops it with status 0" % case)


with Site(BUILD, prefix="vmd-gx-run.") as site:
    site.start_sim()
    bundle = site.path("venus-modbusd")
    os.makedirs(os.path.join(bundle, "service"))
    shutil.copy(os.path.join(SOURCE, "packaging", "gx", "service", "run"), os.path.join(bundle, "service", "run"))
    shutil.copy(SHIPPED_MAP, os.path.join(bundle, "victron.yaml"))
    wrapper = os.path.join(bundle, "venus-modbusd")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec "%s" "$@"\n' % os.path.join(os.path.abspath(BUILD), "venus-modbusd"))
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IEXEC)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=site.bus)

    for case, config in (("without venus-modbusd.yaml", None),
                         ("with venus-modbusd.yaml", "read-only: true\nlisten: ['127.0.0.1:1']\n")):
        log = "run-%s.log" % ("config" if config else "plain")
        failures = len(checks.failures)
        try:
            run_case(site, bundle, env, case, config, log)
        except Exception as e:  # a check that could not be made is a failure, with the daemon's log below
            check(False, "%s raised %s: %s" % (case, type(e).__name__, e))
        if len(checks.failures) > failures:
            print("--- %s: the daemon's log (%s):\n%s--- end of %s" % (case, log, site.text(log), log),
                  file=sys.stderr)

checks.finish()
