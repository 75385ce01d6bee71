#!/usr/bin/env bash
# The installed product is the product: in a fresh Debian 12 root (minbase) with only the .deb (and
# dbus-daemon, which the package suggests, for the simulator's private bus) installed, from a
# directory that is not the source tree:
#   - `venus-sim --private --scenario ess-site.yaml` (a scenario by name, as README and man page say)
#     publishes the installed simulated site;
#   - venus-modbusd without --map serves it with the installed map (as scripts/demo runs it: no config);
#   - the README's Scripting transcript runs as printed (readme-transcript.py: only the demo's port
#     5020 becomes the daemon's) with the installed venus-regmap, its map and the usual unit IDs;
#   - the register list is installed as md, csv and xlsx in /usr/share/doc/venus-modbusd/docs;
#   - no installed program names the build machine's source tree when it fails.
#   installed-readme.sh DEB_DIR SOURCE_DIR        (KEEP=1 keeps the root)
# Needs root, debootstrap and the Debian mirror; the root is a copy of the cached debootstrap minbase
# root (debian-root.sh); about a minute after that.
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
. "$(dirname "$0")/debian-root.sh"
debdir=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot)"
for tool in debootstrap flock python3; do
  command -v $tool > /dev/null || skip "$tool is missing"
done
deb=$(ls "$debdir"/venus-modbusd_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "FAIL: no venus-modbusd_*.deb in $debdir (the package test makes it: ctest -L package runs it first)" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
start=$SECONDS

root=$(mktemp -d /var/tmp/vmd-installed.XXXXXX)
sim_pid="" server_pid=""
cleanup() {
  local rc=$?
  local pid
  for pid in $server_pid $sim_pid; do   # the daemon first, then the simulator (which stops its bus)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    for log in sim.log sim.out server.log; do
      [ -f "$root/tmp/$log" ] && { echo "--- $log" >&2; tail -n 30 "$root/tmp/$log" >&2; }
    done
  fi
  if root_unmount "$root"; then
    [ -n "${KEEP:-}" ] && echo "kept $root" >&2 || rm -rf --one-file-system "$root"
  else
    echo "installed-readme.sh: $root still has mounts; left in place" >&2
  fi
  exit $rc
}
trap cleanup EXIT INT TERM

debian_root "$root"
cp "$deb" "$root/tmp/"
root_apt_install "$root" dbus-daemon "/tmp/$(basename "$deb")"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
echo "fresh root with $(basename "$deb"): $((SECONDS - start)) s"
[ ! -e "$root$src" ] || fail "the root has the source tree's path $src"

# Run in the root, from /tmp (not the source tree), with a clean environment: "${run[@]}" PROGRAM ...
# (a simple command: with & its $! is the program itself, chroot, env and sh exec it).
run=(chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/tmp sh -c 'cd /tmp && exec "$@"' sh)

for doc in registers.md registers.csv registers.xlsx; do
  [ -s "$root/usr/share/doc/venus-modbusd/docs/$doc" ] || fail "/usr/share/doc/venus-modbusd/docs/$doc is not installed"
done

# The simulator, a scenario by name.
"${run[@]}" venus-sim --private --scenario ess-site.yaml > "$root/tmp/sim.out" 2> "$root/tmp/sim.log" &
sim_pid=$!
for _ in $(seq 1 200); do
  grep -q 'services ready' "$root/tmp/sim.out" 2>/dev/null && break
  kill -0 "$sim_pid" 2>/dev/null || fail "venus-sim --private --scenario ess-site.yaml exited"
  sleep 0.1
done
grep -q 'services ready' "$root/tmp/sim.out" || fail "venus-sim did not get ready within 20 s"
bus=$(sed -n 's/^DBUS_ADDRESS=//p' "$root/tmp/sim.out")
[ -n "$bus" ] || fail "venus-sim --private printed no DBUS_ADDRESS"

# The daemon with the installed map (no --map), on a free port of 127.0.0.1.
"${run[@]}" venus-modbusd --config /dev/null --bus "$bus" --listen 127.0.0.1:0 > "$root/tmp/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$root/tmp/server.log" | head -n 1 | sed 's/.*://' || true)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "venus-modbusd exited"
  sleep 0.1
done
[ -n "$port" ] || fail "venus-modbusd did not log 'listening on' within 20 s"
grep -qF "/usr/share/venus-modbusd/victron.yaml" "$root/tmp/server.log" ||
  fail "the daemon's log does not name the installed map /usr/share/venus-modbusd/victron.yaml"
echo "the installed daemon serves the installed simulator on 127.0.0.1:$port: $((SECONDS - start)) s"

python3 "$src/tests/packaging/readme-transcript.py" "$src/README.md" "$port" \
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 venus-regmap ||
  fail "the README's transcript does not run as printed with the installed venus-regmap"

# A failure names installed paths, never the build machine's.
out=$("${run[@]}" venus-sim --scenario no-such-scenario.yaml 2>&1 || true)
grep -qF /usr/share/venus-modbusd/scenarios <<<"$out" || fail "venus-sim's unknown scenario does not name the installed directory: $out"
out=$("${run[@]}" venus-regmap --help 2>&1; "${run[@]}" venus-modbusd --help 2>&1; "${run[@]}" venus-sim --help 2>&1 || true)
grep -qF "$src" <<<"$out" && fail "an installed program's help names the build tree $src: $out"
echo "the README's transcript runs as printed against the installed daemon and simulator ($((SECONDS - start)) s)"
