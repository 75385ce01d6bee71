#!/usr/bin/env bash
# The D-Bus policy grants the daemon all it needs, and no more, on a bus that denies method calls
# by default as the system bus does. A private dbus-daemon with the system bus's default policy and
# venus-modbusd's policy; venus-sim publishes the ESS site as root; the daemon runs as the
# unprivileged user 'nobody', put in the policy in place of venus-modbusd. Then mbpoll reads and
# writes through the daemon, dbus-send as 'nobody' finds a call outside the policy refused, and the
# daemon's diagnostics service (com.victronenergy.modbustcp) can be read but not written by others.
#   dbus-policy-admits-daemon.sh SOURCE_DIR BUILD_DIR      (KEEP=1 keeps the scratch directory)
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
src=$1 build=$2
[ "$(id -u)" -eq 0 ] || skip "needs root, to run the daemon as another user"
for tool in dbus-daemon dbus-send mbpoll setpriv; do
  command -v $tool > /dev/null || skip "$tool is missing"
done
fail() { echo "FAIL: $*" >&2; exit 1; }
user=nobody group=$(id -gn nobody)

work=$(mktemp -d /tmp/vmd-policy.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for log in bus sim server; do echo "--- $log log (last 30 lines)" >&2; tail -n 30 "$work/$log.log" >&2 || true; done
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM
wait_for_line() {
  local file=$1 pattern=$2 pid=$3
  for _ in $(seq 1 400); do
    grep -qE "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || fail "process $pid exited while waiting for '$pattern' in $file"
    sleep 0.05
  done
  fail "timed out waiting for '$pattern' in $file"
}

# The daemon and its map where 'nobody' can read them, whatever the build directory's permissions.
install -m 755 "$build/venus-modbusd" "$work/venus-modbusd"
install -m 644 "$src/register-maps/victron.yaml" "$work/victron.yaml"
sed "s/user=\"venus-modbusd\"/user=\"$user\"/" "$src/packaging/venus-modbusd-dbus.conf" > "$work/policy.conf"
grep -q "user=\"$user\"" "$work/policy.conf" || fail "no <policy user=\"venus-modbusd\"> in the policy"
# The system bus's default policy (dbus system.conf): any user connects, signals and replies
# pass, method calls and names only where a policy file allows them; root may own the
# simulator's names.
cat > "$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$work/bus.socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow own_prefix="com.victronenergy"/>
  </policy>
  <include>$work/policy.conf</include>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --print-address=1 > "$work/bus.address" 2> "$work/bus.log" &
pids+=($!)
wait_for_line "$work/bus.address" '^unix:' "${pids[-1]}"
bus=$(head -n 1 "$work/bus.address")
chmod 666 "$work/bus.socket"

"$build/venus-sim" --bus "$bus" --scenario "$src/tools/venus-sim/scenarios/ess-site.yaml" > "$work/sim.log" 2>&1 &
pids+=($!)
wait_for_line "$work/sim.log" 'services ready' "${pids[-1]}"

as_user() { setpriv --reuid="$user" --regid="$group" --clear-groups "$@"; }
as_user "$work/venus-modbusd" --config /dev/null --bus "$bus" --listen 127.0.0.1:0 --map "$work/victron.yaml" \
  --log-level debug 2> "$work/server.log" &
pids+=($!)
wait_for_line "$work/server.log" 'listening on 127\.0\.0\.1:[0-9]+' "${pids[-1]}"
port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/server.log" | head -n 1 | sed 's/.*://')

# mbpoll leaves without flushing a redirected stdout in its one-shot mode (-1): unbuffer it.
poll() { stdbuf -o0 mbpoll -m tcp -p "$port" -0 -1 -o 3 "$@"; }
# Loaded through GetItems/GetValue: /Mode of the Multi at unit 246 (register 33) is 3 (On).
out=$(poll -a 246 -r 33 -c 1 127.0.0.1) || fail "read unit 246 register 33: $out"
echo "$out" | grep -qE '^\[33\]:[[:space:]]+3$' || fail "unit 246 register 33: $out"
# Written through SetValue: the ESS set point (2700) reads back.
poll -a 100 -r 2700 127.0.0.1 300 > /dev/null || fail "write register 2700"
for _ in $(seq 1 50); do
  out=$(poll -a 100 -r 2700 -c 1 127.0.0.1) || true
  echo "$out" | grep -qE '^\[2700\]:[[:space:]]+300$' && break
  sleep 0.1
done
echo "$out" | grep -qE '^\[2700\]:[[:space:]]+300$' || fail "register 2700 after writing 300: $out"
# What dbus-daemon says when a policy refuses a call or a name ("... is not allowed to own the
# service ...", "Rejected send message ...", org.freedesktop.DBus.Error.AccessDenied), and the
# daemon's own line when it cannot own its diagnostics name.
refusal='AccessDenied|not allowed to own|Rejected send message|Rejected receive message|no diagnostics service'
if grep -qE "$refusal" "$work/server.log"; then fail "the daemon was refused by the bus:
$(grep -E "$refusal" "$work/server.log" | head -n 5)"; fi

# The bus enforces the policy: as the daemon's user a BusItem call passes, another interface does not.
as_user dbus-send --bus="$bus" --print-reply --dest=com.victronenergy.vebus.ttyO1 /Mode \
  com.victronenergy.BusItem.GetValue > /dev/null || fail "GetValue as $user was refused"
if out=$(as_user dbus-send --bus="$bus" --print-reply --dest=com.victronenergy.vebus.ttyO1 /Mode \
           org.freedesktop.DBus.Peer.Ping 2>&1); then
  fail "a call outside the policy (org.freedesktop.DBus.Peer.Ping) was allowed"
fi
echo "$out" | grep -q 'AccessDenied' || fail "Peer.Ping as $user: expected AccessDenied, got: $out"
# The diagnostics service: the policy must let the daemon own com.victronenergy.modbustcp (it asks
# for it before it listens), anyone may read it, no one else may write it.
owner=$(dbus-send --bus="$bus" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner \
          string:com.victronenergy.modbustcp | sed -n 's/.*boolean //p')
[ "$owner" = true ] || fail "the daemon does not own com.victronenergy.modbustcp: the policy refused it?
$(grep -iE 'diagnostics|own' "$work/server.log" | head -n 5)"
dbus-send --bus="$bus" --print-reply --dest=com.victronenergy.modbustcp / com.victronenergy.BusItem.GetItems \
  > /dev/null || fail "reading the diagnostics (GetItems on com.victronenergy.modbustcp) was refused"
if out=$(dbus-send --bus="$bus" --print-reply --dest=com.victronenergy.modbustcp /Services/Count \
           com.victronenergy.BusItem.SetValue variant:int32:5 2>&1); then
  fail "a SetValue on com.victronenergy.modbustcp by another user was allowed"
fi
echo "$out" | grep -q 'AccessDenied' || fail "SetValue on the diagnostics: expected AccessDenied, got: $out"
echo "the daemon owns com.victronenergy.modbustcp; others may read it and not write it"
echo "the D-Bus policy admits the daemon's reads and writes and refuses other calls"
