#!/usr/bin/env bash
# The openssl commands of docs/security.md, run as they are written: they make a CA, a server
# certificate it signed, a client certificate with the role "ess", and a CRL revoking it.
#   security-doc-commands.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^```sh$/{f=1;next} /^```$/{f=0} f' "$src/docs/security.md" > "$work/commands.sh"
[ -s "$work/commands.sh" ] || { echo "FAIL: no sh block in docs/security.md" >&2; exit 1; }
(cd "$work" && bash -euo pipefail commands.sh > commands.log 2>&1) ||
  { echo "FAIL: the commands of docs/security.md failed:" >&2; tail -20 "$work/commands.log" >&2; exit 1; }
pki=$work/pki
openssl verify -CAfile "$pki/ca.pem" "$pki/server.pem" > /dev/null || { echo "FAIL: server.pem does not verify" >&2; exit 1; }
openssl x509 -in "$pki/evcc.pem" -noout -text | grep -A1 '1.3.6.1.4.1.50316.802.1' | grep -q 'ess' ||
  { echo "FAIL: evcc.pem has no role extension 'ess'" >&2; exit 1; }
serial=$(openssl x509 -in "$pki/evcc.pem" -noout -serial | sed 's/serial=//')
openssl crl -in "$pki/clients.crl" -noout -text | grep -q "Serial Number: $serial" ||
  { echo "FAIL: clients.crl does not revoke evcc.pem ($serial)" >&2; exit 1; }
if openssl verify -crl_check -CAfile "$pki/ca.pem" -CRLfile "$pki/clients.crl" "$pki/evcc.pem" > /dev/null 2>&1; then
  echo "FAIL: evcc.pem still verifies against the CRL" >&2; exit 1
fi
echo "docs/security.md: CA, server, role certificate and CRL made and checked"
