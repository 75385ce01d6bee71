#!/usr/bin/env bash
# The test site (with-site.sh) runs the daemon against the source tree's map and no config, even
# where the package is installed: in a private mount namespace, an "installed"
# /etc/venus-modbusd/venus-modbusd.yaml (read-only, a map that does not exist) and an "installed"
# default map that does not parse are laid over the real file system (overlayfs, nothing on the
# machine changes), and mbpoll-test.sh must still read and write through the site.
#   site-ignores-installed-config.sh SOURCE_DIR BUILD_DIR DEFAULT_MAP_PATH
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd) default_map=$3
[ "$(id -u)" -eq 0 ] || skip "needs root (a private mount namespace with overlayfs)"
command -v unshare > /dev/null || skip "unshare is missing (util-linux)"

if [ "${VMD_IN_NAMESPACE:-}" != 1 ]; then
  VMD_IN_NAMESPACE=1 exec unshare --mount --propagation private "$0" "$@"
fi

scratch=$(mktemp -d /tmp/vmd-installed.XXXXXX)
trap 'umount -R "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
mount -t tmpfs tmpfs "$scratch"   # overlayfs's upper layer may not live on another overlay
# DIR: lay a writable layer over DIR (its nearest existing ancestor) in this namespace only.
overlay() {
  local dir=$1
  while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
  local layer
  layer=$(mktemp -d "$scratch/layer.XXXXXX")
  mkdir "$layer/upper" "$layer/work"
  mount -t overlay overlay -o "lowerdir=$dir,upperdir=$layer/upper,workdir=$layer/work" "$dir"
}

overlay /etc
mkdir -p /etc/venus-modbusd
printf 'read-only: true\nmap: /nonexistent/victron.yaml\n' > /etc/venus-modbusd/venus-modbusd.yaml
overlay "$(dirname "$default_map")"
mkdir -p "$(dirname "$default_map")"
echo 'this is: [not a register map' > "$default_map"

# Both are really there for a daemon that is not told otherwise:
if "$build/venus-modbusd" --check > /dev/null 2>&1; then
  echo "FAIL: the planted config and map did not take effect (the test would prove nothing)" >&2; exit 1
fi
"$src/tests/integration/with-site.sh" "$build" -- "$src/tests/integration/mbpoll-test.sh"
echo "the test site ignored the installed config and map"
