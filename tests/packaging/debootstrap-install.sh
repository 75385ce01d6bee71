#!/usr/bin/env bash
# The package installs into a fresh Debian 12 root (debootstrap, minbase) with apt, which brings
# its dependencies: the system user exists, the unit is installed but not enabled, and
# `venus-modbusd --check` passes there with the installed config and map, also as that user. A
# changed config survives reinstalling the package (a conffile); purge removes it.
#   debootstrap-install.sh DEB_DIR        (DEB_DIR holds venus-modbusd_*.deb)
# Needs root and the Debian mirror (VMD_DEBIAN_MIRROR, default http://deb.debian.org/debian).
# Takes 2-3 minutes, most of it debootstrap.
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
debdir=$(cd "$1" && pwd)
mirror=${VMD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot)"
command -v debootstrap > /dev/null || skip "debootstrap is missing (apt-get install debootstrap)"
deb=$(ls "$debdir"/venus-modbusd_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "FAIL: no venus-modbusd_*.deb in $debdir (the package test makes it: ctest -L slow runs it first)" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }

root=$(mktemp -d /tmp/vmd-root.XXXXXX)
chmod 755 "$root"   # the root of the new system: mktemp makes it 0700
cleanup() {
  local rc=$? mnt
  # Unmount whatever is mounted inside the root (deepest first) before removing it.
  for mnt in $(awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" || true
  done
  if awk -v r="$root/" 'index($2, r) == 1 {found = 1} END {exit !found}' /proc/mounts; then
    echo "debootstrap-install.sh: $root still has mounts; left in place" >&2
  else
    rm -rf --one-file-system "$root"
  fi
  exit $rc
}
trap cleanup EXIT INT TERM
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

start=$SECONDS
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.log" 2>&1 ||
  { tail -n 20 "$root.log" >&2; rm -f "$root.log"; fail "debootstrap failed (last lines above)"; }
rm -f "$root.log"
echo "debootstrap: $((SECONDS - start)) s"

printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" > "$root/etc/apt/sources.list"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" > "$root/tmp/install.log" 2>&1 ||
  { tail -n 30 "$root/tmp/install.log" >&2; fail "apt-get install failed (last lines above)"; }
echo "installed: $((SECONDS - start)) s"

in_root getent passwd venus-modbusd > /dev/null || fail "no user venus-modbusd"
in_root getent group venus-modbusd > /dev/null || fail "no group venus-modbusd"
state=$(in_root systemctl is-enabled venus-modbusd.service 2>&1 || true)
[ "$state" = disabled ] || fail "systemctl is-enabled venus-modbusd: '$state' (expected disabled)"

config=/etc/venus-modbusd/venus-modbusd.yaml
args=(--config "$config" --check)
in_root /usr/sbin/venus-modbusd "${args[@]}" || fail "venus-modbusd ${args[*]} (as root)"
chroot --userspec=venus-modbusd:venus-modbusd "$root" /usr/sbin/venus-modbusd "${args[@]}" > /dev/null ||
  fail "venus-modbusd ${args[*]} as user venus-modbusd"

# A changed config survives reinstalling; purge removes it.
echo "# changed by the test" >> "$root$config"
in_root dpkg -i "/tmp/$(basename "$deb")" > /dev/null || fail "reinstall"
grep -q 'changed by the test' "$root$config" || fail "reinstalling replaced the changed $config"
in_root dpkg --purge venus-modbusd > /dev/null || fail "purge"
[ ! -e "$root$config" ] || fail "purge left $config"
echo "the package installs into a fresh Debian 12 root and venus-modbusd ${args[*]} passes ($((SECONDS - start)) s)"
