"""docs/security.md's certificates as an operator lives with them: the doc's three sh blocks (make,
renew, revoke) run as written, in order, in a scratch directory, against the daemon on the simulated
site, configured with the doc's yaml example (only its /etc/venus-modbusd/tls/ paths point at the
scratch directory and it listens on 127.0.0.1:0). Clients verify the server's chain against the
recipe's CA (not its name: the recipe's server certificate names 192.168.1.5 and venus.local).

1. CA, server, viewer, ess, admin: the server pair matches; viewer reads and its write answers
   exception 1; ess writes the ESS mode (2902) and a Multi set point (37); admin writes 2700. The
   doc's ess role covers every register docs/ess-mode3.md writes (its table but the read rows, int32
   rows with their second word). A renewal that fails (a wrong extensions section) leaves the old
   server pair as it was.
2. Renewal, then a reload: the server pair still matches, is new, and new connections get the new
   certificate; the renewed ess client writes.
3. Revoking viewer, then a reload: viewer is refused; ess and admin still read and write.

Usage: security_recipe_test.py BUILD_DIR
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import sys

import yaml
from pymodbus.client import ModbusTlsClient
from pymodbus.transaction import ModbusSocketFramer

from sitelib import SOURCE, Checks, Site, wait_for

BUILD = sys.argv[1]
checks = Checks("security recipe")
check = checks.check

with open(os.path.join(SOURCE, "docs", "security.md"), encoding="utf-8") as f:
    DOC = f.read()
BLOCKS = re.findall(r"```sh\n(.*?)```", DOC, re.S)
CONFIG = re.search(r"```yaml\n(.*?)```", DOC, re.S).group(1)


class DrainingTlsClient(ModbusTlsClient):
    """The doc's pymodbus client (docs/security.md, "How clients connect")."""

    def recv(self, size):
        pending = self.socket.pending() if self.socket is not None else 0
        if not pending:
            return super().recv(size)
        data = self.socket.recv(pending if size is None else min(size, pending))
        if size is not None and len(data) == size:
            return data
        return data + super().recv(None if size is None else size - len(data))


def context(pki, who):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False  # the chain is verified; the recipe's server names 192.168.1.5
    c.load_verify_locations(os.path.join(pki, "ca.pem"))
    c.load_cert_chain(os.path.join(pki, who + ".pem"), os.path.join(pki, who + ".key"))
    return c


def client(pki, port, who):
    c = DrainingTlsClient("127.0.0.1", port=port, framer=ModbusSocketFramer, sslctx=context(pki, who),
                          timeout=5, retries=0)
    c.connect()
    return c


def reads(pki, port, who):
    c = client(pki, port, who)
    try:
        r = c.read_holding_registers(843, 1, slave=100)
        return not isinstance(r, Exception) and not r.isError()
    except Exception:  # a refused certificate: the alert or the close comes with the first request
        return False
    finally:
        c.close()


def write(pki, port, who, unit, address, value):
    """None when accepted, the exception code, or 'no answer'."""
    c = client(pki, port, who)
    try:
        r = c.write_register(address, value, slave=unit)
        if isinstance(r, Exception):
            return "no answer"
        return getattr(r, "exception_code", "error") if r.isError() else None
    except Exception as e:
        return "no answer (%s)" % e
    finally:
        c.close()


def served_certificate(pki, port):
    """The DER of the certificate the server presents to a new connection (as admin)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with context(pki, "admin").wrap_socket(sock) as tls:
            return tls.getpeercert(binary_form=True)


def der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def public_keys(pki, name):
    """(the public key of NAME.pem, the public key of NAME.key), as openssl prints them."""
    cert = subprocess.run(["openssl", "x509", "-noout", "-pubkey", "-in", os.path.join(pki, name + ".pem")],
                          capture_output=True, text=True).stdout
    key = subprocess.run(["openssl", "pkey", "-pubout", "-in", os.path.join(pki, name + ".key")],
                         capture_output=True, text=True).stdout
    return cert, key


def run_block(index, cwd):
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", BLOCKS[index]], cwd=cwd, capture_output=True, text=True,
                       timeout=120)
    check(r.returncode == 0, "block %d of the recipe runs as written (exit %d): %s" % (index + 1, r.returncode,
                                                                                       (r.stdout + r.stderr)[-600:]))


def ess_mode3_writes():
    """The registers docs/ess-mode3.md's table has clients write (int32: both words)."""
    with open(os.path.join(SOURCE, "docs", "ess-mode3.md"), encoding="utf-8") as f:
        table = f.read().split("## Units and registers")[1].split("\n\n")[0]
    out = set()
    for row in table.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) != 5 or "(read)" in cells[0]:
            continue
        for address in map(int, re.findall(r"\d+", cells[2])):
            out.add(address)
            if "int32" in cells[3]:
                out.add(address + 1)
    return out


check(len(BLOCKS) == 3, "docs/security.md has three sh blocks (make, renew, revoke): %d" % len(BLOCKS))
config = yaml.safe_load(CONFIG)
ranges = []
for item in config["tls"]["roles"]["ess"]["write"]:
    first, _, last = str(item).partition("-")
    ranges.append((int(first), int(last or first)))
wanted = ess_mode3_writes()
check({2902, 37, 96, 97, 2716, 2717, 4610, 4611, 4922, 4923} <= wanted,
      "the ESS guide's table names the registers it writes: %s" % sorted(wanted))
outside = sorted(a for a in wanted if not any(lo <= a <= hi for lo, hi in ranges))
check(not outside, "the example ess role covers every register docs/ess-mode3.md writes (outside: %s)" % outside)

with Site(BUILD, prefix="vmd-security-recipe.") as site:
    work = site.path("recipe")
    os.mkdir(work)
    pki = os.path.join(work, "pki")
    run_block(0, work)
    cert_key = public_keys(pki, "server")
    check(cert_key[0] and cert_key[0] == cert_key[1], "server.pem and server.key are a pair")
    before = (der(os.path.join(pki, "server.pem")), open(os.path.join(pki, "server.key")).read())
    r = subprocess.run(["./issue", "server", "no_such_section"], cwd=pki, capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and (der(os.path.join(pki, "server.pem")),
                                 open(os.path.join(pki, "server.key")).read()) == before,
          "a renewal that fails (exit %d) leaves the old server pair as it was" % r.returncode)

    with open(site.path("tls.yaml"), "w") as f:
        f.write(CONFIG.replace("/etc/venus-modbusd/tls/", pki + "/").replace("0.0.0.0:802", "127.0.0.1:0"))
    site.start_sim()
    proc, _ = site.start_server(config=site.path("tls.yaml"))
    port = int(wait_for(lambda: re.search(r"listening on 127\.0\.0\.1:(\d+) \(TLS", site.text("server.log"))).group(1))

    def reload():
        n = site.text("server.log").count("reload: TLS certificate")
        proc.send_signal(signal.SIGHUP)
        check(wait_for(lambda: site.text("server.log").count("reload: TLS certificate") > n, 10),
              "the reload re-read the TLS files")

    check(served_certificate(pki, port) == der(os.path.join(pki, "server.pem")), "the daemon serves server.pem")
    for who in ("viewer", "ess", "admin"):
        check(reads(pki, port, who), "%s reads" % who)
    check(write(pki, port, "viewer", 100, 2700, 50) == 1, "viewer's write answers exception 1")
    check(write(pki, port, "ess", 100, 2902, 1) is None, "ess writes the ESS mode (2902), as docs/ess-mode3.md does")
    check(write(pki, port, "ess", 246, 37, 0) is None, "ess writes the Multi's L1 set point (37)")
    check(write(pki, port, "ess", 100, 2800, 1) == 1, "ess may not write outside its role (2800)")
    check(write(pki, port, "admin", 100, 2700, 50) is None, "admin writes 2700")

    old_ess = der(os.path.join(pki, "ess.pem"))
    run_block(1, pki)
    cert_key = public_keys(pki, "server")
    check(cert_key[0] and cert_key[0] == cert_key[1], "after the renewal server.pem and server.key are still a pair")
    renewed = der(os.path.join(pki, "server.pem"))
    check(renewed != before[0] and open(os.path.join(pki, "server.key")).read() != before[1],
          "the renewal made a new server certificate and key")
    check(der(os.path.join(pki, "ess.pem")) != old_ess and public_keys(pki, "ess")[0] == public_keys(pki, "ess")[1],
          "the renewal made a new ess pair")
    reload()
    check(served_certificate(pki, port) == renewed, "after a reload new connections get the renewed certificate")
    check(write(pki, port, "ess", 246, 37, 0) is None, "the renewed ess client writes")
    check(reads(pki, port, "viewer"), "viewer still reads")

    run_block(2, pki)
    reload()
    check(wait_for(lambda: not reads(pki, port, "viewer"), 10), "the revoked viewer is refused")
    check(reads(pki, port, "ess") and reads(pki, port, "admin"), "ess and admin still read")
    check(write(pki, port, "ess", 100, 2902, 1) is None and write(pki, port, "admin", 100, 2700, 50) is None,
          "ess and admin still write")

checks.finish()
