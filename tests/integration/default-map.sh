#!/usr/bin/env bash
# README "Running it": --map defaults to the installed victron.yaml if it exists, else the source tree's
# register-maps/victron.yaml. Both cases on the real binary, in a private mount namespace (nothing is
# installed on the machine, nothing outside the namespace changes): an empty tmpfs over the installed
# map's directory (absent: --check names the source map), then a valid map of our own there (present:
# --check names and counts that one).
#   default-map.sh VENUS_MODBUSD SOURCE_DIR DEFAULT_MAP_PATH
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
bin=$1 src=$(cd "$2" && pwd) default_map=$3
[ "$(id -u)" -eq 0 ] || skip "needs root for a private mount namespace"
command -v unshare > /dev/null || skip "unshare is missing (util-linux)"
dir=$(dirname "$default_map")
parent=$(dirname "$dir")
[ -d "$parent" ] || skip "$parent does not exist to mount over"
out=$(unshare -m --propagation private /bin/bash -euc '
  bin=$1 src=$2 dir=$3 parent=$4 default_map=$5
  mount -t tmpfs vmd-default-map "$parent"
  echo "--- absent"
  "$bin" --config /dev/null --check 2>&1 || echo "exit $?"
  mkdir -p "$dir"
  printf "registers:\n  - {address: 800, service: system, path: /Serial, type: \"string[6]\", access: R}\n" > "$default_map"
  echo "--- present"
  "$bin" --config /dev/null --check 2>&1 || echo "exit $?"
' - "$bin" "$src" "$dir" "$parent" "$default_map" 2>&1) || { echo "FAIL: the namespace run failed: $out" >&2; exit 1; }
absent=$(sed -n '/^--- absent$/,/^--- present$/p' <<<"$out")
present=$(sed -n '/^--- present$/,$p' <<<"$out")
fail() { echo "FAIL: $*" >&2; echo "$out" >&2; exit 1; }
grep -qxF "$src/register-maps/victron.yaml: OK" <<<"$absent" || fail "without an installed map, --check did not use the source tree's"
grep -qE '^[0-9]{4} registers ' <<<"$absent" || fail "without an installed map, --check did not count the shipped map"
grep -qxF "$default_map: OK" <<<"$present" || fail "with an installed map, --check did not use it"
grep -qE '^1 registers ' <<<"$present" || fail "with an installed map, --check did not count its one register"
[ -e "$default_map" ] && fail "the installed map leaked out of the namespace"
echo "default map: the installed one when it exists, else the source tree's"
