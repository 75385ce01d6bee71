#!/usr/bin/env bash
# Generates the manual pages from the programs' --help output with help2man:
#   venus-modbusd.8  from venus-modbusd --help, plus venus-modbusd.h2m (exit status, files, ...)
#   venus-sim.1      from venus-sim --help, plus venus-sim.h2m
#   venus-regmap.1   from venus-regmap --help (every command's help), plus venus-regmap.h2m (examples)
#
#   docs/man/generate.sh BUILD_DIR [OUT_DIR]     (OUT_DIR defaults to docs/man)
#
# Run it after changing an option, and commit the pages; the test "packaging: the man pages
# match what the programs print for --help" fails while they differ.
# Paths that depend on where the tree was built are written as the installed ones, and the date
# is the one of the latest debian/changelog entry, so the output depends on the sources only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: generate.sh BUILD_DIR [OUT_DIR]}" && pwd)
out=${2:-$here}
command -v help2man > /dev/null || { echo "generate.sh: help2man is missing (apt-get install help2man)" >&2; exit 77; }

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  stamp=$(sed -n 's/^ -- .*>  \(.*\)$/\1/p' "$src/debian/changelog" | head -n 1)
  SOURCE_DATE_EPOCH=$(date -u -d "$stamp" +%s)
fi
export SOURCE_DATE_EPOCH LC_ALL=C.UTF-8 TZ=UTC

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# help2man runs the program by the name it is given: a wrapper of that name runs the real one and
# rewrites the build-dependent defaults in what it prints (and the usage line as help2man expects it: "Usage:", on one line).
wrap() {
  local name=$1 real=$2
  cat > "$work/$name" <<WRAPPER
#!/bin/sh
"$real" "\$@" | sed -e 's#[^ ()]*/share/venus-modbusd/victron\.yaml#/usr/share/venus-modbusd/victron.yaml#g' \\
                   -e 's#[^ ()]*/register-maps/victron\.yaml#/usr/share/venus-modbusd/victron.yaml#g' \\
                   -e 's#[^ ()]*/tools/venus-sim/scenarios/\([^ ()]*\)#tools/venus-sim/scenarios/\1 of the source tree#g' \\
                   -e 's#^usage: #Usage: #' -e '/^Usage:/{N;s#\n *\[# [#;}'
WRAPPER
  chmod +x "$work/$name"
}
wrap venus-modbusd "$build/venus-modbusd"
wrap venus-sim "$build/venus-sim"
wrap venus-regmap "$build/venus-regmap"
wrap venus-bench "$build/venus-bench"
version=$("$build/venus-modbusd" --version | awk '{print $NF}')

help2man --no-info --section=8 --source="venus-modbusd $version" --manual="System Administration" \
  --name="Modbus-TCP server for Victron Venus OS D-Bus data" \
  --include="$here/venus-modbusd.h2m" --output="$out/venus-modbusd.8" "$work/venus-modbusd"

# venus-sim has no --version: it is released with the daemon.
help2man --no-info --section=1 --source="venus-modbusd $version" --manual="User Commands" \
  --name="simulated Victron Venus OS D-Bus services" --version-string="venus-sim $version" \
  --include="$here/venus-sim.h2m" --output="$out/venus-sim.1" "$work/venus-sim"

# The tools have no --version either: they are released with the daemon.
help2man --no-info --section=1 --source="venus-modbusd $version" --manual="User Commands" \
  --name="generate, validate and document the venus-modbusd register map; read and write it by D-Bus path" \
  --include="$here/venus-regmap.h2m" \
  --version-string="venus-regmap $version" --output="$out/venus-regmap.1" "$work/venus-regmap"
help2man --no-info --section=1 --source="venus-modbusd $version" --manual="User Commands" \
  --name="Modbus-TCP load generator for venus-modbusd" \
  --version-string="venus-bench $version" --output="$out/venus-bench.1" "$work/venus-bench"
