"""Certificates for the Modbus/TCP Security tests, made with the `openssl` command line.

make_pki(directory) makes a CA (which signs the server and the clients), a server certificate for
127.0.0.1, clients with the roles viewer, ess and admin (the role extension 1.3.6.1.4.1.50316.802.1
as an ASN.1 UTF8String), one without a role, one signed by another CA, one expired and one revoked
(and the CRL saying so). Elliptic-curve keys keep the handshakes cheap.

modbus_client() is pymodbus's ModbusTlsClient as the specification wants it used: the socket
framer (the unchanged MBAP ADU inside TLS) and an ssl context that presents the client
certificate and verifies the server's."""
import os
import ssl
import subprocess

from pymodbus.client import ModbusTlsClient
from pymodbus.transaction import ModbusSocketFramer

ROLE_OID = "1.3.6.1.4.1.50316.802.1"

CA_CONFIG = """[ca]
default_ca = test_ca
[test_ca]
dir = {dir}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/issued
certificate = $dir/{name}.pem
private_key = $dir/{name}.key
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
organizationName = optional
[server]
basicConstraints = CA:FALSE
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth
[client]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Authority:
    """A CA in `directory`/NAME with `openssl ca`'s database (for expired certificates and the CRL)."""

    def __init__(self, directory, name, subject, parent=None):
        """A root CA, or with `parent` an intermediate CA that `parent` signs."""
        self.dir = os.path.join(directory, name)
        self.name = name
        os.makedirs(os.path.join(self.dir, "issued"), exist_ok=True)
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.config = os.path.join(self.dir, "ca.cnf")
        with open(self.config, "w") as f:
            f.write(CA_CONFIG.format(dir=self.dir, name=name))
        self.cert = os.path.join(self.dir, name + ".pem")
        if parent is not None:
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    name + ".key", "-out", name + ".csr", "-subj", subject, cwd=self.dir)
            openssl("ca", "-batch", "-config", parent.config, "-extensions", "intermediate", "-in",
                    name + ".csr", "-out", self.cert, "-notext", cwd=self.dir)
            return
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".pem", "-days", "30", "-subj", subject, cwd=self.dir)

    def issue(self, name, subject, extensions="client", role=None, start=None, end=None, role_value=None):
        """Signs a new key's certificate; returns (cert, key) paths. `role_value` is the role
        extension's value in openssl's syntax instead (e.g. "DER:0C8105..." for raw bytes)."""
        section = extensions
        if role is not None or role_value is not None:
            section = "role_" + name
            with open(self.config, "a") as f:
                f.write("[%s]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n"
                        "%s = %s\n" % (section, ROLE_OID, role_value or "ASN1:UTF8String:" + role))
        key, csr, cert = (os.path.join(self.dir, name + suffix) for suffix in (".key", ".csr", ".pem"))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", csr, "-subj", subject, cwd=self.dir)
        dates = []
        if start:
            dates = ["-startdate", start, "-enddate", end]
        openssl("ca", "-batch", "-config", self.config, "-extensions", section, "-in", csr, "-out", cert,
                "-notext", *dates, cwd=self.dir)
        return cert, key

    def revoke(self, cert):
        openssl("ca", "-config", self.config, "-revoke", cert, cwd=self.dir)

    def crl(self, path):
        openssl("ca", "-config", self.config, "-gencrl", "-out", path, cwd=self.dir)
        return path


    def chain(self, cert, path):
        """`cert` followed by this (intermediate) CA's certificate: what a client presents."""
        with open(path, "w") as out:
            for part in (cert, self.cert):
                with open(part) as f:
                    out.write(f.read())
        return path

    def add_role_extension(self, cert, role):
        """Appends a second role extension (`role`) to `cert` and signs it again. openssl's config
        cannot say an extension twice (it keeps the last), so this edits the DER."""
        der = ssl.PEM_cert_to_DER_cert(open(cert).read())
        _, certificate, _ = _der_read(der, 0)
        tbs_tag, tbs, at = _der_read(certificate, 0)
        rest = certificate[at:]  # signatureAlgorithm, signatureValue
        fields = _der_children(tbs)
        tag, extensions_wrapper = fields[-1]
        assert tag == 0xA3, "no extensions in %s" % cert
        _, sequence, _ = _der_read(extensions_wrapper, 0)  # [3] { SEQUENCE OF Extension }
        _, extensions, _ = _der_read(sequence, 0)
        extra = _der(0x30, _der_oid(ROLE_OID) + _der(0x04, _der(0x0C, role.encode())))
        extensions = _der(0x30, extensions + extra)
        fields[-1] = (0xA3, _der(0xA3, extensions))
        tbs = _der(tbs_tag, b"".join(_der(t, v) if t != 0xA3 else v for t, v in fields))
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", os.path.join(self.dir, self.name + ".key")],
                                   input=tbs, capture_output=True, check=True).stdout
        _, algorithm, _ = _der_read(rest, 0)
        der = _der(0x30, tbs + _der(0x30, algorithm) + _der(0x03, b"\x00" + signature))
        with open(cert, "w") as f:
            f.write(ssl.DER_cert_to_PEM_cert(der))
        return cert


def _der(tag, body):
    """A DER TLV: `tag`, the shortest length form, `body`."""
    n = len(body)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
        (n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def _der_oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        groups = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            groups.insert(0, 0x80 | (arc & 0x7F))
        body += bytes(groups)
    return _der(0x06, body)


def _der_read(data, at):
    """(tag, value, end) of the DER TLV at `at`."""
    tag, n = data[at], data[at + 1]
    at += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[at:at + k], "big")
        at += k
    return tag, data[at:at + n], at + n


def _der_children(body):
    """[(tag, value)] of a constructed value's elements; an [3] element keeps its whole TLV as value."""
    out, at = [], 0
    while at < len(body):
        tag, value, end = _der_read(body, at)
        out.append((tag, body[at:end] if tag == 0xA3 else value))
        at = end
    return out


def make_pki(directory):
    """Returns a dict of name -> path (or (cert, key) for the clients)."""
    ca = Authority(directory, "ca", "/O=venus-modbusd test/CN=Test CA")
    other = Authority(directory, "other-ca", "/O=someone else/CN=Other CA")
    pki = {"ca": ca.cert, "ca_authority": ca}
    pki["server"] = ca.issue("server", "/O=venus-modbusd test/CN=venus-modbusd", extensions="server")
    pki["server2"] = ca.issue("server2", "/O=venus-modbusd test/CN=venus-modbusd renewed", extensions="server")
    for role in ("viewer", "ess", "admin"):
        pki[role] = ca.issue(role, "/O=venus-modbusd test/CN=%s-client" % role, role=role)
    pki["norole"] = ca.issue("norole", "/O=venus-modbusd test/CN=no-role-client")
    pki["foreign"] = other.issue("foreign", "/O=someone else/CN=foreign-client", role="admin")
    pki["expired"] = ca.issue("expired", "/O=venus-modbusd test/CN=expired-client", role="admin",
                              start="20200101000000Z", end="20200201000000Z")
    pki["revoked"] = ca.issue("revoked", "/O=venus-modbusd test/CN=revoked-client", role="admin")
    ca.revoke(pki["revoked"][0])
    pki["crl"] = ca.crl(os.path.join(directory, "clients.crl"))
    return pki


def client_context(pki, client=None, maximum=None, minimum=None):
    """An SSLContext that verifies the server (its chain against the test CA, and that it names
    127.0.0.1, the server_hostname every client here gives) and presents `client`'s certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(pki["ca"])
    if client is not None:
        context.load_cert_chain(*pki[client])
    if maximum is not None:
        context.maximum_version = maximum
    if minimum is not None:
        context.minimum_version = minimum
    return context


def config_text(pki, listen="127.0.0.1:0", plain=None, crl=True, extra=""):
    """A venus-modbusd config with a `tls:` map using `pki` (plain listeners: `plain`, a YAML list)."""
    lines = []
    if plain is not None:
        lines.append("listen: %s" % plain)
    lines += [
        "tls:",
        "  listen: [\"%s\"]" % listen,
        "  cert: %s" % pki["server"][0],
        "  key: %s" % pki["server"][1],
        "  client-ca: %s" % pki["ca"],
    ]
    if crl:
        lines.append("  crl: %s" % pki["crl"])
    lines += [
        "  roles:",
        "    viewer: read",
        "    admin: write",
        "    ess: {write: [\"2700-2722\", \"37-41\", \"96-101\"]}",
        "  default-role: none",
    ]
    return "\n".join(lines) + "\n" + extra


class DrainingTlsClient(ModbusTlsClient):
    """pymodbus 3.0.0rc1's ModbusTlsClient (Debian 12) with one bug fixed: its recv(), inherited
    from ModbusTcpClient, waits in select() on the TCP socket before every read. TLS decrypts a
    whole record at a time, so after the transaction manager reads the MBAP header (8 bytes) the
    rest of the reply already waits decrypted in the SSL object, and the TCP socket stays silent:
    select() times out and every request fails ("No Response received"). Bytes the SSL object
    holds (pending()) are handed out first; everything else, framing and transaction matching
    included, is pymodbus's own."""

    def recv(self, size):
        pending = self.socket.pending() if self.socket is not None else 0
        if not pending:
            return super().recv(size)
        data = self.socket.recv(pending if size is None else min(size, pending))
        if size is not None and len(data) == size:
            return data
        return data + super().recv(None if size is None else size - len(data))


def modbus_client(pki, port, client, timeout=5.0, **context_args):
    """A pymodbus TLS client (not yet connected) to 127.0.0.1:`port` presenting `client`'s certificate."""
    return DrainingTlsClient("127.0.0.1", port=port, framer=ModbusSocketFramer,
                             sslctx=client_context(pki, client, **context_args), timeout=timeout, retries=0)
