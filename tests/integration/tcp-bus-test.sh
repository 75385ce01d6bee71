#!/usr/bin/env bash
# Mirroring a bus reached over TCP with ANONYMOUS authentication, as Venus OS exposes its system
# bus on port 78 (/Settings/Services/InsecureDbusOverTcp): a dbus-daemon listens on a Unix socket
# (for the simulated site, as the GX's own services) and on a free TCP port of 127.0.0.1 with
# ANONYMOUS allowed; venus-modbusd mirrors it with --bus tcp:host=127.0.0.1,port=P only. mbpoll
# reads live values through it and a write arrives at the simulated service (checked on D-Bus
# with dbus-send over the Unix socket). The daemon logs that no identity is checked.
#   tcp-bus-test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
for tool in dbus-daemon dbus-send mbpoll; do
  command -v $tool > /dev/null || skip "$tool is missing"
done
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/vmd-tcpbus.XXXXXX)
pids=()
server_pid=""
cleanup() {
  local rc=$? pid status=0
  # The daemon first: it must end with status 0 on SIGTERM (under the sanitizers, no leak or error).
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || status=$?
    if [ $status -ne 0 ] && [ $rc -eq 0 ]; then echo "FAIL: the daemon exited with status $status on SIGTERM" >&2; rc=1; fi
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    echo "--- bus log" >&2; cat "$work/bus.log" >&2 || true
    echo "--- server log (last 30 lines)" >&2; tail -n 30 "$work/server.log" >&2 || true
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM
wait_for_line() { # FILE PATTERN PID: a probe, not a fixed sleep; fails after 30 s
  for _ in $(seq 1 600); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || fail "process $3 exited while waiting for '$2' in $1"
    sleep 0.05
  done
  fail "timed out waiting for '$2' in $1"
}

# As Venus OS's bus: EXTERNAL on the Unix socket, ANONYMOUS (no identity at all) on TCP.
cat > "$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$work</listen>
  <listen>tcp:host=127.0.0.1,port=0</listen>
  <auth>EXTERNAL</auth>
  <auth>ANONYMOUS</auth>
  <allow_anonymous/>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --print-address=1 > "$work/bus.address" 2> "$work/bus.log" &
pids+=($!)
wait_for_line "$work/bus.address" 'unix:' "${pids[-1]}"
# One line, ';'-separated: the TCP address (port read back) and the Unix one.
tcp=$(tr ';' '\n' < "$work/bus.address" | grep '^tcp:' | sed -E 's/^(tcp:host=[^,]+,port=[0-9]+).*/\1/')
unix=$(tr ';' '\n' < "$work/bus.address" | grep '^unix:')
[ -n "$tcp" ] && [ -n "$unix" ] || fail "no TCP and Unix address in: $(cat "$work/bus.address")"
echo "bus: $tcp and $unix"

"$build/venus-sim" --bus "$unix" > "$work/sim.log" 2>&1 &
pids+=($!)
wait_for_line "$work/sim.log" 'services ready' "${pids[-1]}"

: > "$work/empty-config.yaml"
"$build/venus-modbusd" --config "$work/empty-config.yaml" --map "$src/register-maps/victron.yaml" \
  --bus "$tcp" --listen 127.0.0.1:0 2> "$work/server.log" &
server_pid=$!
wait_for_line "$work/server.log" 'listening on 127\.0\.0\.1:[0-9]+' "$server_pid"
port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/server.log" | head -n 1 | sed 's/.*://')
grep -q "ANONYMOUS authentication" "$work/server.log" || fail "the daemon did not log that the TCP bus is unauthenticated"
poll() { stdbuf -o0 mbpoll -m tcp -p "$port" -0 -1 -o 3 "$@"; }

# Reads: the Multi's /Mode at unit 246 (the simulator publishes 3) and the battery at unit 100.
out=$(poll -a 246 -r 33 -c 1 127.0.0.1)
echo "$out" | grep -qE '^\[33\]:[[:space:]]+3$' || fail "unit 246 register 33 over the TCP bus: $out"
out=$(poll -a 100 -r 843 -c 1 127.0.0.1)
echo "$out" | grep -qE '^\[843\]:[[:space:]]+[0-9]+$' || fail "unit 100 register 843 (battery SoC): $out"

# A write: the ESS grid set point (2700) to 1234 W goes over TCP to the simulated settings service.
poll -a 100 -r 2700 127.0.0.1 1234 > /dev/null || fail "write 2700 over the TCP bus"
value=$(dbus-send --bus="$unix" --print-reply=literal --dest=com.victronenergy.settings \
        /Settings/CGwacs/AcPowerSetPoint com.victronenergy.BusItem.GetValue)
echo "$value" | grep -qE '(^|[^0-9])1234([^0-9]|$)' || fail "the set point on D-Bus is '$value', not 1234"
echo "venus-modbusd mirrored a bus over TCP with ANONYMOUS authentication: read and wrote through it"
