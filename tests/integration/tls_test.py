"""Modbus/TCP Security (issue 13) through real TLS clients against the simulated site.

  tls_test.py BUILD_DIR roles       each role reads through pymodbus's ModbusTlsClient (socket
                                    framer: MBAP inside TLS, as the specification carries it);
                                    writes are accepted or refused (exception 1) per role, refused
                                    ones never reach D-Bus; the audit log names subject and role
  tls_test.py BUILD_DIR refused     role-less, foreign, expired, revoked and certificate-less
                                    pymodbus clients are refused; TLS 1.1 is refused; TLS 1.2 served
  tls_test.py BUILD_DIR reload      SIGHUP with a new server certificate serves new connections with
                                    it while an open one stays up; a new CRL refuses the newly
                                    revoked; a broken file keeps the running ones
  tls_test.py BUILD_DIR limits      TLS connections count in the per-address limit with plain ones,
                                    and an idle TLS connection is evicted for a newcomer by name
  tls_test.py BUILD_DIR tls-only    `listen: []`: only the TLS listener, no plain one
  tls_test.py BUILD_DIR options     the --tls-* options alone serve TLS with their roles and CRL
  tls_test.py BUILD_DIR load        a drip-feeding handshake and a flood of half-open TLS connections
                                    (another process) leave a plain and a TLS client's p99 bounded;
                                    the drip-feeder is closed by the handshake timeout
  tls_test.py BUILD_DIR churn       silent plain and TLS connections that reconnect when closed do not
                                    evict a TLS client with a valid certificate (issue 24)
  pipeline, half-close, check, bench, doc-client: see their functions.

Certificates are made by the test with the openssl command line (tlslib.py). Raw TLS sockets are
used only where pymodbus cannot say it: offering TLS 1.1, pipelining, half-closing, drip-feeding.
"""
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sitelib  # noqa: E402
import tlslib  # noqa: E402
from sitelib import Checks, RawMbap, frame, read_pdu, wait_for  # noqa: E402

BUILD, CASE = sys.argv[1], sys.argv[2]
checks = Checks("tls " + CASE)
check = checks.check
raw = RawMbap(resets_close=True, close_wait=10.0)


def tls_port(site, log="server.log"):
    found = wait_for(lambda: re.search(r"listening on 127\.0\.0\.1:(\d+) \(TLS", site.text(log)))
    return int(found.group(1))


def raw_tls(pki, port, client, **context_args):
    """A raw TLS socket to the server (raises ssl.SSLError / OSError when the handshake fails)."""
    context = tlslib.client_context(pki, client, **context_args)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return context.wrap_socket(sock, server_hostname="127.0.0.1")
    except Exception:
        sock.close()
        raise


def connected(pki, port, who, **context_args):
    """A connected pymodbus TLS client presenting `who`'s certificate."""
    client = tlslib.modbus_client(pki, port, who, **context_args)
    if not client.connect():
        raise ConnectionError("%s: the TLS connection failed" % who)
    return client


def registers(result):
    """The registers a pymodbus read returned, or None for an error or exception."""
    return None if result is None or isinstance(result, Exception) or result.isError() else result.registers


def exception_code(result):
    return getattr(result, "exception_code", None)


def served(client, unit=100, address=2700):
    """The registers read, or the error (a pymodbus error or exception) as text."""
    try:
        result = client.read_holding_registers(address, 1, slave=unit)
    except Exception as e:  # pymodbus raises ConnectionException when the server closed
        return repr(e)
    return registers(result) or str(result)


def diagnostics(site, path):
    """A counter of the diagnostics service, or None."""
    out = subprocess.run(["busctl", "--address=" + site.bus, "call", "com.victronenergy.modbustcp", path,
                          "com.victronenergy.BusItem", "GetValue", "--json=short"], capture_output=True, text=True)
    return json.loads(out.stdout)["data"][0]["data"] if out.returncode == 0 else None


def sets(site):
    """The SetValue calls the simulator received: (path, value) pairs."""
    pairs = []
    for line in site.set_lines():
        _, _service, path, _signature, value = line.split(" -> ")[0].split(" ", 4)
        pairs.append((path, value))
    return pairs


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
        client = connected(pki, tport, who)
        check(registers(client.read_holding_registers(2700, 1, slave=100)) is not None,
              "%s reads the ESS set point" % who)
        mode = registers(client.read_holding_registers(33, 1, slave=246))
        check(mode is not None and mode[0] in (1, 2, 3, 4), "%s reads the VE.Bus mode (%s)" % (who, mode))
        setpoint, mode = values[who]
        for address, unit, value, ok in ((2700, 100, setpoint, setpoint_ok), (33, 246, mode, mode_ok)):
            result = client.write_register(address, value, slave=unit)
            if ok:
                check(not result.isError() and result.value == value, "%s may write register %d (%s)" % (who, address, result))
            else:
                check(exception_code(result) == 1, "%s writing register %d answers exception 1 (%s)" % (who, address, result))
        client.close()
    # FC 16 across the edge of the ess role's range (2722-2723) is refused whole.
    client = connected(pki, tport, "ess")
    result = client.write_registers(2722, [0, 0], slave=100)
    check(exception_code(result) == 1, "ess: a multi-register write reaching past 2722 answers exception 1 (%s)" % result)
    client.close()

    wait_for(lambda: ("/Mode", "3") in sets(site), timeout=10)
    written = sets(site)
    check(("/Settings/CGwacs/AcPowerSetPoint", "202") in written, "the ess write of 2700 reached D-Bus")
    check(("/Settings/CGwacs/AcPowerSetPoint", "303") in written and ("/Mode", "3") in written,
          "the admin writes reached D-Bus")
    check(written == [("/Settings/CGwacs/AcPowerSetPoint", "202"), ("/Settings/CGwacs/AcPowerSetPoint", "303"),
                      ("/Mode", "3")],
          "the refused writes (viewer's two, ess's /Mode, ess's FC 16) never reached D-Bus: %s" % written)

    log = site.text("server.log")
    check(re.search(r"write refused: 127\.0\.0\.1:\d+ \(O=venus-modbusd test,CN=viewer-client, role viewer\): "
                    r"unit 100 function 6 address 2700 quantity 1: exception 1", log) is not None,
          "the audit log names the refused writer's address, certificate subject and role")
    check(re.search(r"write from 127\.0\.0\.1:\d+ \(O=venus-modbusd test,CN=ess-client, role ess\) unit 100 "
                    r"register 2700 .*= 202 .*accepted", log) is not None,
          "the audit log names the accepted writer's address, certificate subject and role")
    check(wait_for(lambda: diagnostics(site, "/Tls/Connections") == 4, timeout=5),
          "the diagnostics count 4 TLS connections (%s)" % diagnostics(site, "/Tls/Connections"))
    check(wait_for(lambda: diagnostics(site, "/Writes/RefusedByRole") == 4, timeout=5),
          "the diagnostics count the 4 writes refused by role (%s)" % diagnostics(site, "/Writes/RefusedByRole"))


def case_refused(site, pki):
    proc, port, tport = start(site, pki)
    # With TLS 1.3 the client finishes its side of the handshake before the server has checked its
    # certificate: the server's alert (or its close, for a certificate without a role) arrives at
    # the first read. Either way, the client must get no registers.
    for who in ("foreign", "expired", "revoked", None, "norole"):
        client = tlslib.modbus_client(pki, tport, who)
        outcome = served(client) if client.connect() else "the TLS connection failed"
        client.close()
        check(not isinstance(outcome, list), "%s: no registers (%s)" % (who or "no certificate", outcome))
    # TLS 1.1, offered by a client that allows it (security level 0), is refused by the server.
    # (pymodbus would only log the reason: a raw socket shows the alert.)
    try:
        s = raw_tls(pki, tport, "admin", maximum=ssl.TLSVersion.TLSv1_1, minimum=ssl.TLSVersion.TLSv1)
        outcome = "served with " + s.version()
    except ssl.SSLError as e:
        outcome = str(e)
    check("PROTOCOL_VERSION" in outcome.upper() or "UNSUPPORTED_PROTOCOL" in outcome.upper(),
          "TLS 1.1 is refused by the server (%s)" % outcome)
    client = connected(pki, tport, "admin", maximum=ssl.TLSVersion.TLSv1_2)
    check(client.socket.version() == "TLSv1.2" and isinstance(served(client), list), "TLS 1.2 is served")
    client.close()
    log = site.text("server.log")
    # Exactly: the foreign, expired, revoked and certificate-less clients and TLS 1.1.
    check(wait_for(lambda: diagnostics(site, "/Tls/HandshakeFailures") == 5, timeout=5),
          "the diagnostics count 5 failed handshakes (%s)" % diagnostics(site, "/Tls/HandshakeFailures"))
    check(diagnostics(site, "/Tls/RoleRefusals") == 1, "the diagnostics count the role-less certificate")
    check(diagnostics(site, "/Tls/Connections") == 1, "only the TLS 1.2 client counts as a TLS connection")
    check(re.search(r"TLS handshake failed: client certificate: unable to get local issuer certificate", log) is not None,
          "the first refusal (the foreign certificate) is logged with OpenSSL's reason")


def peer_subject(client):
    return dict(x[0] for x in client.socket.getpeercert()["subject"])["commonName"]


def case_reload(site, pki):
    # The server serves copies, so the test can replace them.
    cert, key, crl = site.path("server.pem"), site.path("server.key"), site.path("served.crl")
    shutil.copy(pki["server"][0], cert)
    shutil.copy(pki["server"][1], key)
    shutil.copy(pki["crl"], crl)
    pki = dict(pki, server=(cert, key), crl=crl)
    proc, port, tport = start(site, pki)
    old = connected(pki, tport, "admin")
    check(peer_subject(old) == "venus-modbusd", "the first connection gets the first server certificate")
    shutil.copy(pki["server2"][0], cert)
    shutil.copy(pki["server2"][1], key)
    proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "reload: TLS certificate 'O=venus-modbusd test,CN=venus-modbusd renewed' "
                            "serves new connections" in site.text("server.log")),
          "SIGHUP re-reads the certificate and says so")
    new = connected(pki, tport, "admin")
    check(peer_subject(new) == "venus-modbusd renewed", "a new connection gets the new certificate")
    check(isinstance(served(new), list), "the new connection is served")
    check(isinstance(served(old), list), "the connection from before the reload is still served")
    new.close()

    # The CRL too: the ess certificate, revoked after the start, is refused once the new CRL is read.
    ess = connected(pki, tport, "ess")
    check(isinstance(served(ess), list), "the ess certificate is served before it is revoked")
    pki["ca_authority"].revoke(pki["ess"][0])
    pki["ca_authority"].crl(crl)
    reloads = site.text("server.log").count("serves new connections")
    proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: site.text("server.log").count("serves new connections") > reloads),
          "SIGHUP re-reads the CRL")
    # The session the ess certificate opened before it was revoked does not outlive the new CRL.
    check(wait_for(lambda: re.search(r"127\.0\.0\.1:\d+ \(O=venus-modbusd test,CN=ess-client, role ess\): closing: "
                                     r"its certificate no longer verifies against the reloaded client CA and CRL: "
                                     r"certificate revoked", site.text("server.log"))) is not None,
          "the open session of the newly revoked certificate is closed, logged with its subject")
    check(not isinstance(served(ess), list), "the revoked certificate's open session gets no more replies")
    client = tlslib.modbus_client(pki, tport, "ess")
    outcome = served(client) if client.connect() else "the TLS connection failed"
    check(not isinstance(outcome, list), "the newly revoked ess certificate is refused (%s)" % outcome)
    check(isinstance(served(connected(pki, tport, "admin")), list), "the admin certificate is still served")

    with open(cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "keeping the running certificate, key and CRL" in site.text("server.log")),
          "a broken certificate file is logged and the running one kept")
    third = connected(pki, tport, "admin")
    check(peer_subject(third) == "venus-modbusd renewed" and isinstance(served(third), list),
          "after the failed reload new connections still get the renewed certificate")
    check(isinstance(served(old), list), "and the connection from before both reloads is still served")
    check(proc.poll() is None, "the daemon keeps running")


def case_reload_roles(site, pki):
    """A reload that narrows a role applies to the sessions open at once: admin (write -> read) gets
    exception 1 on its next write and the value never reaches D-Bus; viewer, whose role the new
    config drops (default-role none), is closed; ess, unchanged, goes on writing."""
    proc, port, tport = start(site, pki)
    admin, viewer, ess = (connected(pki, tport, who) for who in ("admin", "viewer", "ess"))
    check(not admin.write_register(2700, 111, slave=100).isError(), "admin writes before the reload")
    check(isinstance(served(viewer), list), "viewer reads before the reload")
    config = site.path("venus-modbusd.yaml")
    text = tlslib.config_text(pki)
    with open(config, "w") as f:
        f.write(text.replace("    viewer: read\n", "").replace("    admin: write\n", "    admin: read\n"))
    proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: re.search(r"CN=admin-client, role admin\): may read from now on, as role admin \(roles "
                                     r"reloaded\)", site.text("server.log"))) is not None,
          "the admin session's narrowed role is logged")
    result = admin.write_register(2700, 222, slave=100)
    check(exception_code(result) == 1, "the open admin session's next write answers exception 1 (%s)" % result)
    check(registers(admin.read_holding_registers(2700, 1, slave=100)) == [111],
          "admin still reads, and 2700 keeps the value written before the reload")
    check(wait_for(lambda: re.search(r"CN=viewer-client, role viewer\): closing: certificate "
                                     r"'O=venus-modbusd test,CN=viewer-client' has the unknown role 'viewer' and "
                                     r"default-role is none \(roles reloaded\)", site.text("server.log"))) is not None,
          "the viewer session, whose role is gone, is closed and logged")
    check(not isinstance(served(viewer), list), "the viewer session gets no more replies")
    check(not ess.write_register(2700, 333, slave=100).isError(), "ess, whose role did not change, still writes")
    wait_for(lambda: ("/Settings/CGwacs/AcPowerSetPoint", "333") in sets(site), timeout=10)
    written = [value for path, value in sets(site) if path == "/Settings/CGwacs/AcPowerSetPoint"]
    check(written == ["111", "333"], "the narrowed session's write never reached D-Bus (SetValue log: %s)" % written)


def case_crl_chain(site, pki):
    """A CRL file holding the root's and the intermediates' CRLs checks every certificate of a
    client's chain: a client under an intermediate the root revoked is refused, as is one its
    intermediate revoked; a session that a reloaded intermediate CRL revokes is closed."""
    ca = pki["ca_authority"]
    sub = tlslib.Authority(site.work, "sub-ca", "/O=venus-modbusd test/CN=Sub CA", parent=ca)
    gone = tlslib.Authority(site.work, "gone-ca", "/O=venus-modbusd test/CN=Revoked Sub CA", parent=ca)

    def client(authority, name):
        cert, key = authority.issue(name, "/O=venus-modbusd test/CN=%s" % name, role="admin")
        pki[name] = (authority.chain(cert, site.path(name + "-chain.pem")), key)
        return cert

    client(sub, "sub-admin")
    late = client(sub, "sub-late")
    sub.revoke(client(sub, "sub-revoked"))
    client(gone, "gone-admin")
    ca.revoke(gone.cert)
    crl = site.path("chain.crl")

    def write_crls():
        parts = [authority.crl(site.path(authority.name + ".crl")) for authority in (ca, sub, gone)]
        with open(crl, "w") as out:
            for part in parts:
                with open(part) as f:
                    out.write(f.read())

    write_crls()
    pki = dict(pki, crl=crl)
    proc, port, tport = start(site, pki)
    check(isinstance(served(connected(pki, tport, "sub-admin")), list), "a client of the intermediate CA is served")
    check(isinstance(served(connected(pki, tport, "admin")), list), "a client of the root CA is served")
    for who, why in (("sub-revoked", "its intermediate CA revoked it"), ("gone-admin", "the root revoked its CA")):
        c = tlslib.modbus_client(pki, tport, who)
        outcome = served(c) if c.connect() else "the TLS connection failed"
        c.close()
        check(not isinstance(outcome, list), "%s is refused: %s (%s)" % (who, why, outcome))
    check(wait_for(lambda: diagnostics(site, "/Tls/HandshakeFailures") == 2, timeout=5),
          "both count as failed handshakes (%s)" % diagnostics(site, "/Tls/HandshakeFailures"))
    session = connected(pki, tport, "sub-late")
    check(isinstance(served(session), list), "sub-late is served before its intermediate CA revokes it")
    sub.revoke(late)
    write_crls()
    proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: re.search(r"CN=sub-late, role admin\): closing: its certificate no longer verifies against "
                                     r"the reloaded client CA and CRL: certificate revoked", site.text("server.log")))
          is not None, "after SIGHUP the open session its intermediate CA revoked is closed, named")
    check(not isinstance(served(session), list), "and gets no more replies")


def case_role_der(site, pki):
    """Exactly one role extension, in DER: a certificate with the role extension twice (viewer, then
    admin) and one whose role has a BER long-form length are "no role": closed (default-role none)."""
    ca = pki["ca_authority"]
    pki["twice"] = ca.issue("twice", "/O=venus-modbusd test/CN=twice-client", role="viewer")
    ca.add_role_extension(pki["twice"][0], "admin")
    # "admin" with its length 5 in the long form 0x81 0x05, which BER allows and DER does not.
    pki["ber"] = ca.issue("ber", "/O=venus-modbusd test/CN=ber-client", role_value="DER:0C810561646D696E")
    proc, port, tport = start(site, pki)
    for who, log in (("twice", "server.log"), ("ber", "ber.log")):
        if log != "server.log":  # a daemon of its own: refusals are logged once per 10 s
            site.start_server(config=site.path("venus-modbusd.yaml"), log=log)
            tport = tls_port(site, log)
        c = tlslib.modbus_client(pki, tport, who)
        outcome = served(c) if c.connect() else "the TLS connection failed"
        c.close()
        check(not isinstance(outcome, list), "the %s certificate gets no registers (%s)" % (who, outcome))
    check(wait_for(lambda: "closing: certificate 'O=venus-modbusd test,CN=twice-client' has the role extension more "
                           "than once and default-role is none" in site.text("server.log"), timeout=10),
          "the certificate with two role extensions is closed as one without a role, logged")
    check(wait_for(lambda: "closing: certificate 'O=venus-modbusd test,CN=ber-client' has a role extension that is "
                           "not one DER UTF8String and default-role is none" in site.text("ber.log"), timeout=10),
          "the certificate whose role is BER, not DER, is closed as one without a role, logged")
    check(diagnostics(site, "/Tls/Connections") == 0, "neither counts as a TLS connection")
    check(isinstance(served(connected(pki, tport, "admin")), list), "a well-formed admin certificate is served")


def case_limits(site, pki):
    """TLS connections share the per-address limit and the eviction with plain ones."""
    proc, port, tport = start(site, pki, "--max-clients-per-address", "2")
    plain = sitelib.Connection(port)
    check(isinstance(plain.read(100, 2700), list), "a plain connection is served")
    first = connected(pki, tport, "viewer")
    check(isinstance(served(first), list), "a TLS connection from the same address is served")
    client = tlslib.modbus_client(pki, tport, "admin")
    outcome = served(client) if client.connect() else "the TLS connection failed"
    check(not isinstance(outcome, list), "a third connection from 127.0.0.1 is refused, TLS or not (%s)" % outcome)
    check(wait_for(lambda: "connection refused: already 2 connections from 127.0.0.1 (--max-clients-per-address)"
                   in site.text("server.log"), timeout=10), "the refusal is logged with the limit")
    client.close()
    plain.close()
    first.close()

    # A second daemon with --max-clients 3, clients from three addresses of 127.0.0.0/8: the idle
    # TLS connection makes room for a newcomer (connection events are logged once per 10 s, so
    # this one has a log of its own).
    _, port = site.start_server("--max-clients", "3", log="evict.log", config=site.path("venus-modbusd.yaml"))
    tport = tls_port(site, "evict.log")

    def from_address(host, who):
        client = tlslib.modbus_client(pki, tport, who)
        client.params.source_address = (host, 0)
        if not client.connect():
            raise ConnectionError("%s from %s: the TLS connection failed" % (who, host))
        return client

    idle = from_address("127.0.0.2", "viewer")
    check(isinstance(served(idle), list), "an idle-to-be TLS connection is served")
    busy = [sitelib.Connection(port), from_address("127.0.0.3", "admin")]
    for _ in range(3):
        check(isinstance(busy[0].read(100, 2700), list) and isinstance(served(busy[1]), list),
              "two busier connections, plain and TLS, are served")
    newcomer = from_address("127.0.0.4", "ess")
    check(isinstance(served(newcomer), list), "a TLS newcomer to a full server is served")
    check(wait_for(lambda: re.search(r"127\.0\.0\.2:\d+ \(O=venus-modbusd test,CN=viewer-client, role viewer\): "
                                     r"closing: evicted for 127\.0\.0\.4", site.text("evict.log")), timeout=10)
          is not None, "the idle TLS connection is the one evicted, named by its certificate")
    check(not isinstance(served(idle), list), "the evicted connection gets no more replies")
    check(isinstance(busy[0].read(100, 2700), list) and isinstance(served(busy[1]), list),
          "the busier connections are still served")


def case_doc_client(site, pki):
    """The pymodbus example of docs/security.md, run as written against the test's server: only the
    address, port and file names are replaced."""
    proc, port, tport = start(site, pki)
    with open(os.path.join(sitelib.SOURCE, "docs", "security.md"), encoding="utf-8") as f:
        code = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    for old, new in (('"192.168.1.5", port=802', '"127.0.0.1", port=%d' % tport), ('"ca.pem"', repr(pki["ca"])),
                     ('"ess.pem", "ess.key"', "%r, %r" % pki["ess"])):
        check(old in code, "the example has %s" % old)
        code = code.replace(old, new)
    r = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and re.fullmatch(r"\[-?\d+\]\n", r.stdout) is not None,
          "the example reads the ESS set point through Debian's pymodbus (%d: %s)" % (r.returncode,
                                                                                     (r.stdout + r.stderr)[-300:]))


def case_options(site, pki):
    """The --tls-* options alone (config /dev/null) serve TLS with roles, as the tls map does."""
    site.start_sim()
    _, port = site.start_server("--tls-listen", "127.0.0.1:0", "--tls-cert", pki["server"][0], "--tls-key",
                                pki["server"][1], "--tls-client-ca", pki["ca"], "--tls-crl", pki["crl"],
                                "--tls-role", "ess=2700-2722,37-41", "--tls-role", "viewer=read")
    tport = tls_port(site)
    ess = connected(pki, tport, "ess")
    check(not ess.write_register(2700, 77, slave=100).isError(), "ess may write 2700 (--tls-role ess=2700-2722,37-41)")
    check(exception_code(ess.write_register(33, 3, slave=246)) == 1, "ess writing 33 answers exception 1")
    viewer = connected(pki, tport, "viewer")
    check(registers(viewer.read_holding_registers(2700, 1, slave=100)) == [77], "viewer reads what ess wrote")
    check(exception_code(viewer.write_register(2700, 1, slave=100)) == 1, "viewer writing answers exception 1")
    client = tlslib.modbus_client(pki, tport, "admin")  # a role that --tls-role does not name
    outcome = served(client) if client.connect() else "the TLS connection failed"
    check(not isinstance(outcome, list), "admin, a role not given, is closed (default-role none): %s" % outcome)
    client = tlslib.modbus_client(pki, tport, "revoked")
    outcome = served(client) if client.connect() else "the TLS connection failed"
    check(not isinstance(outcome, list), "--tls-crl is read: the revoked certificate is refused (%s)" % outcome)
    check(sets(site) == [("/Settings/CGwacs/AcPowerSetPoint", "77")], "only the allowed write reached D-Bus")


def case_tls_only(site, pki):
    site.start_sim()
    config = site.path("venus-modbusd.yaml")
    with open(config, "w") as f:
        f.write(tlslib.config_text(pki, plain="[]"))
    site.spawn([os.path.join(BUILD, "venus-modbusd"), "--config", config, "--map", sitelib.SHIPPED_MAP,
                "--bus", site.bus], "server.log")
    tport = tls_port(site)
    log = site.text("server.log")
    check(len(re.findall(r"listening on ", log)) == 1, "only one listener: the TLS one")
    check(isinstance(served(connected(pki, tport, "viewer")), list), "the TLS listener serves")


class MemoryTls:
    """TLS through memory BIOs over a raw socket, for what pymodbus cannot say: the test decides when
    which bytes go out (all requests at once, a half-close), and only the calling thread touches
    the SSL object (an OpenSSL connection must not be read and written from two threads at once,
    which a sender thread on an SSLSocket would do)."""

    def __init__(self, pki, port, who):
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = tlslib.client_context(pki, who).wrap_bio(self.incoming, self.outgoing,
                                                            server_hostname="127.0.0.1")
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.sock.sendall(self.outgoing.read())
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed during the handshake")
                self.incoming.write(data)
        self.sock.sendall(self.outgoing.read())

    def encrypt(self, plain):
        """The TLS records carrying `plain`, to send on self.sock."""
        self.tls.write(plain)
        return self.outgoing.read()

    def receive(self):
        """The plaintext of the next bytes from the socket (maybe b""), or None at its end."""
        data = self.sock.recv(65536)
        if not data:
            return None
        self.incoming.write(data)
        plain = b""
        try:
            while True:
                chunk = self.tls.read(65536)
                if not chunk:
                    break
                plain += chunk
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            pass
        return plain


def case_pipeline(site, pki):
    """Back-pressure over TLS: 3000 requests sent in one go (TLS records of 16 kB, each holding far
    more requests than the server's input buffer) by another thread while this one reads; every
    reply arrives, in order. Bytes TLS has decrypted but the server has not framed yet announce no
    socket event: the server must go back for them."""
    proc, port, tport = start(site, pki)
    conn = MemoryTls(pki, tport, "viewer")
    count = 3000
    records = conn.encrypt(b"".join(frame(i, 100, read_pdu(840, 4)) for i in range(count)))
    sender = threading.Thread(target=conn.sock.sendall, args=(records,))  # raw bytes: no SSL object
    sender.start()
    data = b""
    size = 9 + 8  # MBAP 7 + fc + byte count + 8 bytes
    while len(data) < count * size:
        chunk = conn.receive()
        if chunk is None:
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
    conn = MemoryTls(pki, tport, "ess")
    write = struct.pack(">BHH", 6, 2700, 444)
    conn.sock.sendall(conn.encrypt(frame(1, 100, write) + frame(2, 100, read_pdu(2700, 1))))
    conn.sock.shutdown(socket.SHUT_WR)
    plain = b""
    while True:
        chunk = conn.receive()
        if chunk is None:
            break
        plain += chunk
    check(plain[:7 + 5] == frame(1, 100, write), "the write before the half-close is answered")
    check(plain[12:12 + 11] == frame(2, 100, struct.pack(">BBH", 3, 2, 444)),
          "then the read, which sees the written value (%r)" % plain[12:])
    check(chunk is None, "then the server closes the connection")
    check(("/Settings/CGwacs/AcPowerSetPoint", "444") in sets(site), "the write reached D-Bus")


def case_check(site, pki):
    """--check loads the TLS files; a key that does not match, or a missing file, is exit 2 with the
    file named; the daemon does not start with a broken certificate (exit 1, named)."""
    daemon = os.path.join(BUILD, "venus-modbusd")
    good, bad = site.path("good.yaml"), site.path("bad.yaml")
    with open(good, "w") as f:
        f.write(tlslib.config_text(pki))
    r = subprocess.run([daemon, "--config", good, "--map", sitelib.SHIPPED_MAP, "--check"], capture_output=True,
                       text=True)
    check(r.returncode == 0 and "tls: OK (listen 127.0.0.1:0, server certificate 'O=venus-modbusd test,"
          "CN=venus-modbusd', 3 roles, default-role none)\n" in r.stdout and "\nlisten: 0.0.0.0:502\n" in r.stdout,
          "--check loads the TLS files and names the plain and TLS listen addresses, the server certificate and "
          "the roles (%d: %s)" % (r.returncode, r.stdout[-300:]))
    r = subprocess.run([daemon, "--config", "/dev/null", "--map", sitelib.SHIPPED_MAP, "--listen", "127.0.0.1:1502",
                        "--listen", "[::1]:1502", "--tls-listen", "127.0.0.1:1802", "--tls-cert", pki["server"][0],
                        "--tls-key", pki["server"][1], "--tls-client-ca", pki["ca"], "--tls-role", "viewer=read",
                        "--check"], capture_output=True, text=True)
    check(r.returncode == 0 and "\nlisten: 127.0.0.1:1502, [::1]:1502\n" in r.stdout and
          "tls: OK (listen 127.0.0.1:1802, " in r.stdout and ", 1 role, default-role none)" in r.stdout,
          "--check with two listen addresses and one role says so (%d: %s)" % (r.returncode, r.stdout[-300:]))
    with open(bad, "w") as f:
        f.write(tlslib.config_text(pki).replace(pki["server"][1], pki["admin"][1]))
    r = subprocess.run([daemon, "--config", bad, "--map", sitelib.SHIPPED_MAP, "--check"], capture_output=True,
                       text=True)
    check(r.returncode == 2 and pki["admin"][1] in r.stderr, "--check: a key of another certificate is exit 2, "
          "naming the key file (%d: %s)" % (r.returncode, r.stderr.strip()))
    with open(bad, "w") as f:
        f.write(tlslib.config_text(pki).replace("    admin: write\n", "    admin: write\n    none: write\n"))
    r = subprocess.run([daemon, "--config", bad, "--map", sitelib.SHIPPED_MAP, "--check"], capture_output=True,
                       text=True)
    check(r.returncode == 2 and re.search(re.escape(bad) + r":\d+: tls: roles: a role cannot be named none",
                                          r.stderr) is not None,
          "--check: a role named none is exit 2, naming the file, its line and the key (%d: %s)"
          % (r.returncode, r.stderr.strip()))
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
    obj = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
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
    sitelib.hostile_at_work([drip, lambda: flood(held)], started, ready, stop, held)


def case_load(site, pki):
    proc, port, tport = start(site, pki, "--frame-timeout", "1000", "--max-clients", "48",
                              "--max-clients-per-address", "48")
    plain = socket.create_connection(("127.0.0.1", port), timeout=10)
    secure = connected(pki, tport, "viewer")
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    load = multiprocessing.Process(target=hostile_tls, args=(pki, tport, ready, stop), daemon=True)
    load.start()
    check(ready.wait(60), "the drip-feeding handshake and the half-open flood (another process) are at work")
    # The two well-behaved clients take turns, so that neither sits idle (and is evicted by the
    # flood at --max-clients) while the other is measured.
    latencies = {"plain": [], "TLS": []}
    for i in range(500):
        started = time.perf_counter()
        reply = raw.request(plain, 100, read_pdu(840, 4), tid=i)
        latencies["plain"].append(time.perf_counter() - started)
        if reply is None or reply[2][:1] != b"\x03":
            break
        started = time.perf_counter()
        words = registers(secure.read_holding_registers(840, 4, slave=100))
        latencies["TLS"].append(time.perf_counter() - started)
        if words is None:
            break
    check(wait_for(lambda: "TLS handshake timeout" in site.text("server.log"), timeout=10),
          "a stalled handshake is closed by the handshake timeout")
    stop.set()
    load.join(30)
    for name, values in latencies.items():
        check(len(values) == 500, "the %s client got all its 500 replies (%d)" % (name, len(values)))
        values.sort()
        p99 = values[int(len(values) * 0.99) - 1] * 1000 if values else float("inf")
        print("%s client: p50 %.3f ms, p99 %.3f ms" % (name, statistics.median(values or [0]) * 1000, p99))
        # A server blocked by a stalled handshake would show 100 ms and more (the drip interval); 50 ms
        # separates that and holds on a loaded 2-core machine and under the sanitizers (idle: under
        # 1 ms, the TLS client's own Python included). As for the plain robustness test.
        check(p99 < 50.0, "the %s client's p99 stays under 50 ms (%.3f ms)" % (name, p99))


def case_churn(site, pki):
    """Issue 24: 32 silent plain connections and silent TLS connections (handshakes that never start),
    from 127.0.7.1-8, each reconnecting as soon as the server closes it. A TLS client with a valid
    certificate gets in and, once its handshake is done, is never evicted: it stays connected and
    is answered."""
    proc, port, tport = start(site, pki, "--log-level", "info")
    plain = sitelib.SilentChurn("127.0.0.1", port, ["127.0.7.%d" % (1 + i % 4) for i in range(32)])
    handshakes = sitelib.SilentChurn("127.0.0.1", tport, ["127.0.7.%d" % (5 + i % 4) for i in range(32)])
    with plain, handshakes:
        check(wait_for(lambda: site.text("server.log").count("connection refused") +
                       site.text("server.log").count("more connections refused") > 0, timeout=30),
              "the silent connections fill the server")
        secure = None

        def get_in():
            nonlocal secure
            try:
                secure = raw_tls(pki, tport, "admin")
                reply = raw.request(secure, 100, read_pdu(2700, 1), tid=1)
                return reply is not None and reply[2][:2] == b"\x03\x02"
            except (OSError, ssl.SSLError):
                return False

        check(wait_for(get_in, timeout=60), "the TLS client gets in")
        # The counter is published once a second: wait for this client's handshake to be in it.
        before = wait_for(lambda: diagnostics(site, "/Tls/Connections"), timeout=10)
        check(before is not None and before >= 1, "the handshake is counted (/Tls/Connections %s)" % before)
        answered = 0
        for i in range(200):
            try:
                reply = raw.request(secure, 100, read_pdu(2700, 1), tid=2 + i)
            except (OSError, ssl.SSLError):
                reply = None
            if reply is None:
                break
            answered += 1 if reply[2][:2] == b"\x03\x02" else 0
            time.sleep(0.02)
        print("TLS client: %d of 200 answered; plain churn %d, TLS churn %d reconnects" %
              (answered, plain.reconnects, handshakes.reconnects))
        check(answered == 200, "the TLS client stays connected and is answered under the churn: %d of 200" % answered)
        check(diagnostics(site, "/Tls/Connections") == before, "without a reconnect (/Tls/Connections stayed %s)" % before)
        check(plain.reconnects + handshakes.reconnects >= 5,
              "the silent connections did churn: %d reconnects" % (plain.reconnects + handshakes.reconnects))
    secure.close()


CASES = {"roles": case_roles, "refused": case_refused, "reload": case_reload, "limits": case_limits,
         "tls-only": case_tls_only, "load": case_load, "pipeline": case_pipeline, "half-close": case_half_close,
         "check": case_check, "bench": case_bench, "doc-client": case_doc_client,
         "options": case_options, "churn": case_churn, "reload-roles": case_reload_roles,
         "crl-chain": case_crl_chain, "role-der": case_role_der}

with sitelib.Site(BUILD) as site:
    pki = tlslib.make_pki(site.work)
    try:
        CASES[CASE](site, pki)
    except Exception as e:  # a crash is a failure with the server log beside it
        check(False, "%s: %r" % (CASE, e))
    checks.finish(lambda: "--- server log (last 40 lines)\n" + "\n".join(site.text("server.log").splitlines()[-40:]))
