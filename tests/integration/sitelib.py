"""A simulated GX site for Python tests that start the daemon themselves, with their own options.

A private dbus-daemon (tests/integration/bus.conf), venus-sim with a scenario, and venus-modbusd;
every process is stopped by its PID. Readiness is probed (the simulator's "services ready", the
server's "listening on"), never waited for with a fixed sleep.
"""
import csv
import os
import re
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_SCENARIO = os.path.join(SOURCE, "tools", "venus-sim", "scenarios", "ess-site.yaml")
SHIPPED_MAP = os.path.join(SOURCE, "register-maps", "victron.yaml")


def wait_for(predicate, timeout=20.0, interval=0.02):
    """Polls `predicate` until it holds or `timeout` seconds pass; returns its last result."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def waiting(timeout, interval=0.02):
    """A wait_for whose default timeout is `timeout`, for a test whose waits are sized around it."""
    return lambda predicate, timeout=timeout: wait_for(predicate, timeout, interval)


def hostile_at_work(workers, started, ready, stop, held=()):
    """For a process of hostile clients: runs each callable of `workers` in a daemon thread, sets
    `ready` once every event of `started` is set (30 s at most each), returns when `stop` is set
    (120 s at most) after closing the sockets in `held`."""
    for worker in workers:
        threading.Thread(target=worker, daemon=True).start()
    for event in started.values():
        event.wait(30)
    ready.set()
    stop.wait(120)
    for s in held:
        s.close()


def published_list_missing(reference):
    """None when the published register list `reference`/attributes.csv is there. Otherwise says so and
    returns the test's exit status: 77 (skip), or 1 (fail) when the environment has CI=true."""
    if os.path.exists(os.path.join(reference, "attributes.csv")):
        return None
    if os.environ.get("CI") == "true":
        print("FAIL: the published register list is not at %s (CI=true)" % reference, file=sys.stderr)
        return 1
    print("SKIP: the published register list is not at %s" % reference)
    return 77


def published_unit_rows(reference):
    """The published unit table (REFERENCE/unitid2di.csv) as (unit ID, device instance) rows."""
    with open(os.path.join(reference, "unitid2di.csv"), newline="") as f:
        return [(int(r[0]), int(r[1])) for r in csv.reader(f) if len(r) >= 2 and r[0].strip().isdigit()]


class Checks:
    """A test's checks: each prints "ok" or "FAIL" with its message; finish() prints the summary."""

    def __init__(self, name):
        self.name = name
        self.failures = []

    def check(self, condition, message):
        """Records one check and returns `condition`."""
        print(("ok   " if condition else "FAIL ") + message, flush=True)
        if not condition:
            self.failures.append(message)
        return condition

    def run_parts(self, parts):
        """Runs each function under a "--- NAME" heading; one that raises is a failure of its own and
        the next still runs."""
        for part in parts:
            print("--- " + part.__name__, flush=True)
            try:
                part()
            except Exception as e:
                self.check(False, "%s raised %s: %s" % (part.__name__, type(e).__name__, e))

    def finish(self, tail=None):
        """Prints the summary; when a check failed, prints `tail()` (a log's end) to stderr and exits 1."""
        if self.failures:
            if tail is not None:
                print(tail(), file=sys.stderr)
            print("%s: %d failed" % (self.name, len(self.failures)))
            sys.exit(1)
        print("%s: all checks passed" % self.name)


class Site:
    def __init__(self, build, prefix="vmd-py-site."):
        self.build = build
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.procs = []
        self.bus = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()

    def path(self, name):
        return os.path.join(self.work, name)

    def start_bus(self):
        proc = subprocess.Popen(["dbus-daemon", "--config-file=" + os.path.join(HERE, "bus.conf"), "--nofork",
                                 "--print-address=1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(proc)
        self.bus = proc.stdout.readline().strip()
        if not self.bus.startswith("unix:"):
            raise RuntimeError("dbus-daemon did not print its address")
        return self.bus

    def spawn(self, command, log, env=None, stdout=False):
        """Starts `command` with its stderr (and its stdout when `stdout`) in the site's file `log`.

        stop_all() stops it."""
        out = open(self.path(log), "w")
        proc = subprocess.Popen(command, stdout=out if stdout else None, stderr=out, env=env)
        self.procs.append(proc)
        return proc

    def start_sim(self, scenario=DEFAULT_SCENARIO, extra=(), log="sim.log", timeout=20.0):
        """Starts venus-sim on the site's bus and waits up to `timeout` s for its services.

        `scenario` None starts the simulator's own default site."""
        if self.bus is None:
            self.start_bus()
        command = [os.path.join(self.build, "venus-sim"), "--bus", self.bus]
        if scenario is not None:
            command += ["--scenario", scenario]
        proc = self.spawn(command + list(extra), log, stdout=True)
        if not wait_for(lambda: "services ready" in self.text(log) or proc.poll() is not None, timeout):
            raise RuntimeError("venus-sim did not get ready:\n" + self.text(log))
        if proc.poll() is not None:
            raise RuntimeError("venus-sim exited with %s:\n%s" % (proc.returncode, self.text(log)))
        return proc

    def start_server(self, *args, log="server.log", env=None, bus=True, config="/dev/null", map_file=SHIPPED_MAP):
        """Starts venus-modbusd on 127.0.0.1:0 (unless args say otherwise) and returns (process, port).

        `--config /dev/null`, `--map` and `--state-dir` (the site's directory) keep an installed
        /etc/venus-modbusd config or map, and the output slots an installed daemon kept, out of the test."""
        command = [os.path.join(self.build, "venus-modbusd"), "--config", config, "--map", map_file]
        if "--state-dir" not in args:
            command += ["--state-dir", self.work]
        if bus:
            command += ["--bus", self.bus]
        if "--listen" not in args:
            command += ["--listen", "127.0.0.1:0"]
        command += list(args)
        proc = self.spawn(command, log, env=env)
        found = wait_for(lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)", self.text(log)) or proc.poll() is not None)
        if proc.poll() is not None or not found:
            raise RuntimeError("venus-modbusd did not start (%s):\n%s" % (proc.poll(), self.text(log)))
        return proc, int(found.group(1))

    def text(self, log):
        try:
            with open(self.path(log), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def set_lines(self, log="sim.log"):
        return [line for line in self.text(log).splitlines() if line.startswith("SET ")]

    def stop(self, proc, timeout=20):
        """Stops one process with SIGTERM and returns its exit status."""
        if proc.poll() is None:
            proc.terminate()
        return proc.wait(timeout=timeout)

    def stop_all(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


class Connection:
    """One Modbus TCP connection speaking raw MBAP, so that a test sees exactly what the server sends."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.transaction = 0

    def close(self):
        self.sock.close()

    def send(self, unit, pdu):
        self.transaction = (self.transaction + 1) & 0xFFFF
        self.sock.sendall(struct.pack(">HHHB", self.transaction, 0, len(pdu) + 1, unit) + pdu)
        return self.transaction

    def receive(self):
        """The next reply's (transaction, pdu); raises ConnectionError when the server closed."""
        header = self._exactly(7)
        transaction, _, length, _ = struct.unpack(">HHHB", header)
        return transaction, self._exactly(length - 1)

    def request(self, unit, pdu):
        sent = self.send(unit, pdu)
        transaction, reply = self.receive()
        if transaction != sent:
            raise AssertionError("reply to transaction %d came for %d" % (transaction, sent))
        return reply

    def read(self, unit, address, count=1):
        """The words read, or the exception code as an int."""
        reply = self.request(unit, struct.pack(">BHH", 3, address, count))
        if reply[0] & 0x80:
            return reply[1]
        return list(struct.unpack(">%dH" % (reply[1] // 2), reply[2:]))

    def write(self, unit, address, value):
        """None when accepted, or the exception code."""
        reply = self.request(unit, struct.pack(">BHH", 6, address, value & 0xFFFF))
        return reply[1] if reply[0] & 0x80 else None

    def _exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def closed_by_server(self):
        """True once the server has closed this connection (a read returns end of file)."""
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True


# Raw MBAP on a plain socket, for tests that send malformed frames or watch the server close a
# connection (sitelib.Connection raises where these return None).

def frame(tid, unit, pdu, protocol=0, length=None):
    """One MBAP frame; `protocol` and `length` override the header's fields to make a malformed one."""
    return struct.pack(">HHHB", tid, protocol, len(pdu) + 1 if length is None else length, unit) + pdu


def read_pdu(address, count, fc=3):
    """The PDU of a read request (function code 3 unless `fc` says otherwise)."""
    return struct.pack(">BHH", fc, address, count)


def recv_exactly(s, n):
    """`n` bytes from socket `s`, or None when the server closes it first."""
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class RawMbap:
    """A test's raw-MBAP helpers: whether a reset counts as the server closing, and how long to
    wait for a close by default."""

    def __init__(self, resets_close, close_wait):
        self.resets_close = resets_close
        self.close_wait = close_wait

    def read_reply(self, s):
        """One reply (tid, unit, pdu), or None when the server closed the connection (or reset it, when
        resets count as closing; otherwise the reset is raised)."""
        try:
            head = recv_exactly(s, 7)
            if head is None:
                return None
            tid, _, length, unit = struct.unpack(">HHHB", head)
            body = recv_exactly(s, length - 1)
        except (ConnectionResetError, BrokenPipeError):
            if not self.resets_close:
                raise
            return None
        return None if body is None else (tid, unit, body)

    def read_replies(self, s, count):
        """Up to `count` replies in the order they come, fewer when the server closes first."""
        replies = []
        while len(replies) < count:
            reply = self.read_reply(s)
            if reply is None:
                break
            replies.append(reply)
        return replies

    def request(self, s, unit, pdu, tid=1):
        """Sends one request and returns read_reply()."""
        s.sendall(frame(tid, unit, pdu))
        return self.read_reply(s)

    def closed_by_server(self, s, within=None):
        """True once the server has closed the connection (EOF or reset) within `within` seconds."""
        s.settimeout(self.close_wait if within is None else within)
        try:
            return s.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


class SilentChurn:
    """Silent connections to HOST:PORT, one from each source address of `sources` (bound before connect),
    each reconnecting as soon as the server closes it: the eviction abuse of issue 24, in a thread of its
    own (a `with` block). `reconnects` counts the closes it saw."""

    def __init__(self, host, port, sources):
        self.address = (host, port)
        self.sources = list(sources)
        self.reconnects = 0
        self.stop = threading.Event()
        self.held = {}
        self.missing = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, source):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.setblocking(False)
        try:
            s.connect(self.address)
        except BlockingIOError:
            pass
        except OSError:  # no port left for a moment: try again on the next round
            s.close()
            self.missing.append(source)
            return
        self.held[s] = source

    def run(self):
        for source in self.sources:
            self.open(source)
        while not self.stop.is_set():
            readable, _, _ = select.select(list(self.held), [], [], 0.05)
            for s in readable:
                try:
                    gone = s.recv(1) == b""
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if gone:  # closed by the server: straight back
                    source = self.held.pop(s)
                    s.close()
                    self.reconnects += 1
                    self.open(source)
            retry, self.missing = self.missing, []
            for source in retry:
                self.open(source)
        for s in self.held:
            s.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)
