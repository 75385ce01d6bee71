"""The default config file: with no --config, venus-modbusd reads /etc/venus-modbusd/venus-modbusd.yaml
when it exists (README.md, docs/deploy.md, src/app/Config.h).

The machine's /etc is never touched: the test re-runs itself in new mount and network namespaces
(`unshare -m -n`, root), where /etc is a tmpfs of symbolic links to the real entries plus a
venus-modbusd directory of the test's own, and where port 502 (the default --listen) is free.
There it checks, on a private bus with the simulated site:
  - a default file's listen address and read-only take effect;
  - --config FILE wins over the default file, which is then not read;
  - without the file the built-in defaults apply (0.0.0.0:502, writes allowed);
  - a broken default file exits 2 naming the file and line, for the daemon and for --check.
When namespaces cannot be made here it skips (exit 77), but fails when the environment has CI=true.
Usage: default_config_test.py BUILD_DIR
"""
import os
import re
import shutil
import struct
import subprocess
import sys

from sitelib import SHIPPED_MAP, Checks, Connection, Site, wait_for

BUILD = os.path.abspath(sys.argv[1])
DAEMON = os.path.join(BUILD, "venus-modbusd")
DEFAULT_DIR = "/etc/venus-modbusd"
DEFAULT_FILE = DEFAULT_DIR + "/venus-modbusd.yaml"
SETPOINT = 2700  # settings /Settings/CGwacs/AcPowerSetPoint at unit 100, writable
INSIDE = "VMD_DEFAULT_CONFIG_NAMESPACE"


def reexec_in_namespaces():
    probe = subprocess.run(["unshare", "-m", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        why = "cannot make mount and network namespaces here (unshare -m -n: %s)" % probe.stderr.strip()
        if os.environ.get("CI") == "true":
            print("FAIL: " + why + " (CI=true)", file=sys.stderr)
            sys.exit(1)
        print("SKIP: " + why)
        sys.exit(77)
    env = dict(os.environ, **{INSIDE: "1"})
    sys.exit(subprocess.run(["unshare", "-m", "-n", "--", sys.executable, os.path.abspath(__file__), BUILD],
                            env=env).returncode)


def private_etc(work):
    """In this mount namespace only: /etc becomes a tmpfs of links to the real /etc's entries, with an
    empty venus-modbusd directory of its own (an installed one is hidden)."""
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    real = os.path.join(work, "etc-real")
    os.mkdir(real)
    subprocess.run(["mount", "--bind", "/etc", real], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/etc"], check=True)
    for name in os.listdir(real):
        if name != "venus-modbusd":
            os.symlink(os.path.join(real, name), os.path.join("/etc", name))
    os.mkdir(DEFAULT_DIR)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


checks = Checks("default config")
check = checks.check


def start(site, log, *args):
    """The daemon with no --config (unless args give one) and no --listen; returns (proc, HOST:PORT or None)."""
    proc = site.spawn([DAEMON, "--map", SHIPPED_MAP, "--bus", site.bus, *args], log)
    found = wait_for(lambda: re.search(r"listening on (\S+) ", site.text(log)) or proc.poll() is not None, 60)
    if proc.poll() is not None or not found:
        print(site.text(log), file=sys.stderr)
        return proc, None
    return proc, found.group(1)


def write_reply(address, value=-300):
    """The reply PDU to a write single of 2700 through `address` (HOST:PORT)."""
    c = Connection(int(address.rsplit(":", 1)[1]))
    try:
        return c.request(100, struct.pack(">BHh", 6, SETPOINT, value))
    finally:
        c.close()


def main():
    with Site(BUILD, prefix="vmd-default-config.") as site:
        private_etc(site.work)
        check(os.listdir(DEFAULT_DIR) == [] and os.path.exists("/etc/passwd"),
              "in the namespace /etc has an empty venus-modbusd directory of the test's own, the rest as it was")
        site.start_sim()

        # A default file that listens on 127.0.0.1 and is read-only.
        with open(DEFAULT_FILE, "w") as f:
            f.write("listen: 127.0.0.1:0\nread-only: true\n")
        r = subprocess.run([DAEMON, "--map", SHIPPED_MAP, "--check"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and DEFAULT_FILE + ": OK (config)" in r.stdout,
              "--check without --config checks the default file: %d %r" % (r.returncode, r.stdout[-200:]))
        proc, address = start(site, "with-file.log")
        check(address is not None and address.startswith("127.0.0.1:") and address != "127.0.0.1:0",
              "with the default file the daemon listens where the file says, 127.0.0.1 (%s)" % address)
        if address:
            check(write_reply(address) == b"\x86\x02", "and the file's read-only: true refuses a write with exception 2")
        check(site.stop(proc) == 0, "the daemon stops cleanly")

        # --config wins: the default file is not read at all.
        proc, address = start(site, "explicit.log", "--config", "/dev/null")
        check(address == "0.0.0.0:502", "with --config /dev/null the default file is not read: 0.0.0.0:502 (%s)" % address)
        if address:
            check(write_reply("127.0.0.1:502", 21) == struct.pack(">BHh", 6, SETPOINT, 21),
                  "and writes are allowed (the file's read-only does not apply)")
        check(site.stop(proc) == 0, "the daemon stops cleanly")

        # No file: the built-in defaults.
        os.remove(DEFAULT_FILE)
        r = subprocess.run([DAEMON, "--map", SHIPPED_MAP, "--check"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and "(config)" not in r.stdout, "--check without the file reads no config: %r" % r.stdout[-200:])
        proc, address = start(site, "without-file.log")
        check(address == "0.0.0.0:502", "without the default file the daemon listens on 0.0.0.0:502 (%s)" % address)
        if address:
            check(write_reply("127.0.0.1:502", 22) == struct.pack(">BHh", 6, SETPOINT, 22),
                  "and writes are allowed (read-only is off by default)")
        check(site.stop(proc) == 0, "the daemon stops cleanly")

        # A broken default file: exit 2, naming the file and the line.
        with open(DEFAULT_FILE, "w") as f:
            f.write("log-level: info\nread-only: maybe\n")
        expected = DEFAULT_FILE + ":2: 'read-only' must be true or false"
        for args in ([], ["--check"]):
            r = subprocess.run([DAEMON, "--map", SHIPPED_MAP, "--bus", site.bus, *args], capture_output=True,
                               text=True, timeout=60)
            check(r.returncode == 2 and expected in r.stderr,
                  "a broken default file exits 2 naming it%s: %d %r" % (" (--check)" if args else "", r.returncode, r.stderr))
        shutil.rmtree(DEFAULT_DIR)
    checks.finish()


if __name__ == "__main__":
    if os.environ.get(INSIDE) != "1":
        reexec_in_namespaces()
    main()
