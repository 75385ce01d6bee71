#!/usr/bin/env bash
# When its D-Bus connection is lost the daemon says so and exits 1, for its supervisor to restart
# it (docs/protocol.md): it must not go on serving values it can no longer keep current.
set -euo pipefail
build=$1 here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/vmd-buslost.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
dbus-daemon --config-file="$here/bus.conf" --nofork --print-address=1 > "$work/address" 2> "$work/bus.log" &
bus_pid=$!; pids+=($bus_pid)
for _ in $(seq 1 200); do grep -q '^unix:' "$work/address" && break; sleep 0.05; done
bus=$(head -n1 "$work/address")
"$build/venus-sim" --bus "$bus" > "$work/sim.log" 2>&1 & pids+=($!)
for _ in $(seq 1 200); do grep -q 'services ready' "$work/sim.log" && break; sleep 0.05; done
"$build/venus-modbusd" --config /dev/null --map "$here/../../register-maps/victron.yaml" --bus "$bus" --listen 127.0.0.1:0 \
  2> "$work/server.log" &
server=$!
for _ in $(seq 1 200); do grep -q 'listening on' "$work/server.log" && break; sleep 0.05; done
grep -q 'listening on' "$work/server.log" || { echo "the server did not start"; cat "$work/server.log"; exit 1; }
kill "$bus_pid"
rc=0
wait "$server" || rc=$?
[ "$rc" -eq 1 ] || { echo "expected exit status 1 after the bus went away, got $rc"; cat "$work/server.log"; exit 1; }
grep -q 'D-Bus failure' "$work/server.log" || { echo "no 'D-Bus failure' line"; cat "$work/server.log"; exit 1; }
echo "bus lost: exit 1 with the reason logged"
