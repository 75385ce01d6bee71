#!/usr/bin/env bash
# venus-sim refuses a scenario whose set-delay is not a number of seconds in [0, 3600]: exit 2 and
# a FILE:LINE message, before it touches any bus.
#   sim-rejects-bad-set-delay.sh VENUS_SIM
set -uo pipefail
sim=$1
work=$(mktemp -d /tmp/vmd-sim-delay.XXXXXX)
trap 'rm -rf "$work"' EXIT
rc=0
for delay in -1 soon 3601; do
  cat > "$work/s.yaml" <<YAML
services:
  - name: com.victronenergy.vebus.t
    paths:
      /DeviceInstance: 1
      /Hub4/L1/AcPowerSetpoint: {value: 0.0, writable: true, set-delay: $delay}
YAML
  status=0
  "$sim" --bus unix:path=/nonexistent --scenario "$work/s.yaml" > "$work/out" 2>&1 || status=$?
  if [ "$status" -ne 2 ] || ! grep -qE "s\.yaml:5: .*set-delay must be" "$work/out"; then
    echo "FAIL set-delay: $delay: status $status, output: $(cat "$work/out")"; rc=1
  else
    echo "ok   set-delay: $delay is refused: $(cat "$work/out")"
  fi
done
exit $rc
