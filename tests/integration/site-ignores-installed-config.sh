#!/usr/bin/env bash
# The test site (with-site.sh) runs the daemon against the source tree's map and no config file,
# even where the package is installed: traced with strace, no process of the site so much as
# looks at the installed config (/etc/venus-modbusd/venus-modbusd.yaml) or the installed default
# map (DEFAULT_MAP_PATH), while the daemon does open the map of the source tree (so the trace saw
# it). Without an explicit --config and --map the daemon checks whether both exist, and uses them
# if they do.
#   site-ignores-installed-config.sh SOURCE_DIR BUILD_DIR DEFAULT_MAP_PATH
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd) default_map=$3
command -v strace > /dev/null || skip "strace is missing (apt-get install strace)"
fail() { echo "FAIL: $*" >&2; exit 1; }
trace=$(mktemp /tmp/vmd-site-trace.XXXXXX)
trap 'rm -f "$trace"' EXIT

# LeakSanitizer cannot run under ptrace: in a sanitizer build the leak check is left to the other
# tests of the site (this one is about file access).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
strace -f -qq -e trace=%file -o "$trace" "$src/tests/integration/with-site.sh" "$build" -- true ||
  fail "with-site.sh under strace"
grep -q "register-maps/victron.yaml" "$trace" || fail "the trace does not show the daemon reading the source map"
installed_config=/etc/venus-modbusd/venus-modbusd.yaml
if grep -F -e "$installed_config" -e "$default_map" "$trace"; then
  fail "the test site looked at the installed config or map (above)"
fi
echo "the test site never looked at $installed_config or $default_map"
