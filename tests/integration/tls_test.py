"""Modbus/TCP Security (issue 13) through real TLS clients against the simulated site.

  tls_test.py BUILD_DIR roles     each role reads (raw MBAP inside TLS, as the
                                  specification carries it); writes are
                                  accepted or refused (exception 1) per role, refused ones never
                                  reach D-Bus; the audit log names subject and role; diagnostics count
  tls_test.py BUILD_DIR refused   role-less, foreign, expired, revoked and certificate-less clients,
                                  and TLS 1.1, fail the handshake or are closed; TLS 1.2 is served
  tls_test.py BUILD_DIR reload    SIGHUP with a new server certificate serves new connections with it
                                  while an open one stays up; a broken file keeps the running one
  tls_test.py BUILD_DIR tls-only  `listen: []`: only the TLS listener, no plain one
  tls_test.py BUILD_DIR load      a drip-feeding handshake and a flood of half-open TLS connections
                                  (another process) leave a plain and a TLS client's p99 bounded;
                                  the drip-feeder is closed by the handshake timeout

Certificates are made by the test with the openssl command line (tlslib.py).
"""
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sitelib  # noqa: E402
import tlslib  # noqa: E402


BUILD, CASE = sys.argv[1], sys.argv[2]
failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


def tls_port(site, log="server.log"):
    found = sitelib.wait_for(lambda: re.search(r"listening on 127\.0\.0\.1:(\d+) \(TLS", site.text(log)))
    return int(found.group(1))


def raw_tls(pki, port, client, **context_args):
    """A TLS socket to the server (raises ssl.SSLError / OSError when the handshake fails)."""
    context = tlslib.client_context(pki, client, **context_args)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return context.wrap_socket(sock)
    except Exception:
        sock.close()
        raise


def mbap_request(sock, unit, pdu, tid=1):
    """The reply PDU, or None when the server closed the connection."""
    sock.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
    data = b""
    try:
        while len(data) < 7 or len(data) < 6 + struct.unpack(">H", data[4:6])[0]:
            chunk = sock.recv(300)
            if not chunk:
                return None
            data += chunk
    except (ConnectionError, ssl.SSLError):
        return None
    return data[7:]


def diagnostics(site, path):
    """A counter of the diagnostics service, or None."""
    out = subprocess.run(["busctl", "--address=" + site.bus, "call", "com.victronenergy.modbustcp", path,
                          "com.victronenergy.BusItem", "GetValue", "--json=short"], capture_output=True, text=True)
    return json.loads(out.stdout)["data"][0]["data"] if out.returncode == 0 else None


class RawTlsClient:
    """Raw MBAP inside TLS (Python's ssl module). pymodbus 3.0.0rc1's ModbusTlsClient with the socket
    framer cannot read replies: it select()s on the raw socket after reading the MBAP header, while
    the rest of the reply already waits decrypted in the SSL buffer, so every request times out."""

    def __init__(self, pki, port, who):
        self.sock = raw_tls(pki, port, who)
        self.tid = 0

    def request(self, unit, pdu):
        self.tid += 1
        return mbap_request(self.sock, unit, pdu, self.tid)

    def close(self):
        self.sock.close()


def start(site, pki, *args, extra=""):
    site.start_sim()
    config = site.path("venus-modbusd.yaml")
    with open(config, "w") as f:
        f.write(tlslib.config_text(pki, extra=extra))
    proc, port = site.start_server(*args, config=config)
    return proc, port, tls_port(site)


def case_roles(site, pki):
    proc, port, tport = start(site, pki)
    # ESS set point 2700 (settings, unit 100, int16 W) and VE.Bus /Mode 33 (unit 246, uint16, enum
    # 1-4), as the published list has them. The ess role may write 2700-2722, 37-41 and 96-101.
    expect = {
        # role: (2700 accepted?, 33 accepted?)
        "viewer": (False, False),
        "ess": (True, False),
        "admin": (True, True),
    }
    values = {"viewer": (101, 1), "ess": (202, 2), "admin": (303, 3)}
    for who, (setpoint_ok, mode_ok) in expect.items():
        client = RawTlsClient(pki, tport, who)
        reply = client.request(100, struct.pack(">BHH", 3, 2700, 1))
        check(reply[:2] == b"\x03\x02", "%s reads the ESS set point" % who)
        reply = client.request(246, struct.pack(">BHH", 3, 33, 1))
        check(reply[:2] == b"\x03\x02" and reply[3] in (1, 2, 3, 4), "%s reads the VE.Bus mode" % who)
        setpoint, mode = values[who]
        for address, unit, value, ok in ((2700, 100, setpoint, setpoint_ok), (33, 246, mode, mode_ok)):
            pdu = struct.pack(">BHH", 6, address, value)
            reply = client.request(unit, pdu)
            if ok:
                check(reply == pdu, "%s may write register %d" % (who, address))
            else:
                check(reply == b"\x86\x01", "%s writing register %d answers exception 1 (%r)" % (who, address, reply))
        client.close()
    # FC 16 across the edge of the ess role's range (2722-2723) is refused whole.
    s = raw_tls(pki, tport, "ess")
    reply = mbap_request(s, 100, struct.pack(">BHHBHH", 16, 2722, 2, 4, 0, 0))
    check(reply == b"\x90\x01", "ess: a multi-register write reaching past 2722 answers exception 1 (%r)" % reply)
    s.close()

    sets = sitelib.wait_for(lambda: [l for l in site.set_lines() if "AcPowerSetPoint d 303" in l or
                                     "/Mode u 3" in l] and site.set_lines())
    text = "\n".join(sets)
    check("AcPowerSetPoint d 202" in text, "the ess write of 2700 reached D-Bus")
    check("AcPowerSetPoint d 303" in text and "/Mode u 3" in text, "the admin writes reached D-Bus")
    check("AcPowerSetPoint d 101" not in text and "/Mode u 1 " not in text + " ",
          "the viewer's refused writes never reached D-Bus")
    check("/Mode u 2" not in text, "the ess role's refused write of /Mode never reached D-Bus")

    log = site.text("server.log")
    check(re.search(r"write refused: 127\.0\.0\.1:\d+ \(O=venus-modbusd test,CN=viewer-client, role viewer\): "
                    r"unit 100 function 6 address 2700 quantity 1: exception 1", log) is not None,
          "the audit log names the refused writer's address, certificate subject and role")
    check(re.search(r"write from 127\.0\.0\.1:\d+ \(O=venus-modbusd test,CN=ess-client, role ess\) unit 100 "
                    r"register 2700 .*= 202 .*accepted", log) is not None,
          "the audit log names the accepted writer's address, certificate subject and role")
    check(sitelib.wait_for(lambda: diagnostics(site, "/Tls/Connections") == 4, timeout=5),
          "the diagnostics count 4 TLS connections (%s)" % diagnostics(site, "/Tls/Connections"))
    check(sitelib.wait_for(lambda: (diagnostics(site, "/Writes/RefusedByRole") or 0) >= 4, timeout=5),
          "the diagnostics count the writes refused by role (%s)" % diagnostics(site, "/Writes/RefusedByRole"))


def case_refused(site, pki):
    proc, port, tport = start(site, pki)
    read = struct.pack(">BHH", 3, 2700, 1)
    for who in ("norole", "foreign", "expired", "revoked", None):
        try:
            s = raw_tls(pki, tport, who)
            reply = mbap_request(s, 100, read)
            s.close()
            outcome = "served %r" % reply if reply else "closed after the handshake"
        except (ssl.SSLError, OSError) as e:
            reply, outcome = None, "handshake failed: %s" % e
        check(reply is None, "%s: no reply (%s)" % (who or "no certificate", outcome))
    # TLS 1.1, offered by a client that allows it (security level 0), is refused by the server.
    try:
        context = tlslib.client_context(pki, "admin", maximum=ssl.TLSVersion.TLSv1_1,
                                        minimum=ssl.TLSVersion.TLSv1)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        sock = socket.create_connection(("127.0.0.1", tport), timeout=10)
        s = context.wrap_socket(sock)
        outcome = "served with " + s.version()
    except ssl.SSLError as e:
        outcome = str(e)
    check("PROTOCOL_VERSION" in outcome.upper() or "UNSUPPORTED_PROTOCOL" in outcome.upper(),
          "TLS 1.1 is refused by the server (%s)" % outcome)
    s = raw_tls(pki, tport, "admin", maximum=ssl.TLSVersion.TLSv1_2)
    check(s.version() == "TLSv1.2" and mbap_request(s, 100, read)[:2] == b"\x03\x02", "TLS 1.2 is served")
    s.close()
    log = site.text("server.log")
    check(sitelib.wait_for(lambda: (diagnostics(site, "/Tls/HandshakeFailures") or 0) >= 5, timeout=5),
          "the diagnostics count the failed handshakes (%s)" % diagnostics(site, "/Tls/HandshakeFailures"))
    check(diagnostics(site, "/Tls/RoleRefusals") == 1, "the diagnostics count the role-less certificate")
    check("certificate 'O=venus-modbusd test,CN=no-role-client' has no role and default-role is none" in log,
          "the role-less certificate's closing is logged with its subject")


def peer_subject(sock):
    return dict(x[0] for x in sock.getpeercert()["subject"])["commonName"]


def case_reload(site, pki):
    # The server serves copies, so the test can replace them.
    cert, key = site.path("server.pem"), site.path("server.key")
    shutil.copy(pki["server"][0], cert)
    shutil.copy(pki["server"][1], key)
    pki = dict(pki, server=(cert, key))
    proc, port, tport = start(site, pki)
    read = struct.pack(">BHH", 3, 2700, 1)
    old = raw_tls(pki, tport, "admin")
    check(peer_subject(old) == "venus-modbusd", "the first connection gets the first server certificate")
    shutil.copy(pki["server2"][0], cert)
    shutil.copy(pki["server2"][1], key)
    proc.send_signal(signal.SIGHUP)
    check(sitelib.wait_for(lambda: "reload: TLS certificate 'O=venus-modbusd test,CN=venus-modbusd renewed' "
                                   "serves new connections" in site.text("server.log")),
          "SIGHUP re-reads the certificate and says so")
    new = raw_tls(pki, tport, "admin")
    check(peer_subject(new) == "venus-modbusd renewed", "a new connection gets the new certificate")
    check(mbap_request(new, 100, read, tid=2)[:2] == b"\x03\x02", "the new connection is served")
    check(mbap_request(old, 100, read, tid=3)[:2] == b"\x03\x02", "the connection from before the reload is still served")
    with open(cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    proc.send_signal(signal.SIGHUP)
    check(sitelib.wait_for(lambda: "keeping the running certificate, key and CRL" in site.text("server.log")),
          "a broken certificate file is logged and the running one kept")
    third = raw_tls(pki, tport, "admin")
    check(peer_subject(third) == "venus-modbusd renewed" and mbap_request(third, 100, read)[:2] == b"\x03\x02",
          "after the failed reload new connections still get the renewed certificate")
    check(proc.poll() is None, "the daemon keeps running")


def case_tls_only(site, pki):
    site.start_sim()
    config = site.path("venus-modbusd.yaml")
    with open(config, "w") as f:
        f.write(tlslib.config_text(pki, plain="[]"))
    out = open(site.path("server.log"), "w")
    proc = subprocess.Popen([os.path.join(BUILD, "venus-modbusd"), "--config", config, "--map", sitelib.SHIPPED_MAP,
                             "--bus", site.bus], stderr=out)
    site.procs.append(proc)
    tport = tls_port(site)
    log = site.text("server.log")
    check(len(re.findall(r"listening on ", log)) == 1, "only one listener: the TLS one")
    s = raw_tls(pki, tport, "viewer")
    check(mbap_request(s, 100, struct.pack(">BHH", 3, 2700, 1))[:2] == b"\x03\x02", "the TLS listener serves")


def case_pipeline(site, pki):
    """Back-pressure over TLS: 3000 requests sent in one go (TLS records of 16 kB, each holding far
    more requests than the server's input buffer) while the client reads nothing; then every reply
    arrives, in order. Bytes TLS has decrypted but the server has not framed yet announce no socket
    event: the server must go back for them."""
    proc, port, tport = start(site, pki)
    s = raw_tls(pki, tport, "viewer")
    count = 3000
    blob = b"".join(struct.pack(">HHHB", i, 0, 6, 100) + struct.pack(">BHH", 3, 840, 4) for i in range(count))
    sender = threading.Thread(target=s.sendall, args=(blob,))
    sender.start()
    data = b""
    s.settimeout(20)
    size = 9 + 8  # MBAP 7 + fc + byte count + 8 bytes
    while len(data) < count * size:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    sender.join(20)
    tids = [struct.unpack(">H", data[i:i + 2])[0] for i in range(0, len(data), size)]
    check(len(data) == count * size, "all %d replies arrived (%d bytes of %d)" % (count, len(data), count * size))
    check(tids == list(range(count))[:len(tids)], "the replies came in request order")


def case_half_close(site, pki):
    """A TLS client that half-closes its TCP side (no close_notify) after a write and a read still
    gets both replies, in order, and then the server closes (as on the plain port)."""
    proc, port, tport = start(site, pki)
    context = tlslib.client_context(pki, "ess")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing)
    sock = socket.create_connection(("127.0.0.1", tport), timeout=10)

    def pump():
        data = outgoing.read()
        if data:
            sock.sendall(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            pump()
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed during the handshake")
            incoming.write(data)
    pump()
    write = struct.pack(">BHH", 6, 2700, 444)
    read = struct.pack(">BHH", 3, 2700, 1)
    tls.write(struct.pack(">HHHB", 1, 0, 6, 100) + write + struct.pack(">HHHB", 2, 0, 6, 100) + read)
    pump()
    sock.shutdown(socket.SHUT_WR)
    plain = b""
    closed = False
    while True:
        data = sock.recv(65536)
        if not data:
            closed = True
            break
        incoming.write(data)
        try:
            while True:
                chunk = tls.read(65536)
                if not chunk:
                    break
                plain += chunk
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            pass
    check(plain[:7 + 5] == struct.pack(">HHHB", 1, 0, 6, 100) + write, "the write before the half-close is answered")
    check(plain[12:12 + 11] == struct.pack(">HHHBBBH", 2, 0, 5, 100, 3, 2, 444),
          "then the read, which sees the written value (%r)" % plain[12:])
    check(closed, "then the server closes the connection")
    check(any("AcPowerSetPoint d 444" in l for l in site.set_lines()), "the write reached D-Bus")


def case_check(site, pki):
    """--check loads the TLS files; a key that does not match, or a missing file, is exit 2 with the
    file named; the daemon does not start with a broken certificate (exit 1, named)."""
    daemon = os.path.join(BUILD, "venus-modbusd")
    good, bad = site.path("good.yaml"), site.path("bad.yaml")
    with open(good, "w") as f:
        f.write(tlslib.config_text(pki))
    r = subprocess.run([daemon, "--config", good, "--map", sitelib.SHIPPED_MAP, "--check"], capture_output=True,
                       text=True)
    check(r.returncode == 0 and "tls: OK (server certificate 'O=venus-modbusd test,CN=venus-modbusd'" in r.stdout,
          "--check loads the TLS files and names the server certificate (%d: %s)" % (r.returncode, r.stdout[-200:]))
    with open(bad, "w") as f:
        f.write(tlslib.config_text(pki).replace(pki["server"][1], pki["admin"][1]))
    r = subprocess.run([daemon, "--config", bad, "--map", sitelib.SHIPPED_MAP, "--check"], capture_output=True,
                       text=True)
    check(r.returncode == 2 and pki["admin"][1] in r.stderr, "--check: a key of another certificate is exit 2, "
          "naming the key file (%d: %s)" % (r.returncode, r.stderr.strip()))
    broken = site.path("broken.pem")
    with open(broken, "w") as f:
        f.write("not a certificate\n")
    with open(bad, "w") as f:
        f.write(tlslib.config_text(pki).replace(pki["server"][0], broken))
    site.start_bus()
    r = subprocess.run([daemon, "--config", bad, "--map", sitelib.SHIPPED_MAP, "--bus", site.bus, "--listen",
                        "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "cert " + broken in r.stderr,
          "a broken certificate stops the start with exit 1, naming the file (%d: %s)" % (r.returncode,
                                                                                          r.stderr.strip()[-200:]))


def case_bench(site, pki):
    """venus-bench's TLS mode: MBAP inside TLS with a client certificate, handshakes per second."""
    proc, port, tport = start(site, pki)
    r = subprocess.run([os.path.join(BUILD, "venus-bench"), "--port", str(tport), "--connections", "2",
                        "--duration", "1", "--mix", "scada", "--tls-cert", pki["viewer"][0], "--tls-key",
                        pki["viewer"][1], "--tls-ca", pki["ca"]], capture_output=True, text=True, timeout=60)
    handshakes = re.search(r"TLS handshakes: (\d+) per second", r.stdout)
    requests = re.search(r"requests +(\d+) in .*transport errors (\d+)", r.stdout)
    check(r.returncode == 0 and handshakes and int(handshakes.group(1)) > 0,
          "venus-bench measures TLS handshakes (%d: %s)" % (r.returncode, (r.stdout + r.stderr)[-300:]))
    check(requests and int(requests.group(1)) > 0 and requests.group(2) == "0",
          "venus-bench's requests over TLS are answered without transport errors")
    check(re.search(r"\(O=venus-modbusd test,CN=viewer-client, role viewer\): TLS connection", site.text("server.log"))
          is not None, "the server saw the bench's client certificate")
    r = subprocess.run([os.path.join(BUILD, "venus-bench"), "--port", str(tport), "--tls-cert", pki["viewer"][0]],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "--tls-cert, --tls-key and --tls-ca go together" in r.stderr,
          "venus-bench: --tls-cert alone is a usage error")


# --- load: hostile TLS clients in another process --------------------------------------------------

def client_hello(pki):
    """The bytes of a real ClientHello (from a memory BIO), to drip-feed."""
    context = tlslib.client_context(pki, "admin")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def hostile_tls(pki, tport, ready, stop):
    started = {name: threading.Event() for name in ("drip", "flood")}
    hello = client_hello(pki)

    def drip():
        while not stop.is_set():
            try:
                d = socket.create_connection(("127.0.0.1", tport), timeout=2)
                for b in hello:
                    if stop.is_set():
                        break
                    d.sendall(bytes([b]))
                    started["drip"].set()
                    stop.wait(0.1)
                d.close()
            except OSError:
                stop.wait(0.1)

    def flood(held):
        # Half-open TLS connections: some silent, some with half a ClientHello.
        while not stop.is_set():
            for i in range(30):
                try:
                    s = socket.create_connection(("127.0.0.1", tport), timeout=2)
                    if i % 2:
                        s.sendall(hello[: len(hello) // 2])
                    held.append(s)
                except OSError:
                    pass
            started["flood"].set()
            stop.wait(0.5)
            while len(held) > 60:
                held.pop(0).close()

    held = []
    threads = [threading.Thread(target=drip, daemon=True), threading.Thread(target=flood, args=(held,), daemon=True)]
    for t in threads:
        t.start()
    for event in started.values():
        event.wait(30)
    ready.set()
    stop.wait(120)


def measure(sock, count=500):
    read = struct.pack(">BHH", 3, 840, 4)
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        reply = mbap_request(sock, 100, read, tid=i & 0xFFFF)
        latencies.append(time.perf_counter() - start)
        if reply is None or reply[:1] != b"\x03":
            return None
    latencies.sort()
    return latencies[int(len(latencies) * 0.99) - 1] * 1000


def case_load(site, pki):
    proc, port, tport = start(site, pki, "--frame-timeout", "1000", "--max-clients", "48",
                              "--max-clients-per-address", "48")
    plain = socket.create_connection(("127.0.0.1", port), timeout=10)
    secure = raw_tls(pki, tport, "viewer")
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    load = multiprocessing.Process(target=hostile_tls, args=(pki, tport, ready, stop), daemon=True)
    load.start()
    check(ready.wait(60), "the drip-feeding handshake and the half-open flood are at work")
    p99_plain = measure(plain)
    p99_tls = measure(secure)
    check(sitelib.wait_for(lambda: "TLS handshake timeout" in site.text("server.log"), timeout=10),
          "a stalled handshake is closed by the handshake timeout")
    stop.set()
    load.join(30)
    print("p99 plain %s ms, TLS %s ms" % (p99_plain, p99_tls))
    # A server blocked by a stalled handshake would show 100 ms and more (the drip interval); 50 ms
    # separates that and holds on a loaded 2-core machine (idle: well under 1 ms).
    check(p99_plain is not None and p99_plain < 50.0, "the plain client's p99 stays under 50 ms (%s)" % p99_plain)
    check(p99_tls is not None and p99_tls < 50.0, "the TLS client's p99 stays under 50 ms (%s)" % p99_tls)


CASES = {"half-close": case_half_close, "bench": case_bench, "check": case_check, "pipeline": case_pipeline, "roles": case_roles, "refused": case_refused, "reload": case_reload, "tls-only": case_tls_only,
         "load": case_load}

with sitelib.Site(BUILD) as site:
    pki = tlslib.make_pki(site.work)
    try:
        CASES[CASE](site, pki)
    except Exception as e:  # a crash is a failure with the server log beside it
        check(False, "%s: %r" % (CASE, e))
    if failures:
        print("--- server log (last 40 lines)\n" + "\n".join(site.text("server.log").splitlines()[-40:]))
sys.exit(1 if failures else 0)
