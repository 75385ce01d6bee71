"""Malformed input and hostile clients against the daemon, over raw sockets (run via with-site.sh).

The server under test runs with --frame-timeout 1000. Every case of docs/protocol.md is here.
"""
import multiprocessing
import os
import socket
import statistics
import struct
import sys
import threading
import time

from sitelib import Checks, RawMbap, frame, hostile_at_work, read_pdu

HOST, PORT = os.environ["VMD_HOST"], int(os.environ["VMD_PORT"])
checks = Checks("robustness")
check = checks.check
failures = checks.failures


def connect():
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


raw = RawMbap(resets_close=False, close_wait=3.0)
read_reply, request, closed_by_server = raw.read_reply, raw.request, raw.closed_by_server


# --- framing errors close the connection -------------------------------------------------------
for name, data in [
    ("a PDU of 260 bytes (MBAP length 261, above the 260 answered)", frame(1, 246, b"\x10\x0a\x8c\x00\x7f\xfe" + b"\x00" * 254)),
    ("protocol id 1", frame(1, 100, read_pdu(840, 1), protocol=1)),
    ("length field 0", struct.pack(">HHH", 1, 0, 0)),
    ("length field 1 (unit only)", struct.pack(">HHHB", 1, 0, 1, 100)),
    ("length field 255", struct.pack(">HHH", 1, 0, 255)),
    ("length field 65535", struct.pack(">HHH", 1, 0, 65535)),
]:
    s = connect()
    s.sendall(data)
    check(closed_by_server(s), "%s: the connection is closed" % name)
    s.close()

s = connect()
s.sendall(frame(1, 100, read_pdu(840, 1))[:9])  # a truncated frame, then silence
began = time.monotonic()
# --frame-timeout is 1000 ms here: the connection stays open until then, and closes soon after (the
# server checks its timers every second, so up to about two seconds; five is the margin under ASan).
check(not closed_by_server(s, within=0.8), "a truncated frame: the connection stays open within the frame timeout")
check(closed_by_server(s, within=5.0), "a truncated frame: closed after the frame timeout")
waited = time.monotonic() - began
check(waited >= 0.95, "a truncated frame: closed no sooner than the frame timeout (%.2f s)" % waited)
s.close()

# --- PDU errors answer exceptions, and the connection stays usable ------------------------------
s = connect()
cases = [
    ("unknown function 1", b"\x01\x00\x00\x00\x01", b"\x81\x01"),
    ("function 0x2B with MEI 13 (CANopen)", b"\x2b\x0d\x00\x00", b"\xab\x01"),
    ("device identification, read device id code 5", b"\x2b\x0e\x05\x00", b"\xab\x03"),
    ("device identification, PDU too short", b"\x2b\x0e\x01", b"\xab\x03"),
    ("device identification, unknown object (individual)", b"\x2b\x0e\x04\x07", b"\xab\x02"),
    ("function 0", b"\x00", b"\x80\x01"),
    ("read quantity 0", read_pdu(840, 0), b"\x83\x03"),
    ("read quantity 126", read_pdu(840, 126), b"\x83\x03"),
    ("read PDU too short", b"\x03\x03\x48\x00", b"\x83\x03"),
    ("read PDU too long", read_pdu(840, 1) + b"\x00", b"\x83\x03"),
    ("read wrapping past 65535", read_pdu(65535, 2), b"\x83\x02"),
    ("read of an unmapped address", read_pdu(1000, 1), b"\x83\x02"),
    ("function 4 quantity 126", read_pdu(840, 126, fc=4), b"\x84\x03"),
    ("write single, PDU too short", b"\x06\x0a\x8c\x00", b"\x86\x03"),
    ("write multiple, byte count != 2 x quantity", b"\x10\x0a\x8c\x00\x01\x04\x00\x01\x00\x02", b"\x90\x03"),
    ("write multiple, fewer bytes than the byte count", b"\x10\x0a\x8c\x00\x02\x04\x00\x01", b"\x90\x03"),
    ("write multiple, quantity 124", b"\x10\x0a\x8c\x00\x7c\xf8" + b"\x00" * 246, b"\x90\x03"),
    ("write multiple, quantity 0", b"\x10\x0a\x8c\x00\x00\x00", b"\x90\x03"),
    ("write wrapping past 65535", b"\x10\xff\xff\x00\x02\x04\x00\x00\x00\x00", b"\x90\x02"),
    ("read/write with read quantity 0", b"\x17\x00\x21\x00\x00\x00\x21\x00\x01\x02\x00\x03", b"\x97\x03"),
]
for name, pdu, expected in cases:
    reply = request(s, 246, pdu)
    check(reply is not None and reply[2] == expected, "%s: %s (got %r)" % (name, expected.hex(), reply and reply[2].hex()))
check(request(s, 100, read_pdu(2902, 1)) is not None, "the connection still serves after all of them")
s.close()

# --- pipelining: ten requests in one segment, ten replies in order ------------------------------
s = connect()
s.sendall(b"".join(frame(tid, 100, read_pdu(2902, 1)) for tid in range(10, 20)))
tids = [read_reply(s)[0] for _ in range(10)]
check(tids == list(range(10, 20)), "pipelined requests are answered in order: %s" % tids)
# split frames: one request sent a byte at a time
data = frame(77, 100, read_pdu(2902, 1))
for b in data:
    s.sendall(bytes([b]))
reply = read_reply(s)
check(reply is not None and reply[0] == 77, "a request split into single bytes is answered")
s.close()

# --- isolation: hostile clients do not delay a well-behaved one --------------------------------
# The hostile clients run in a child process of their own, so that the well-behaved client's
# latency below is the server's and not this interpreter's (its threads share one lock). The child
# says "loaded" once every hostile client is at work; only then does the measurement start.


def hostile_load(ready, stop):
    """Runs in the child: a drip-feeder, a client that never reads, 100 connections, a unit flood."""
    started = {name: threading.Event() for name in ("drip", "never reads", "connections", "units")}

    def drip_feeder():
        while not stop.is_set():
            try:
                d = connect()
                for b in frame(1, 100, read_pdu(840, 4)):
                    if stop.is_set():
                        break
                    d.sendall(bytes([b]))
                    started["drip"].set()
                    stop.wait(0.1)
                read_reply(d)
                d.close()
            except OSError:
                stop.wait(0.1)

    def never_reads():
        try:
            n = connect()
            n.setblocking(False)
            blob = frame(1, 246, read_pdu(3, 100)) * 50
            while not stop.is_set():
                try:
                    n.send(blob)
                except BlockingIOError:  # the server stopped reading it: the pressure is on
                    started["never reads"].set()
                    stop.wait(0.01)
                except OSError:
                    return
        except OSError:
            return

    def many_connections(held):
        for _ in range(100):
            try:
                held.append(socket.create_connection((HOST, PORT), timeout=2))
            except OSError:
                pass
        started["connections"].set()
        stop.wait()

    def unknown_units():
        try:
            u = connect()
            tid = 0
            while not stop.is_set():
                tid = (tid + 1) & 0xFFFF
                u.sendall(frame(tid, 17 + tid % 60, read_pdu(800, 10)))
                if read_reply(u) is None:
                    return
                started["units"].set()
        except OSError:
            return

    held = []
    hostile_at_work([drip_feeder, never_reads, unknown_units, lambda: many_connections(held)], started, ready, stop,
                    held)


good = connect()  # connected first: the hostile ones may take the remaining slots
ready, stop = multiprocessing.Event(), multiprocessing.Event()
load = multiprocessing.Process(target=hostile_load, args=(ready, stop), daemon=True)
load.start()
check(ready.wait(60), "the hostile clients are all at work")
latencies = []
for i in range(1000):
    start = time.perf_counter()
    reply = request(good, 100, read_pdu(840, 4), tid=i)
    latencies.append(time.perf_counter() - start)
    if reply is None:
        break
stop.set()
load.join(30)
latencies.sort()
p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
check(len(latencies) == 1000, "the well-behaved client got all its 1000 replies")
print("well-behaved client: p50 %.3f ms, p99 %.3f ms" % (statistics.median(latencies) * 1000, p99))
# A server that let the drip-feeder (a byte every 100 ms) or the client that never reads hold it up
# would show p99 latencies of 100 ms and more. 50 ms separates that clearly and still holds on a
# loaded 2-core machine and under the sanitizers; the p99 on an idle machine is about 0.1 ms.
check(p99 < 50.0, "its p99 latency stays under 50 ms with hostile clients around (%.3f ms)" % p99)
good.close()

if failures:
    print("%d passed, %d failed" % (sum(1 for _ in cases), len(failures)))
    sys.exit(1)
print("robustness: all checks passed")
