"""Connection handling through real sockets against the daemon on the simulated site.

Run via with-site.sh, one case per CTest test:

  connection_test.py slow-reader    a pipelined burst of 20,000 requests read slowly: every reply, in order
  connection_test.py half-close     requests followed by shutdown(SHUT_WR) are carried out and answered
  connection_test.py oversize       MBAP length up to 260 answers exception 3; above it the connection closes
  connection_test.py header-log     a bad MBAP header is logged with what was wrong, and only that (rate-limited)
  connection_test.py per-address    the per-address limit refuses, rate-limited in the log, and follows SIGHUP
  connection_test.py evict          a full server closes the connection idle longest for a newcomer
  connection_test.py reload-access  SIGHUP applies --allow and --write-allow to open connections
  connection_test.py fc23-errors    function 23 with bad quantities, byte counts or lengths: exception 3, no write
  connection_test.py bad-object-path  a write to an output whose D-Bus name is not an object path: exception 10
                                    (run on scenarios/bad-output-id.yaml)
  connection_test.py never-reads-output  a client that never reads: the server stops reading once 64 KiB of
                                    replies wait in it; every reply comes, in order, when it reads
  connection_test.py never-reads-queue   the same with requests behind a hung write: it stops reading once
                                    64 requests wait
  connection_test.py evict-busy     a connection with a write in progress is never evicted; when all are, the
                                    newcomer is closed
  connection_test.py churn          32 silent connections reconnecting when closed do not keep a poller out
  connection_test.py idle-backpressure  the idle timeout does not run while the server does not read
  connection_test.py log-flood      3000 bad headers: a bounded number of log lines and a count

Cases that need their own options start a second venus-modbusd on the site's bus (VMD_BUS); the
others use the server with-site.sh started (VMD_PORT, VMD_SERVER_LOG). Clients take distinct source
addresses of 127.0.0.0/8 (127.0.0.2, 127.0.0.3, ...) to be distinct peers. Every wait is for a real
event (a reply, a log line, the server closing the socket), with margins for a sanitizer build on a
loaded machine.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from sitelib import SHIPPED_MAP, Checks, RawMbap, SilentChurn, frame, read_pdu, waiting

CASE = sys.argv[1]
HOST = os.environ["VMD_HOST"]
BUILD = os.environ["VMD_BUILD"]
BUS = os.environ["VMD_BUS"]
WORK = os.environ["VMD_WORK"]
checks = Checks("connection " + CASE)
check = checks.check
failures = checks.failures
wait_for = waiting(30.0, interval=0.05)

SETPOINT = 2700  # settings /Settings/CGwacs/AcPowerSetPoint, int16 W, writable (unit 100)
VEBUS_UNIT = 246  # the site's Multi; registers 3..122 are one contiguous block


def write_pdu(address, value):
    return struct.pack(">BHh", 6, address, value)


raw = RawMbap(resets_close=True, close_wait=30.0)
read_reply, read_replies = raw.read_reply, raw.read_replies
request, closed_by_server = raw.request, raw.closed_by_server


def connect(port, source="127.0.0.1", timeout=30.0, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect((HOST, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def still_served(s, tid=900):
    try:
        reply = request(s, 100, read_pdu(SETPOINT, 1), tid)
    except OSError:
        return False
    return reply is not None and reply[0] == tid and reply[2][:2] == b"\x03\x02"


def peer_of(s):
    host, port = s.getsockname()
    return "%s:%d" % (host, port)


class Daemon:
    """A venus-modbusd of this test's own on the site's bus, stopped by PID; its exit status is checked."""

    count = 0

    def __init__(self, *args):
        Daemon.count += 1
        self.log_path = os.path.join(WORK, "connection-daemon%d.log" % Daemon.count)
        self.err = open(self.log_path, "w")
        # An explicit config (empty unless the case brings one) and map: an installed
        # /etc/venus-modbusd/venus-modbusd.yaml or map must not change what the test runs against.
        config = [] if "--config" in args else ["--config", "/dev/null"]
        command = [os.path.join(BUILD, "venus-modbusd"), *config, "--map", SHIPPED_MAP, "--bus", BUS,
                   "--listen", "127.0.0.1:0", "--log-level", "debug"] + list(args)
        self.proc = subprocess.Popen(command, stderr=self.err)
        if not wait_for(lambda: self.proc.poll() is not None or re.search(r"listening on 127\.0\.0\.1:\d+", self.log()),
                        timeout=60):
            self.stop()
            sys.exit("the daemon did not start listening within 60 s:\n" + self.log())
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log())
        if not m:
            sys.exit("the daemon exited at start:\n" + self.log())
        self.port = int(m.group(1))

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, pattern, timeout=30.0):
        return wait_for(lambda: re.search(pattern, self.log()) is not None, timeout)

    def reload(self):
        """SIGHUP, then wait for the reload to be logged as done (the map line comes last)."""
        before = self.log().count("reload: map")
        self.proc.send_signal(signal.SIGHUP)
        return wait_for(lambda: self.log().count("reload: map") > before)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        check(status == 0, "the daemon stops cleanly on SIGTERM (status %s)" % status)
        if failures:
            print("--- %s (last 30 lines)" % self.log_path)
            print("\n".join(self.log().splitlines()[-30:]))


def write_config(name, text):
    """Writes the config file `name` of this test's own daemon and returns its path."""
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def site_log():
    with open(os.environ["VMD_SERVER_LOG"]) as f:
        return f.read()


# --- issue 11 item 2 ----------------------------------------------------------------------------
def slow_reader():
    """20,000 pipelined requests, read only after the frame timeout has passed several times over."""
    daemon = Daemon("--frame-timeout", "1000")
    try:
        total = 20000
        # A small receive buffer and replies of 209 bytes: the server's 64 KiB of pending output is
        # reached long before the burst is read, so it stops reading with half a frame buffered.
        s = connect(daemon.port, rcvbuf=4096)
        burst = b"".join(frame(tid, VEBUS_UNIT, read_pdu(3, 100)) for tid in range(total))
        sent = threading.Event()
        errors = []

        def sender():
            try:
                s.sendall(burst)
                sent.set()
            except OSError as e:
                errors.append(e)

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        # The slow part: nothing is read for four frame timeouts (the server checks every second).
        time.sleep(4.0)
        replies = read_replies(s, total)
        tids = [reply[0] for reply in replies]
        wrong = next((reply for reply in replies if reply[2][:2] != b"\x03\xc8"), None)
        if wrong is not None:
            check(False, "reply %d is a read of 100 registers (got %s)" % (wrong[0], wrong[2][:2].hex()))
        thread.join(timeout=60)
        check(not errors, "the whole burst could be sent (%s)" % errors)
        check(len(tids) == total, "a slow reader gets every one of %d replies (got %d)" % (total, len(tids)))
        check(tids == list(range(len(tids))), "the replies come in request order (transaction ids)")
        check(still_served(s), "the slow reader is still connected and served afterwards")
        check("frame timeout" not in daemon.log(), "no frame timeout is logged for frames sent whole")
        s.close()
    finally:
        daemon.stop()


# --- issue 11 item 3 ----------------------------------------------------------------------------
def half_close():
    port = int(os.environ["VMD_PORT"])
    # A single write, then shutdown(SHUT_WR): it is carried out, answered, then the server closes.
    s = connect(port)
    s.sendall(frame(41, 100, write_pdu(SETPOINT, 123)))
    s.shutdown(socket.SHUT_WR)
    reply = read_reply(s)
    check(reply == (41, 100, write_pdu(SETPOINT, 123)), "a half-closed write is answered (%r)" % (reply,))
    check(closed_by_server(s), "then the server closes the connection")
    s.close()
    r = connect(port)
    reply = request(r, 100, read_pdu(SETPOINT, 1))
    check(reply is not None and reply[2] == b"\x03\x02\x00\x7b", "the write was carried out: 2700 reads 123 (%r)" % (reply,))

    # Pipelined writes and reads, then shutdown(SHUT_WR): every reply, in order, then the close.
    s = connect(port)
    s.sendall(frame(1, 100, write_pdu(SETPOINT, -200)) + frame(2, 100, read_pdu(SETPOINT, 1)) +
              frame(3, 100, write_pdu(SETPOINT, 321)) + frame(4, 100, read_pdu(SETPOINT, 1)))
    s.shutdown(socket.SHUT_WR)
    replies = [read_reply(s) for _ in range(4)]
    check([r and r[0] for r in replies] == [1, 2, 3, 4], "four pipelined requests before a half-close: four replies in order (%r)" % replies)
    check(replies[1] is not None and replies[1][2] == b"\x03\x02" + struct.pack(">h", -200),
          "the read after the first write sees it (%r)" % (replies[1],))
    check(replies[3] is not None and replies[3][2] == b"\x03\x02" + struct.pack(">h", 321),
          "the read after the second write sees it (%r)" % (replies[3],))
    check(closed_by_server(s), "then the server closes the connection")
    s.close()

    # An incomplete frame at the half-close can never complete: the connection closes, nothing hangs.
    s = connect(port)
    s.sendall(frame(5, 100, read_pdu(SETPOINT, 1))[:8])
    s.shutdown(socket.SHUT_WR)
    check(closed_by_server(s), "a half-close after an incomplete frame closes the connection")
    s.close()
    check(wait_for(lambda: "closed with an incomplete request of 8 bytes" in site_log()),
          "and the dropped 8 bytes are logged")
    check(still_served(r), "other clients are served throughout")
    r.close()


# --- issue 11 item 5 ----------------------------------------------------------------------------
def oversize():
    port = int(os.environ["VMD_PORT"])
    s = connect(port)
    fc16 = struct.pack(">BHHB", 16, SETPOINT, 124, 248) + b"\x00" * 248  # PDU 254, MBAP length 255
    reply = request(s, 100, fc16, tid=11)
    check(reply == (11, 100, b"\x90\x03"), "FC 16 with 124 registers (length 255): exception 3 (%r)" % (reply,))
    fc23 = struct.pack(">BHHHHB", 23, SETPOINT, 1, SETPOINT, 122, 244) + b"\x00" * 244  # PDU 254
    reply = request(s, 100, fc23, tid=12)
    check(reply == (12, 100, b"\x97\x03"), "FC 23 with 122 write registers (length 255): exception 3 (%r)" % (reply,))
    longest = struct.pack(">BHHB", 16, SETPOINT, 126, 252) + b"\x00" * 253  # PDU 259, MBAP length 260
    reply = request(s, 100, longest, tid=13)
    check(reply == (13, 100, b"\x90\x03"), "a request of MBAP length 260: exception 3 (%r)" % (reply,))
    check(still_served(s), "the connection goes on serving after them")
    too_long = struct.pack(">BHHB", 16, SETPOINT, 127, 254) + b"\x00" * 254  # PDU 260, MBAP length 261
    s.sendall(frame(14, 100, too_long))
    check(closed_by_server(s), "a request of MBAP length 261 closes the connection")
    s.close()
    check(wait_for(lambda: "length 261 (must be 2..260)" in site_log()), "and says so in the log")
    s = connect(port)
    reply = request(s, 100, read_pdu(SETPOINT, 1))
    check(reply is not None and reply[2][:2] == b"\x03\x02", "nothing was written by the refused requests: 2700 is readable")
    s.close()


# --- issue 11 item 6 (first half) ---------------------------------------------------------------
def header_log():
    port = int(os.environ["VMD_PORT"])
    cases = [
        ("protocol id 1, length right", frame(1, 100, read_pdu(SETPOINT, 1), protocol=1),
         "malformed MBAP header: protocol id 1 (must be 0): closing"),
        ("protocol id 0, length 0", struct.pack(">HHH", 1, 0, 0), "malformed MBAP header: length 0 (must be 2..260): closing"),
        ("protocol id 0, length 300", struct.pack(">HHH", 1, 0, 300),
         "malformed MBAP header: length 300 (must be 2..260): closing"),
        ("protocol id 7, length 1", struct.pack(">HHHB", 1, 7, 1, 100),
         "malformed MBAP header: protocol id 7 (must be 0) and length 1 (must be 2..260): closing"),
    ]
    # Per-connection lines are rate-limited (issue 24): the first of an interval is logged whole, the rest
    # are counted in one line naming the last. So: one case alone (its own line), then the rest (the
    # count line names the last of them); tests/unit/MbapTest.cpp checks every problem's text.
    peers = []
    for name, data, expected in cases:
        s = connect(port)
        peers.append(peer_of(s))
        s.sendall(data)
        check(closed_by_server(s), "%s: the connection is closed" % name)
        s.close()
    first = peers[0] + ": " + cases[0][2]
    check(wait_for(lambda: first in site_log()), "%s: logged as '%s'" % (cases[0][0], cases[0][2]))
    rest = "%d more connections closed for an error or a timeout in the last " % (len(cases) - 1)
    last = "(last: %s: %s)" % (peers[-1], cases[-1][2])
    check(wait_for(lambda: any(rest in l and l.endswith(last) for l in site_log().splitlines())),
          "the other %d are counted in one line, which names the last: '%s'" % (len(cases) - 1, cases[-1][2]))
    lines = [l for l in site_log().splitlines() if "malformed MBAP header" in l]
    check(len(lines) == 2, "two lines for four bad headers (%d)" % len(lines))
    check(not any("out of range" in l for l in lines), "no line blames what was right")


# --- issue 11 item 4 ----------------------------------------------------------------------------
def per_address():
    config = write_config("per-address.yaml", "max-clients-per-address: 2\n")
    daemon = Daemon("--config", config)
    try:
        first = [connect(daemon.port, "127.0.0.2") for _ in range(2)]
        check(all(still_served(c) for c in first), "two connections from 127.0.0.2 are served")
        third = connect(daemon.port, "127.0.0.2")
        check(closed_by_server(third), "a third from 127.0.0.2 is closed at once (--max-clients-per-address 2)")
        check(daemon.wait_log(re.escape(peer_of(third)) + r": connection refused: already 2 connections from 127\.0\.0\.2 "
                              r"\(--max-clients-per-address\)"), "the refusal is logged with its reason")
        other = connect(daemon.port, "127.0.0.3")
        check(still_served(other), "another address is still served")
        # A flood of refused connections: one line per interval and a count, not a line each.
        closed = 0
        for _ in range(30):
            c = connect(daemon.port, "127.0.0.2")
            closed += 1 if closed_by_server(c) else 0
            c.close()
        check(closed == 30, "30 more connections from 127.0.0.2 are all closed (%d)" % closed)
        # The count comes once the interval (10 s) is over; on a slow machine it may be split over two lines.
        summary = r"(\d+) more connections refused or evicted in the last \d+ s \(last: 127\.0\.0\.2:\d+: " \
                  r"connection refused: already 2 connections from 127\.0\.0\.2"
        counted = lambda: sum(int(n) for n in re.findall(summary, daemon.log()))
        check(wait_for(lambda: counted() >= 30, timeout=40) and counted() == 30,
              "the 30 refusals after the first are logged as a count, not a line each (%d)" % counted())
        single = [l for l in daemon.log().splitlines() if "connection refused" in l and "more connections" not in l]
        check(len(single) == 1, "only the first refusal has a line of its own (%d)" % len(single))
        check(all(still_served(c) for c in first + [other]), "the admitted connections are served throughout")

        # SIGHUP: the new limit applies to new connections.
        write_config("per-address.yaml", "max-clients-per-address: 3\n")
        check(daemon.reload(), "the reload is done")
        check("reload: 32 clients at once, 3 per address" in daemon.log(), "the reload logs the new limit")
        now_third = connect(daemon.port, "127.0.0.2")
        check(still_served(now_third), "after the reload to 3, a third connection from 127.0.0.2 is served")
        fourth = connect(daemon.port, "127.0.0.2")
        check(closed_by_server(fourth), "and a fourth is closed")
        for c in first + [other, now_third, third, fourth]:
            c.close()
    finally:
        daemon.stop()


def evict():
    daemon = Daemon("--max-clients", "4")
    try:
        # Four clients fill the server; the first becomes the one idle longest.
        clients = [connect(daemon.port, "127.0.0.%d" % (2 + i)) for i in range(4)]
        for i, c in enumerate(clients):
            check(still_served(c, tid=10 + i), "client %d is served" % i)
        for i, c in enumerate(clients[1:]):
            still_served(c, tid=20 + i)  # the others stay active
        newcomer = connect(daemon.port, "127.0.0.9")
        check(still_served(newcomer), "a newcomer to a full server (--max-clients 4) is served")
        check(closed_by_server(clients[0]), "the connection idle longest is closed for it")
        check(daemon.wait_log(re.escape(peer_of(clients[0])) + r": closing: evicted for " + re.escape(peer_of(newcomer)) +
                              r" \(already 4 clients, --max-clients\), idle \d+ s"), "the eviction is logged, naming both")
        check(all(still_served(c, tid=30 + i) for i, c in enumerate(clients[1:])), "the active ones are still served")
        # The evicted client reconnects: now the newcomer, quiet since its request, makes room.
        back = connect(daemon.port, "127.0.0.2")
        check(still_served(back), "the evicted client gets back in")
        check(closed_by_server(newcomer), "by closing the one now idle longest")
        for c in clients + [newcomer, back]:
            c.close()
    finally:
        daemon.stop()


# --- issue 18 item 8 ----------------------------------------------------------------------------
def reload_access():
    config = write_config("access.yaml", "log-level: debug\n")
    daemon = Daemon("--config", config)
    try:
        leaving = connect(daemon.port, "127.0.0.2")   # will be removed from --allow
        writer = connect(daemon.port, "127.0.0.3")    # stays in --write-allow
        reader = connect(daemon.port, "127.0.0.4")    # stays allowed, loses writing
        for c, value in ((leaving, 11), (writer, 12), (reader, 13)):
            reply = request(c, 100, write_pdu(SETPOINT, value))
            check(reply is not None and reply[2] == write_pdu(SETPOINT, value), "before the reload %s may write" % c.getsockname()[0])
        write_config("access.yaml", "log-level: debug\nallow: [127.0.0.3, 127.0.0.4]\nwrite-allow: [127.0.0.3]\n")
        check(daemon.reload(), "the reload is done")
        check(closed_by_server(leaving), "a connection no longer in --allow is closed by the reload")
        check(re.search(re.escape(peer_of(leaving)) + r": closing: no longer in --allow", daemon.log()) is not None,
              "and the log says why")
        reply = request(reader, 100, write_pdu(SETPOINT, 14))
        check(reply is not None and reply[2] == b"\x86\x02", "an open connection no longer in --write-allow gets exception 2 (%r)" % (reply,))
        check(still_served(reader), "and may still read")
        check(re.search(re.escape(peer_of(reader)) + r": writes refused from now on", daemon.log()) is not None,
              "the change is logged for that connection")
        reply = request(writer, 100, write_pdu(SETPOINT, 15))
        check(reply is not None and reply[2] == write_pdu(SETPOINT, 15), "a connection still in --write-allow writes")
        reply = request(writer, 100, read_pdu(SETPOINT, 1))
        check(reply is not None and reply[2] == b"\x03\x02\x00\x0f", "the refused write changed nothing: 2700 reads 15")
        # And back: the write permission returns to the open connection.
        write_config("access.yaml", "log-level: debug\nallow: [127.0.0.3, 127.0.0.4]\n")
        check(daemon.reload(), "the second reload is done")
        reply = request(reader, 100, write_pdu(SETPOINT, 16))
        check(reply is not None and reply[2] == write_pdu(SETPOINT, 16), "write-allow widened: the open connection writes again")
        for c in (leaving, writer, reader):
            c.close()
    finally:
        daemon.stop()


# --- issue 16: function 23's checks through the server --------------------------------------------
def fc23(read_address, read_quantity, write_address, write_quantity, byte_count, data):
    """A function 23 PDU whose header fields are given as they are, right or wrong."""
    return struct.pack(">BHHHHB", 23, read_address, read_quantity, write_address, write_quantity, byte_count) + data


def fc23_errors():
    """Each malformed function 23 answers exception 3 on the same connection, and none writes."""
    port = int(os.environ["VMD_PORT"])
    sim_log = os.environ["VMD_SIM_LOG"]
    s = connect(port)
    baseline = request(s, 100, write_pdu(SETPOINT, 55), tid=1)
    check(baseline == (1, 100, write_pdu(SETPOINT, 55)), "2700 is set to 55 first (%r)" % (baseline,))

    def set_lines():
        with open(sim_log) as f:
            return [l for l in f if l.startswith("SET ") and "/Settings/CGwacs/AcPowerSetPoint" in l]

    sets_before = len(set_lines())
    value = struct.pack(">h", 777)  # what each bad request would write to 2700
    cases = [
        ("write quantity 122 (above 121), byte count 2", fc23(SETPOINT, 1, SETPOINT, 122, 2, value)),
        ("write quantity 122 with its 244 bytes (PDU of 254)", fc23(SETPOINT, 1, SETPOINT, 122, 244, value * 122)),
        ("write quantity 0, byte count 0", fc23(SETPOINT, 1, SETPOINT, 0, 0, b"")),
        ("byte count 4 for a write quantity of 1", fc23(SETPOINT, 1, SETPOINT, 1, 4, value * 2)),
        ("byte count 0 for a write quantity of 1", fc23(SETPOINT, 1, SETPOINT, 1, 0, value)),
        ("2 data bytes more than the byte count says", fc23(SETPOINT, 1, SETPOINT, 1, 2, value * 2)),
        ("1 data byte less than the byte count says", fc23(SETPOINT, 1, SETPOINT, 1, 2, value[:1])),
        ("no data at all (PDU of 10)", fc23(SETPOINT, 1, SETPOINT, 1, 2, b"")),
        ("a PDU of 9 bytes (no byte count)", fc23(SETPOINT, 1, SETPOINT, 1, 2, b"")[:9]),
        ("read quantity 0", fc23(SETPOINT, 0, SETPOINT, 1, 2, value)),
        ("read quantity 126 (above 125)", fc23(SETPOINT, 126, SETPOINT, 1, 2, value)),
    ]
    for tid, (name, pdu) in enumerate(cases, start=10):
        reply = request(s, 100, pdu, tid)
        check(reply == (tid, 100, b"\x97\x03"), "FC 23, %s: exception 3 (%r)" % (name, reply))
    reply = request(s, 100, read_pdu(SETPOINT, 1), tid=50)
    check(reply == (50, 100, b"\x03\x02\x00\x37"), "the same connection is served after them, and 2700 still reads 55 (%r)" % (reply,))
    check(len(set_lines()) == sets_before, "no SetValue reached the settings service (%d SET lines, %d before)"
          % (len(set_lines()), sets_before))
    # A well-formed one on the same connection is carried out and reads its own write back.
    reply = request(s, 100, fc23(SETPOINT, 1, SETPOINT, 1, 2, value), tid=51)
    check(reply == (51, 100, b"\x17\x02" + value), "a well-formed FC 23 on the same connection writes 777 and reads it back (%r)" % (reply,))
    check(len(set_lines()) == sets_before + 1, "and that one write reached D-Bus")
    s.close()


# --- issue 16: a D-Bus name the server cannot call -----------------------------------------------
def bad_object_path():
    """An output identifier that makes no valid object path ("relay 1") can be read but not written:
    the write answers exception 10, and the daemon and the connection go on."""
    port = int(os.environ["VMD_PORT"])
    unit, slot1_state, slot2_state = 7, 53300 + 24, 53300 + 36 + 24
    s = connect(port)
    reply = request(s, unit, read_pdu(53300, 8), tid=1)
    check(reply is not None and reply[2][2:].rstrip(b"\0") == b"relay 1", "slot 1 is output 'relay 1' (%r)" % (reply,))
    reply = request(s, unit, read_pdu(slot1_state, 1), tid=2)
    check(reply == (2, unit, b"\x03\x02\x00\x01"), "its state reads 1 (%r)" % (reply,))
    reply = request(s, unit, write_pdu(slot1_state, 0), tid=3)
    check(reply == (3, unit, b"\x86\x0a"), "a write to it answers exception 10 (%r)" % (reply,))
    check(wait_for(lambda: re.search(r"write from \S+ unit 7 register 53324 words \[0x0000\] -> "
                                     r"com\.victronenergy\.switch\.badid /SwitchableOutput/relay 1/State = 0 "
                                     r"\(i\): refused \(D-Bus error\)", site_log()) is not None),
          "the write is logged as refused by D-Bus")
    reply = request(s, unit, write_pdu(slot2_state, 1), tid=4)
    check(reply == (4, unit, write_pdu(slot2_state, 1)), "the same connection then writes output relay_2 (%r)" % (reply,))
    check(wait_for(lambda: "SET com.victronenergy.switch.badid /SwitchableOutput/relay_2/State i 1 -> 0"
                   in open(os.environ["VMD_SIM_LOG"]).read()), "and that write reaches the service")
    check("D-Bus failure" not in site_log(), "the daemon did not stop on it")
    s.close()


# --- issue 16: a client that never reads (docs/protocol.md, "Hostile clients") ---------------------
FRAME_BYTES = 12           # an MBAP frame of a read (FC 3) or a write single (FC 6)
INPUT_BUFFER = 4 * 260     # what the server reads from a client at most at once (Server.cpp kInputBufferSize)
MAX_PENDING = 64 * 1024    # the replies that may wait in the server before it stops reading
MAX_QUEUED = 64            # the requests that may wait behind a write before it stops reading
PER_READ = INPUT_BUFFER // FRAME_BYTES  # whole frames one read can bring: 86


def tcp_queues(local, remote):
    """(send queue, receive queue) in bytes of the IPv4 TCP socket from `local` to `remote` ((host, port)
    pairs), from /proc/net/tcp: bytes written but not acknowledged, and received but not read."""
    def hexaddr(address):
        host, port = address
        return "%s:%04X" % ("".join("%02X" % int(b) for b in reversed(host.split("."))), port)
    want = (hexaddr(local), hexaddr(remote))
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if (fields[1], fields[2]) == want:
                tx, rx = fields[4].split(":")
                return int(tx, 16), int(rx, 16)
    raise AssertionError("no TCP socket %s -> %s in /proc/net/tcp" % want)


class NeverReader:
    """A client with tiny socket buffers that sends `burst` without blocking and never reads, until
    everything is still: then the bytes the server took and the bytes it wrote are known exactly."""

    def __init__(self, port, burst):
        self.sock = connect(port, rcvbuf=4096)
        # A small send buffer too, so that what the client's kernel holds stays small beside the burst.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.sock.setblocking(False)
        self.burst = burst
        self.sent = 0

    def push(self):
        """Sends what the socket takes now; returns whether anything was taken."""
        before = self.sent
        while self.sent < len(self.burst):
            try:
                self.sent += self.sock.send(self.burst[self.sent:self.sent + 65536])
            except BlockingIOError:
                break
        return self.sent > before

    def state(self):
        client = self.sock.getsockname(), self.sock.getpeername()
        client_tx, client_rx = tcp_queues(*client)
        server_tx, server_rx = tcp_queues(client[1], client[0])
        return {"sent": self.sent, "client_tx": client_tx, "client_rx": client_rx, "server_tx": server_tx,
                "server_rx": server_rx}

    def settle(self, still=2.0, timeout=60.0):
        """Keeps sending until nothing moved for `still` seconds; returns the state then."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            self.push()
            now = self.state()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= still:
                return now
            time.sleep(0.05)
        raise AssertionError("the connection never settled: %r" % last)

    def taken(self, state):
        """The bytes the server has read from this client."""
        return state["sent"] - state["client_tx"] - state["server_rx"]

    def read_all(self, count):
        """Sends the rest of the burst from a thread while reading `count` replies; returns them."""
        self.sock.setblocking(True)
        self.sock.settimeout(60.0)
        rest = self.burst[self.sent:]
        errors = []

        def sender():
            try:
                self.sock.sendall(rest)
            except OSError as e:
                errors.append(e)

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        replies = []
        for _ in range(count):
            reply = read_reply(self.sock)
            if reply is None:
                break
            replies.append(reply)
        thread.join(timeout=60)
        check(not errors, "the rest of the burst was sent once the client read (%s)" % errors)
        return replies


def never_reads_output():
    """Big replies, no writes: reading stops once 64 KiB of replies wait in the server."""
    daemon = Daemon("--frame-timeout", "1000")
    try:
        # 720 KB of requests: more than the server's kernel buffers absorb (about 3 MB of replies and
        # 64 KB of requests on this machine) before its own 64 KiB fill.
        total = 60000
        reply_bytes = 7 + 2 + 200  # MBAP header, function and byte count, 100 registers
        client = NeverReader(daemon.port, b"".join(frame(t, VEBUS_UNIT, read_pdu(3, 100)) for t in range(total)))
        state = client.settle()
        print("settled: %r" % state)
        # Bytes left unread in the server's socket while nothing moves: the server is not reading. (Too
        # small a burst would be read whole, and this check would fail rather than pass unproven.)
        check(state["server_rx"] > 0, "the server stopped reading: %d request bytes wait unread in its socket"
              % state["server_rx"])
        def pending(state):
            """The bytes of replies made but still in the server: every request it took was answered."""
            return client.taken(state) // FRAME_BYTES * reply_bytes - state["server_tx"] - state["client_rx"]

        check(MAX_PENDING <= pending(state) < MAX_PENDING + PER_READ * reply_bytes,
              "it stopped with 64 KiB of replies waiting in it, at most one read's worth more: %d bytes beyond the "
              "%d in the sockets" % (pending(state), state["server_tx"] + state["client_rx"]))
        other = connect(daemon.port, "127.0.0.2")
        check(all(still_served(other, tid=1000 + i) for i in range(20)), "another client is served meanwhile")
        again = client.settle()
        check(again["server_rx"] > 0 and MAX_PENDING <= pending(again) < MAX_PENDING + PER_READ * reply_bytes,
              "and the never-reading client is still not read, with as much waiting (%d bytes)" % pending(again))
        replies = client.read_all(total)
        check(len(replies) == total, "once it reads, it gets every one of %d replies (%d)" % (total, len(replies)))
        check([r[0] for r in replies] == list(range(len(replies))), "in request order")
        check(all(r[2][:2] == b"\x03\xc8" for r in replies), "each a read of 100 registers")
        check("frame timeout" not in daemon.log(), "no frame timeout while the server was not reading (--frame-timeout 1000)")
        other.close()
        client.sock.close()
    finally:
        daemon.stop()


def start_extra_sim():
    """venus-sim with scenarios/extra-meter.yaml on the site's bus (unit 41: a Multi whose
    /Hub4/L1/AcPowerSetpoint, register 37, never answers a SetValue); returns (process, log path)."""
    sim_log = os.path.join(WORK, "extra-sim.log")
    extra = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios", "extra-meter.yaml")
    with open(sim_log, "w") as out:
        sim = subprocess.Popen([os.path.join(BUILD, "venus-sim"), "--bus", BUS, "--scenario", extra], stdout=out,
                               stderr=out)
    check(wait_for(lambda: "services ready" in open(sim_log).read()), "the extra simulator is ready")
    return sim, sim_log


def evict_busy():
    """A connection with a write in progress is never evicted; when every one has, the newcomer is closed."""
    sim, sim_log = start_extra_sim()
    daemon = None
    try:
        daemon = Daemon("--max-clients", "2", "--write-timeout", "10000")
        hung = frame(7, 41, write_pdu(37, 5))
        b = connect(daemon.port, "127.0.0.3")
        a = connect(daemon.port, "127.0.0.2")
        check(wait_for(lambda: request(a, 41, read_pdu(33, 1), 1) == (1, 41, b"\x03\x02\x00\x03")), "unit 41 is served")
        a.sendall(hung)  # a is busy from now on
        check(wait_for(lambda: any("/Hub4/L1/AcPowerSetpoint" in l and "hang" in l for l in open(sim_log).read().splitlines()
                                   if l.startswith("SET "))), "a's write reached D-Bus and hangs")
        check(still_served(b), "b is served (and is now more recently active than a)")
        c = connect(daemon.port, "127.0.0.4")
        check(still_served(c), "a newcomer to the full server (--max-clients 2) is served")
        check(closed_by_server(b), "by evicting b, though a has received nothing for longer")
        check(daemon.wait_log(re.escape(peer_of(b)) + r": closing: evicted for " + re.escape(peer_of(c))),
              "the eviction of b is logged")
        c.sendall(frame(8, 41, write_pdu(37, 6)))  # now every connection has a write in progress
        check(wait_for(lambda: sum(1 for l in open(sim_log).read().splitlines()
                                   if l.startswith("SET ") and "/Hub4/L1/AcPowerSetpoint" in l) >= 2), "c's write hangs too")
        d = connect(daemon.port, "127.0.0.5")
        check(closed_by_server(d, within=10), "with every connection writing, a newcomer is closed at once")
        check(daemon.wait_log(re.escape(peer_of(d)) + r": connection refused: already 2 clients \(--max-clients\), "
                              r"each with a write in progress"), "and the refusal says why")
        check(read_reply(a) == (7, 41, b"\x86\x0b"), "a's write still gets its answer (exception 11 at the timeout)")
        check(read_reply(c) == (8, 41, b"\x86\x0b"), "and c's")
        for s_ in (a, b, c, d):
            s_.close()
    finally:
        if daemon:
            daemon.stop()
        sim.terminate()
        sim.wait(timeout=30)


def never_reads_queue():
    """Small replies behind a hung write: reading stops once 64 requests wait."""
    sim, sim_log = start_extra_sim()
    daemon = None
    try:
        daemon = Daemon("--write-timeout", "10000")
        unit = 41  # vebus.test_faulty: /Hub4/L1/AcPowerSetpoint (register 37) never answers a SetValue
        other = connect(daemon.port, "127.0.0.2")
        mode = lambda tid: request(other, unit, read_pdu(33, 1), tid)
        check(wait_for(lambda: mode(1) == (1, unit, b"\x03\x02\x00\x03")), "unit 41 is served (/Mode 3)")
        total = 2000
        burst = frame(0, unit, write_pdu(37, 5)) + b"".join(frame(t, unit, read_pdu(33, 1)) for t in range(1, total + 1))
        client = NeverReader(daemon.port, burst)
        started = time.monotonic()
        state = client.settle()
        print("settled: %r" % state)
        check(time.monotonic() - started < 9, "settled while the write hangs (%.1f s of its 10 s)" % (time.monotonic() - started))
        check(any("/Hub4/L1/AcPowerSetpoint" in l and "hang" in l for l in open(sim_log).read().splitlines()
                  if l.startswith("SET ")), "the write reached D-Bus and hangs")
        check(state["server_rx"] > 0, "the server stopped reading: %d request bytes wait unread in its socket"
              % state["server_rx"])
        queued = (client.taken(state) - FRAME_BYTES) // FRAME_BYTES
        check(MAX_QUEUED <= queued <= MAX_QUEUED - 1 + PER_READ,
              "it stopped with 64 requests queued behind the write, at most one read's worth more: %d" % queued)
        check(state["server_tx"] == 0 and state["client_rx"] == 0, "no reply overtakes the pending write's")
        check(all(mode(100 + i) == (100 + i, unit, b"\x03\x02\x00\x03") for i in range(20)),
              "another client is served meanwhile")
        replies = client.read_all(total + 1)
        check(len(replies) == total + 1, "every one of %d replies comes (%d)" % (total + 1, len(replies)))
        check([r[0] for r in replies] == list(range(len(replies))), "in request order")
        check(bool(replies) and replies[0][2] == b"\x86\x0b", "the hung write first: exception 11 (%r)" % (replies[:1],))
        check(all(r[2] == b"\x03\x02\x00\x03" for r in replies[1:]), "then every read: /Mode 3")
        other.close()
        client.sock.close()
    finally:
        if daemon:
            daemon.stop()
        sim.terminate()
        sim.wait(timeout=30)


# --- issue 24 -------------------------------------------------------------------------------------
def churn():
    """32 silent connections from 4 addresses (within both limits) that reconnect as soon as they are
    closed, while a poller at 127.0.0.1 polls: it gets in, and then is answered (>= 99 %)."""
    daemon = Daemon()
    try:
        with SilentChurn(HOST, daemon.port, ["127.0.7.%d" % (1 + i % 4) for i in range(32)]) as attackers:
            # The attackers fill the server (32 = --max-clients) before the poller comes.
            check(wait_for(lambda: sum(1 for l in daemon.log().splitlines() if ": connected" in l and "127.0.7." in l) >= 32),
                  "the 32 silent connections are in")
            poller, answered, attempts, reconnects = None, 0, 0, 0
            # A poller that reconnects, as real ones do: first it gets in.
            def get_in():
                nonlocal poller
                try:
                    poller = connect(daemon.port)
                    return still_served(poller)
                except OSError:
                    return False
            check(wait_for(get_in, timeout=60), "the poller gets in")
            evictions_before = attackers.reconnects
            for i in range(300):
                attempts += 1
                if still_served(poller, tid=i):
                    answered += 1
                else:
                    reconnects += 1
                    wait_for(get_in, timeout=10)
                time.sleep(0.01)
            print("poller: %d of %d answered, %d reconnects; attackers reconnected %d times meanwhile" %
                  (answered, attempts, reconnects, attackers.reconnects - evictions_before))
            check(answered >= 0.99 * attempts, "the poller is answered under the churn: %d of %d" % (answered, attempts))
            check(attackers.reconnects >= 5, "the attackers did churn: %d reconnects" % attackers.reconnects)
        poller.close()
    finally:
        daemon.stop()


def idle_backpressure():
    """--idle-timeout does not run while the server does not read from the client (back-pressure):
    a reader of a big pipelined burst that reads only after twice the idle timeout gets every reply."""
    daemon = Daemon("--idle-timeout", "2", "--frame-timeout", "1000")
    try:
        total = 20000
        s = connect(daemon.port, rcvbuf=4096)
        burst = b"".join(frame(tid % 65536, VEBUS_UNIT, read_pdu(3, 100)) for tid in range(total))
        sender = threading.Thread(target=lambda: s.sendall(burst), daemon=True)
        sender.start()
        time.sleep(5.0)  # twice the idle timeout, with the sweep's second to spare
        tids = [reply[0] for reply in read_replies(s, total)]
        sender.join(timeout=60)
        check(len(tids) == total, "a reader that paused 5 s under back-pressure gets every one of %d replies (%d)"
              % (total, len(tids)))
        check("idle timeout" not in daemon.log(), "no idle timeout (--idle-timeout 2) while the server was not reading")
        check(still_served(s), "and it is still connected")
        s.close()
    finally:
        daemon.stop()


def log_flood():
    """3000 connections with a bad MBAP header each: a bounded number of lines, and a count of the rest;
    the audit line of an accepted write in the middle of it is logged all the same."""
    daemon = Daemon("--log-level", "info")
    try:
        bad = struct.pack(">HHH", 1, 7, 6) + b"\x64\x03\x00\x00\x00\x01"
        writer = connect(daemon.port, "127.0.0.2")
        for i in range(3000):
            s = connect(daemon.port, "127.0.7.%d" % (1 + i % 8))
            s.sendall(bad)
            closed_by_server(s)
            s.close()
            if i == 1500:
                reply = request(writer, 100, write_pdu(SETPOINT, 150))
                check(reply == (1, 100, write_pdu(SETPOINT, 150)), "a write amid the flood is answered (%r)" % (reply,))
        pattern = r"(\d+) more connections closed for an error or a timeout in the last \d+ s \(last: 127\.0\.7\.\d+:\d+: " \
                  r"malformed MBAP header: protocol id 7"
        counted = lambda: sum(int(n) for n in re.findall(pattern, daemon.log()))
        single = lambda: [l for l in daemon.log().splitlines() if "malformed MBAP header" in l and "more connections" not in l]
        check(wait_for(lambda: len(single()) + counted() >= 3000, timeout=40),
              "every bad header is logged or counted: %d lines, %d counted" % (len(single()), counted()))
        lines = [l for l in daemon.log().splitlines() if "malformed MBAP header" in l]
        print("%d lines about 3000 bad headers" % len(lines))
        check(len(lines) <= 20, "a bounded number of lines: %d for 3000 bad headers" % len(lines))
        check(re.search(r"write from 127\.0\.0\.2:\d+ unit 100 register 2700 words \[0x0096\] .*: accepted",
                        daemon.log()), "the accepted write's audit line is there")
        writer.close()
    finally:
        daemon.stop()


CASES = {"slow-reader": slow_reader, "half-close": half_close, "oversize": oversize, "header-log": header_log,
         "per-address": per_address, "evict": evict, "reload-access": reload_access,
         "fc23-errors": fc23_errors, "bad-object-path": bad_object_path,
         "never-reads-output": never_reads_output, "never-reads-queue": never_reads_queue, "evict-busy": evict_busy,
         "churn": churn, "idle-backpressure": idle_backpressure, "log-flood": log_flood}
if CASE not in CASES:
    sys.exit("unknown case " + CASE)
CASES[CASE]()
checks.finish()
