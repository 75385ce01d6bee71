# Sourced by the packaging and field tests: fresh minimal Debian 12 (bookworm) roots.
#   debian_root DIR        makes DIR a pristine minbase root (a copy of a cached debootstrap)
#   in_root DIR CMD...     runs CMD in DIR (chroot, clean environment)
#   root_apt_install DIR PKG...  apt-get install --no-install-recommends in DIR, sharing a .deb cache
#   root_unmount DIR       unmounts whatever is mounted below DIR (deepest first)
# The debootstrap minbase root is made once (a few minutes, needs the Debian mirror) and cached in
# $VMD_ROOT_CACHE (default /var/tmp/vmd-bookworm-minbase), downloaded packages in
# $VMD_ROOT_CACHE-archives; each test gets its own copy, so no test sees another's packages.
# Delete the cache to start from scratch; a half-made one (no .complete) is made again.
vmd_root_cache=${VMD_ROOT_CACHE:-/var/tmp/vmd-bookworm-minbase}

debian_mirror() { # the mirror: VMD_DEBIAN_MIRROR, else this machine's, else deb.debian.org
  local m=${VMD_DEBIAN_MIRROR:-}
  [ -n "$m" ] || m=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  echo "${m:-http://deb.debian.org/debian}"
}

debian_root() {
  local dest=$1 lock mirror
  exec {lock}> "$vmd_root_cache.lock"
  flock "$lock"   # one test makes the cache; the others wait for it
  if [ ! -e "$vmd_root_cache/.complete" ]; then
    mirror=$(debian_mirror)
    echo "debian-root: making the cached minimal Debian 12 root $vmd_root_cache (once, a few minutes)"
    rm -rf --one-file-system "$vmd_root_cache.tmp" "$vmd_root_cache"
    if ! debootstrap --variant=minbase bookworm "$vmd_root_cache.tmp" "$mirror" > "$vmd_root_cache.log" 2>&1; then
      tail -n 20 "$vmd_root_cache.log" >&2
      exec {lock}>&-
      echo "FAIL: debootstrap of $vmd_root_cache failed (last lines above)" >&2
      return 1
    fi
    if [ -f /etc/apt/sources.list.d/debian.sources ] && [ -z "${VMD_DEBIAN_MIRROR:-}" ]; then
      cp /etc/apt/sources.list.d/debian.sources "$vmd_root_cache.tmp/etc/apt/sources.list.d/"
      rm -f "$vmd_root_cache.tmp/etc/apt/sources.list"
    else
      printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" \
        > "$vmd_root_cache.tmp/etc/apt/sources.list"
    fi
    touch "$vmd_root_cache.tmp/.complete"
    mv "$vmd_root_cache.tmp" "$vmd_root_cache"
  fi
  exec {lock}>&-
  mkdir -p "$dest"
  chmod 755 "$dest"
  cp -a "$vmd_root_cache/." "$dest/"
  rm -f "$dest/.complete"
  cp /etc/resolv.conf "$dest/etc/resolv.conf"
}

in_root() {
  local dir=$1; shift
  chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"
}

root_apt_install() {
  local dir=$1; shift
  local archives=$vmd_root_cache-archives status=0
  mkdir -p "$archives/partial"
  mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
  mount --bind "$archives" "$dir/var/cache/apt/archives"
  [ -e "$dir/var/lib/apt/lists/.updated" ] || { in_root "$dir" apt-get update -qq && touch "$dir/var/lib/apt/lists/.updated"; } || status=1
  [ $status -ne 0 ] || in_root "$dir" apt-get install -y -qq --no-install-recommends "$@" > "$dir/tmp/install.log" 2>&1 || {
    tail -n 30 "$dir/tmp/install.log" >&2; echo "FAIL: apt-get install in $dir (last lines above)" >&2; status=1; }
  umount "$dir/var/cache/apt/archives"
  return $status
}

root_unmount() {
  local dir=$1 mnt
  for mnt in $(awk -v r="$dir/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" || true
  done
  ! awk -v r="$dir/" 'index($2, r) == 1 {found = 1} END {exit !found}' /proc/mounts
}
