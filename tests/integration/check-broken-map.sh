#!/usr/bin/env bash
# venus-modbusd --check on a broken map: exit 2 and one FILE:LINE: message per problem.
set -uo pipefail
bin=$1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cat > "$work/bad.yaml" <<'MAP'
registers:
  - {address: 10, service: vebus, path: /A, type: int32, access: R}
  - {address: 11, service: vebus, path: /B, type: uint16, access: R}
  - {address: 20, service: vebus, path: /C, type: float, access: R}
  - {address: 30, service: vebus, path: /D, type: uint16, scale: 0, access: R}
  - {address: 40, service: tank, path: /Bad Path, type: uint16, access: R}
MAP
out=$("$bin" --check --map "$work/bad.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] || { echo "expected exit 2, got $rc: $out"; exit 1; }
for expected in "$work/bad.yaml:3: register 11 overlaps register 10" "$work/bad.yaml:4: unknown type 'float'" \
                "$work/bad.yaml:5: scale must not be zero" \
                "$work/bad.yaml:6: path '/Bad Path' is not a D-Bus object path"; do
  grep -qF "$expected" <<<"$out" || { echo "missing '$expected' in: $out"; exit 1; }
done
out=$("$bin" --check --map "$work/missing.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -qF "$work/missing.yaml:0: cannot open the file" <<<"$out" || { echo "missing map: $rc $out"; exit 1; }
out=$("$bin" --bogus 2>&1); rc=$?
[ $rc -eq 2 ] && grep -qF "unknown option '--bogus'" <<<"$out" || { echo "bad option: $rc $out"; exit 1; }
echo "check: 4 cases passed"
