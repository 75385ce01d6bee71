#!/usr/bin/env bash
# The committed man pages are what docs/man/generate.sh makes from the programs' --help now.
#   man-pages-match-help.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
src=$1 build=$2
command -v help2man > /dev/null || skip "help2man is missing (apt-get install help2man)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$src/docs/man/generate.sh" "$build" "$work"
status=0
for page in venus-modbusd.8 venus-sim.1 venus-regmap.1 venus-bench.1; do
  if ! diff -u "$src/docs/man/$page" "$work/$page"; then
    echo "FAIL: docs/man/$page differs from what --help gives now (diff above);" \
         "run docs/man/generate.sh $build and commit the result" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "man pages match --help"
exit $status
