#!/usr/bin/env bash
# README "Running it": without --map the daemon reads the map of its data directory (src/core/DataDir.h):
# the source tree's register-maps/victron.yaml when it runs from the build tree (even where the
# package is installed), else <prefix>/share/venus-modbusd/victron.yaml beside its own <prefix>/sbin,
# else the configured installed one (DEFAULT_MAP_PATH). The real binary, and copies of it placed as
# an installed one would be (nothing is installed on the machine).
#   default-map.sh VENUS_MODBUSD SOURCE_DIR DEFAULT_MAP_PATH
set -euo pipefail
bin=$1 src=$(cd "$2" && pwd) default_map=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/vmd-default-map.XXXXXX)
trap 'rm -rf "$work"' EXIT

# From the build tree: the source tree's map, whatever is installed.
out=$(cd / && "$bin" --config /dev/null --check 2>&1) || fail "--check from the build tree: $out"
grep -qxF "$src/register-maps/victron.yaml: OK" <<<"$out" || fail "run from the build tree, --check did not use the source tree's map: $out"
grep -qE '^[0-9]{4} registers ' <<<"$out" || fail "run from the build tree, --check did not count the shipped map: $out"

# Installed under a prefix with its data beside it: that map, from any directory.
mkdir -p "$work/prefix/sbin" "$work/prefix/share/venus-modbusd"
cp "$bin" "$work/prefix/sbin/venus-modbusd"
printf 'registers:\n  - {address: 800, service: system, path: /Serial, type: "string[6]", access: R}\n' \
  > "$work/prefix/share/venus-modbusd/victron.yaml"
out=$(cd / && "$work/prefix/sbin/venus-modbusd" --config /dev/null --check 2>&1) || fail "--check installed: $out"
grep -qxF "$work/prefix/share/venus-modbusd/victron.yaml: OK" <<<"$out" || fail "installed, --check did not use the map of its prefix: $out"
grep -qE '^1 registers? ' <<<"$out" || fail "installed, --check did not count that map's one register: $out"
grep -qF "$src/" <<<"$out" && fail "installed, --check named the build machine's source tree: $out"
out=$(cd / && "$work/prefix/sbin/venus-modbusd" --help 2>&1) || true
grep -qF "$work/prefix/share/venus-modbusd/victron.yaml" <<<"$out" || fail "installed, --help does not name the map it uses: $out"

# Installed with no data beside it: the configured installed map (a clear error when it is absent).
mkdir -p "$work/bare/sbin"
cp "$bin" "$work/bare/sbin/venus-modbusd"
out=$(cd / && "$work/bare/sbin/venus-modbusd" --config /dev/null --check 2>&1) || true
grep -qF "$default_map" <<<"$out" || fail "with no data beside it, --check did not name $default_map: $out"
grep -qF "$src/" <<<"$out" && fail "with no data beside it, --check named the build machine's source tree: $out"
echo "default map: the source tree's from the build tree, else the install prefix's"
