"""Access control through real sockets (run via with-site.sh with the server arguments of the mode).

  access_test.py read-only       server has --read-only
  access_test.py allow           server has --allow 10.0.0.0/8: 127.0.0.1 is closed at accept
  access_test.py ipv6            server also listens on [::1], with --allow ::1 --allow 127.0.0.1
                                 and --write-allow ::1: IPv6 may write, IPv4 only read
"""
import os
import re
import socket
import struct
import sys

from sitelib import Checks

mode = sys.argv[1]
port4 = int(os.environ["VMD_PORT"])


def request(s, pdu, unit=100):
    s.sendall(struct.pack(">HHHB", 1, 0, len(pdu) + 1, unit) + pdu)
    head = s.recv(7)
    if len(head) < 7:
        return None
    length = struct.unpack(">HHHB", head)[2]
    return s.recv(length - 1)


READ = struct.pack(">BHH", 3, 2902, 1)                   # settings Hub4Mode
WRITE = struct.pack(">BHH", 6, 2700, 25)                 # settings AcPowerSetPoint = 25 W
checks = Checks("access " + mode)
check = checks.check


if mode == "read-only":
    s = socket.create_connection(("127.0.0.1", port4), timeout=5)
    check(request(s, READ)[:2] == b"\x03\x02", "--read-only: reads are served")
    check(request(s, WRITE) == b"\x86\x02", "--read-only: a write answers exception 2")
elif mode == "allow":
    s = socket.create_connection(("127.0.0.1", port4), timeout=5)
    try:
        reply = request(s, READ)
    except (ConnectionResetError, BrokenPipeError):
        reply = None
    check(reply is None, "--allow 10.0.0.0/8: a client from 127.0.0.1 is closed without an answer")
    with open(os.environ["VMD_SERVER_LOG"]) as f:
        check("connection refused: not in --allow" in f.read(), "the refusal is logged")
elif mode == "ipv6":
    with open(os.environ["VMD_SERVER_LOG"]) as f:
        port6 = int(re.search(r"listening on \[::1\]:(\d+)", f.read()).group(1))
    s6 = socket.create_connection(("::1", port6), timeout=5)
    check(request(s6, READ)[:2] == b"\x03\x02", "IPv6: a client on ::1 reads")
    check(request(s6, WRITE) == WRITE, "--write-allow ::1: the IPv6 client may write")
    s4 = socket.create_connection(("127.0.0.1", port4), timeout=5)
    check(request(s4, READ)[:2] == b"\x03\x02", "--allow 127.0.0.1: the IPv4 client reads")
    check(request(s4, WRITE) == b"\x86\x02", "not in --write-allow: the IPv4 client's write answers exception 2")
else:
    sys.exit("unknown mode " + mode)
checks.finish()
