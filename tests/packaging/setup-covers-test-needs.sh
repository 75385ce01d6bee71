#!/usr/bin/env bash
# scripts/setup installs everything the tests need: in a fresh Debian 12 root (minbase) with
# exactly the packages of `scripts/setup --print-packages` (installed as setup does, without
# Recommends), every Python import statement of the tests, examples and tools succeeds and every
# program they start is found. Both lists are derived from the sources by test-needs.py, so a new
# import or tool is checked without anyone remembering to. (The failure this catches: pymodbus
# imports serial_asyncio, a package it only Recommends.)
#   setup-covers-test-needs.sh SOURCE_DIR        (KEEP=1 keeps the root)
# Needs root, debootstrap and the Debian mirror; 2-5 minutes the first time (the minbase root and
# the downloaded packages are cached in /var/tmp, see debian-root.sh).
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
. "$(dirname "$0")/debian-root.sh"
src=$(cd "$1" && pwd)
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot)"
for tool in debootstrap flock python3; do
  command -v $tool > /dev/null || skip "$tool is missing"
done
fail() { echo "FAIL: $*" >&2; exit 1; }
start=$SECONDS

mapfile -t packages < <("$src/scripts/setup" --print-packages)
[ ${#packages[@]} -ge 10 ] || fail "scripts/setup --print-packages printed ${#packages[@]} packages: ${packages[*]}"
needs=$(python3 "$src/tests/packaging/test-needs.py" "$src")
grep -q '^import pymodbus\|^from pymodbus' <<< "$needs" || fail "test-needs.py found no pymodbus import: it reads nothing?"
grep -q '^program mbpoll$' <<< "$needs" || fail "test-needs.py found no mbpoll: it reads nothing?"

root=$(mktemp -d /var/tmp/vmd-setup-root.XXXXXX)
cleanup() {
  local rc=$?
  if root_unmount "$root"; then
    [ -n "${KEEP:-}" ] && echo "kept $root" >&2 || rm -rf --one-file-system "$root"
  else
    echo "setup-covers-test-needs.sh: $root still has mounts; left in place" >&2
  fi
  exit $rc
}
trap cleanup EXIT INT TERM
debian_root "$root"
root_apt_install "$root" "${packages[@]}"
echo "fresh root with scripts/setup's ${#packages[@]} packages: $((SECONDS - start)) s"

missing=()
while read -r kind rest; do
  case $kind in
    import|from)
      in_root "$root" python3 -c "$kind $rest" > /dev/null 2> "$root/tmp/import.err" ||
        missing+=("python '$kind $rest': $(tail -n 1 "$root/tmp/import.err")") ;;
    program)
      in_root "$root" sh -c 'command -v "$1"' sh "$rest" > /dev/null || {
        hint=$(dpkg -S "$(command -v "$rest" 2>/dev/null || echo "$rest")" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
        missing+=("program '$rest' (on this machine from package ${hint:-unknown})"); } ;;
  esac
done <<< "$needs"
checked=$(echo "$needs" | wc -l)
if [ ${#missing[@]} -gt 0 ]; then
  printf 'FAIL: missing in a fresh root with scripts/setup'"'"'s packages: %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "a fresh root with scripts/setup's packages has all $checked imports and programs the tests use ($((SECONDS - start)) s)"
