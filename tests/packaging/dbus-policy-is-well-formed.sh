#!/usr/bin/env bash
# The D-Bus policy is well-formed XML, and dbus-daemon accepts it as part of a bus configuration
# (it refuses unknown elements and attributes, such as a misspelt send_destination_prefix).
#   dbus-policy-is-well-formed.sh SOURCE_DIR
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
policy=$1/packaging/venus-modbusd-dbus.conf
command -v xmllint > /dev/null || skip "xmllint is missing (apt-get install libxml2-utils)"
command -v dbus-daemon > /dev/null || skip "dbus-daemon is missing (apt-get install dbus-daemon)"
xmllint --noout "$policy"

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cat > "$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$work</listen>
  <include>$policy</include>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --print-address=1 > "$work/address" 2> "$work/log" &
pid=$!
for _ in $(seq 1 100); do
  grep -q '^unix:' "$work/address" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if ! grep -q '^unix:' "$work/address"; then
  echo "FAIL: dbus-daemon refused the policy:" >&2; cat "$work/log" >&2; exit 1
fi
echo "the D-Bus policy is well-formed and dbus-daemon accepts it"
