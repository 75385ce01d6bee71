#!/usr/bin/env bash
# venus-sim's fault keys (read-delay-ms, reads-fail-for-ms, release-after-ms, queue, listed-only, and a path's
# read-fails-for-ms) with bad values:
# exit 2 and a FILE:LINE message, before any bus is touched.
set -euo pipefail
sim=$1
work=$(mktemp -d /tmp/vmd-sim-keys.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
expect() { # VALUE-LINE EXPECTED-MESSAGE
  printf 'services:\n  - name: com.victronenergy.tank.t\n    %s\n    paths:\n      /Level: 1.0\n' "$1" > "$work/s.yaml"
  local rc=0
  "$sim" --bus unix:path=/nonexistent --scenario "$work/s.yaml" > "$work/out" 2>&1 || rc=$?
  if [ $rc -ne 2 ] || ! grep -qF "$2" "$work/out"; then
    echo "FAIL '$1': exit $rc, output: $(cat "$work/out")"; status=1
  else
    echo "ok   '$1': exit 2, $(head -n 1 "$work/out")"
  fi
}
expect "read-delay-ms: -5" "s.yaml:3: read-delay-ms must be 0..3600000"
expect "reads-fail-for-ms: 1.5" "s.yaml:3: reads-fail-for-ms must be 0..3600000"
expect "release-after-ms: soon" "s.yaml:3: release-after-ms must be a number"
expect "queue: maybe" "s.yaml:3: queue must be true or false"
expect "read-delay: 5" "s.yaml:3: unknown key 'read-delay' in service"
expect "listed-only: [a]" "s.yaml:3: service com.victronenergy.tank.t: 'listed-only' must be a map of /Key: value"
expect "listed-only: {Level 2: 1}" "s.yaml:3: bad listed-only key 'Level 2' (must start with /)"
expect "listed-only: {/Level: 2}" "s.yaml:3: duplicate path /Level"
expect_path() { # PATH-VALUE EXPECTED-MESSAGE: a fault key of one path
  printf 'services:\n  - name: com.victronenergy.tank.t\n    paths:\n      /Level: %s\n' "$1" > "$work/s.yaml"
  local rc=0
  "$sim" --bus unix:path=/nonexistent --scenario "$work/s.yaml" > "$work/out" 2>&1 || rc=$?
  if [ $rc -ne 2 ] || ! grep -qF "$2" "$work/out"; then
    echo "FAIL '$1': exit $rc, output: $(cat "$work/out")"; status=1
  else
    echo "ok   '$1': exit 2, $(head -n 1 "$work/out")"
  fi
}
expect_path "{value: 1.0, read-fails-for-ms: -1}" "s.yaml:4: path /Level: read-fails-for-ms must be 0..3600000"
expect_path "{value: 1.0, read-fails-for-ms: 2.5}" "s.yaml:4: path /Level: read-fails-for-ms must be 0..3600000"
expect_path "{value: 1.0, read-fails-for-ms: 3600001}" "s.yaml:4: path /Level: read-fails-for-ms must be 0..3600000"
expect_path "{value: 1.0, read-fails-for-ms: soon}" "s.yaml:4: read-fails-for-ms must be a number"
exit $status
