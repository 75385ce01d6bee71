#!/usr/bin/env bash
# The package installs into a fresh Debian 12 root (debootstrap, minbase) with apt, which brings
# its dependencies: the system user exists, the unit is installed but not enabled, and
# `venus-modbusd --check` passes there with the installed config and map, also as that user. A
# changed config survives reinstalling the package (a conffile); purge removes it.
#   debootstrap-install.sh DEB_DIR        (DEB_DIR holds venus-modbusd_*.deb)
# Needs root and the Debian mirror; the root is a copy of the cached debootstrap minbase root
# (debian-root.sh: made once, a few minutes; then under a minute).
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
. "$(dirname "$0")/debian-root.sh"
debdir=$(cd "$1" && pwd)
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot)"
command -v debootstrap > /dev/null || skip "debootstrap is missing (apt-get install debootstrap)"
deb=$(ls "$debdir"/venus-modbusd_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "FAIL: no venus-modbusd_*.deb in $debdir (the package test makes it: ctest -L slow runs it first)" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }

root=$(mktemp -d /var/tmp/vmd-root.XXXXXX)
cleanup() {
  local rc=$?
  if root_unmount "$root"; then rm -rf --one-file-system "$root"; else echo "debootstrap-install.sh: $root still has mounts; left in place" >&2; fi
  exit $rc
}
trap cleanup EXIT INT TERM

start=$SECONDS
debian_root "$root"
cp "$deb" "$root/tmp/"
root_apt_install "$root" "/tmp/$(basename "$deb")"
echo "installed: $((SECONDS - start)) s"

in_root "$root" getent passwd venus-modbusd > /dev/null || fail "no user venus-modbusd"
in_root "$root" getent group venus-modbusd > /dev/null || fail "no group venus-modbusd"
state=$(in_root "$root" systemctl is-enabled venus-modbusd.service 2>&1 || true)
[ "$state" = disabled ] || fail "systemctl is-enabled venus-modbusd: '$state' (expected disabled)"

config=/etc/venus-modbusd/venus-modbusd.yaml
args=(--config "$config" --check)
in_root "$root" /usr/sbin/venus-modbusd "${args[@]}" || fail "venus-modbusd ${args[*]} (as root)"
chroot --userspec=venus-modbusd:venus-modbusd "$root" /usr/sbin/venus-modbusd "${args[@]}" > /dev/null ||
  fail "venus-modbusd ${args[*]} as user venus-modbusd"

# A changed config survives reinstalling; purge removes it.
echo "# changed by the test" >> "$root$config"
in_root "$root" dpkg -i "/tmp/$(basename "$deb")" > /dev/null || fail "reinstall"
grep -q 'changed by the test' "$root$config" || fail "reinstalling replaced the changed $config"
in_root "$root" dpkg --purge venus-modbusd > /dev/null || fail "purge"
[ ! -e "$root$config" ] || fail "purge left $config"
echo "the package installs into a fresh Debian 12 root and venus-modbusd ${args[*]} passes ($((SECONDS - start)) s)"
