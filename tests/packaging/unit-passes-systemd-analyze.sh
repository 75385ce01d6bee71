#!/usr/bin/env bash
# The systemd unit passes `systemd-analyze verify`, and `systemd-analyze security` rates its
# sandbox at 2.5 or better (0 = fully confined, 10 = unconfined). systemd need not be running.
# verify checks that ExecStart names an executable and Documentation= a man page, so it is run on
# a copy whose only change is the daemon's path (/usr/sbin -> the build), with MANPATH on docs/man.
#   unit-passes-systemd-analyze.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
src=$1 build=$2
command -v systemd-analyze > /dev/null || skip "systemd-analyze is missing (apt-get install systemd)"
unit=$src/packaging/venus-modbusd.service
grep -q '^ExecStart=/usr/sbin/venus-modbusd ' "$unit" || { echo "FAIL: ExecStart is not /usr/sbin/venus-modbusd" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s#/usr/sbin/venus-modbusd#$build/venus-modbusd#" "$unit" > "$work/venus-modbusd.service"
mkdir -p "$work/man/man8" "$work/man/man1"
cp "$src/docs/man/venus-modbusd.8" "$work/man/man8/"
cp "$src/docs/man/venus-sim.1" "$work/man/man1/"

status=0
if ! out=$(MANPATH=$work/man systemd-analyze verify "$work/venus-modbusd.service" 2>&1) || [ -n "$out" ]; then
  echo "FAIL: systemd-analyze verify:" >&2; echo "$out" >&2; status=1
fi
if ! out=$(systemd-analyze security --offline=yes --threshold=25 --no-pager "$work/venus-modbusd.service" 2>&1); then
  echo "FAIL: systemd-analyze security rates the unit above 2.5:" >&2; echo "$out" >&2; status=1
fi
echo "$out" | grep 'Overall exposure level' || true
[ $status -eq 0 ] && echo "the unit passes systemd-analyze verify and security"
exit $status
