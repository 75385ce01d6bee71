#!/usr/bin/env bash
# The example config (packaging/venus-modbusd.yaml) documents every option that --help lists as a
# key (set or commented out), and passes `--config FILE --check`, as it is and with every
# commented-out example set. If --help's wording changes so that its options cannot be read, the
# test fails (it must never check nothing).
#   example-config-covers-options.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
config=$src/packaging/venus-modbusd.yaml
help=$("$build/venus-modbusd" --help)
options=$(echo "$help" | grep -oE '^ +--[a-z-]+' | sed 's/^ *--//' | sort -u || true)
for expected in config listen map bus read-only; do
  grep -qx -- "$expected" <<< "$options" ||
    { echo "FAIL: --$expected is not among the options read from --help (its wording changed?): $(echo $options)" >&2; exit 1; }
done
status=0
for option in $options; do
  case $option in
    check|version|help|config) continue ;;  # actions, and the file itself
    overlay) key=overlays ;;                 # repeatable options are lists with a plural key
    tls-role) key="  roles" ;;               # --tls-KEY: the key KEY of the tls: map
    tls-*) key="  ${option#tls-}" ;;
    *) key=$option ;;
  esac
  grep -qE "^#? ?$key:" "$config" || { echo "FAIL: option --$option has no key '${key# }:' in $config" >&2; status=1; }
done
"$build/venus-modbusd" --config "$config" --check || { echo "FAIL: --config $config --check" >&2; status=1; }
# The same file with every commented-out example set (but map and overlays, files that exist
# only where installed):
# the documented key names and example values are ones the daemon accepts.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$config" > "$work/all-keys.yaml" <<'PY'
import re, sys
key = None
for line in open(sys.argv[1]):
    m = re.match(r"#([a-z-]+):", line)
    if m:
        key = m.group(1)
        print(line[1:] if key not in ("overlays", "map") else line, end="")
    elif line.startswith("#  - ") and key:
        print(line[1:] if key not in ("overlays", "map") else line, end="")
    else:
        if not line.startswith("#"):
            key = None
        print(line, end="")
PY
"$build/venus-modbusd" --config "$work/all-keys.yaml" --check > /dev/null ||
  { echo "FAIL: the example config with every example set does not pass --check:" >&2; grep -v '^#' "$work/all-keys.yaml" | grep . >&2; status=1; }
[ $status -eq 0 ] && echo "the example config covers every option"
exit $status
