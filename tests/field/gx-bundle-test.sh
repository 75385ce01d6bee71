#!/usr/bin/env bash
# The GX bundles (armhf and arm64) on ARM, under qemu user-mode emulation, and their installer in
# a throwaway root laid out like a GX device.
#
#   tests/field/gx-bundle-test.sh [--dist DIR] [--arch armhf|arm64]... [BUILD_DIR]
#
# Without --dist it first runs scripts/gx-bundle (cross-builds in cached Debian 12 roots, see
# there) into a scratch directory; with --dist it tests the archives already in DIR.
# BUILD_DIR (default build/) is the amd64 build: its venus-sim simulates the site, its
# venus-modbusd is the reference the ARM servers are compared with.
# For each architecture:
#   - the archive holds exactly one venus-modbusd/ directory with the expected files, the daemon is
#     an ELF for that architecture and every library it needs (transitively) is in lib/;
#   - through the wrapper and the bundled loader (no binfmt: VMD_GX_EMULATOR=qemu-arm|qemu-aarch64)
#     `venus-modbusd --check` passes with the bundled map;
#   - the service's run script serves a simulated site (amd64 venus-sim on a private bus) on the
#     port in ../port, and pymodbus (gx_site_check.py) and mbpoll (libmodbus) get from it what
#     the amd64 daemon serves: units 100, 246, the battery, the discovery block, exception 10;
#     an ESS set point written to it arrives on D-Bus; SIGTERM ends it with status 0;
#   - under daemontools (svscan, supervise, multilog) in a GX-like root entered with chroot:
#     setup install starts it on 5020, --replace-stock restarts it on 502, uninstall stops it;
#   - the archive renamed venus-data.tar.gz, unpacked as Venus OS does it from a USB stick (with
#     its rc/post-hook.sh), installs it in a fresh GX-like root, and again changes nothing;
#   - setup in a GX-like root (VMD_GX_ROOT: /data, /service, /data/rc.local, /var/log, and a
#     simulated com.victronenergy.settings holding /Settings/Services/Modbus): install, install
#     again, --replace-stock, reinstall, back to beside, uninstall, uninstall again, with and
#     without an existing /data/rc.local, leave exactly the expected files, setting and lines;
#     bad arguments, a missing settings service and the wrong architecture fail clearly; the
#     armhf bundle's setup runs with busybox's sh and tools (as on a device), the arm64 one's
#     with dash and GNU's.
# Needs root (gx-bundle) and installs qemu-user if missing. Exit status 0 only if all passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
dist=""
archs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) dist=$(cd "$2" && pwd); shift 2 ;;
    --arch) archs+=("$2"); shift 2 ;;
    -*) echo "gx-bundle-test: unexpected '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
done
build=$(cd "${1:-$src/build}" && pwd)
[ ${#archs[@]} -gt 0 ] || archs=(armhf arm64)
start=$SECONDS
for tool in "$build/venus-sim" "$build/venus-modbusd"; do
  [ -x "$tool" ] || { echo "FAIL: $tool is missing (build the amd64 tree first: ./scripts/setup)" >&2; exit 1; }
done
if ! command -v qemu-arm > /dev/null || ! command -v qemu-aarch64 > /dev/null || ! command -v busybox > /dev/null ||
  ! command -v svscan > /dev/null; then
  echo "gx-bundle-test: installing qemu-user, busybox and daemontools"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends qemu-user busybox daemontools > /dev/null
fi
for tool in dbus-daemon dbus-send mbpoll readelf /usr/bin/python3; do
  command -v "$tool" > /dev/null || { echo "FAIL: $tool is missing (./scripts/setup installs it)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/vmd-gx-test.XXXXXX)
pids=()
cleanup() {
  local rc=$? pid
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  # The daemontools roots had /usr, /etc and /dev mounted in a mount namespace of their own, never
  # here; should anything be mounted under $work after all, leave it rather than delete through it.
  if awk -v w="$work/" 'index($2, w) == 1 {found = 1} END {exit !found}' /proc/mounts; then
    echo "gx-bundle-test: $work has mounts; left in place" >&2
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT INT TERM
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# Waits until FILE has a line matching PATTERN while PID runs (60 s: start-up under emulation on
# a loaded machine takes a few seconds).
wait_for_line() {
  local file=$1 pattern=$2 pid=$3
  for _ in $(seq 1 1200); do
    grep -qE "$pattern" "$file" 2> /dev/null && return 0
    kill -0 "$pid" 2> /dev/null || { echo "process $pid exited while waiting for '$pattern' in $file" >&2; return 1; }
    sleep 0.05
  done
  echo "timed out waiting for '$pattern' in $file" >&2
  return 1
}
start_bus() {   # start_bus NAME -> prints the address; the daemon's PID goes to pids
  dbus-daemon --config-file="$src/tests/integration/bus.conf" --nofork --print-address=1 > "$work/$1.address" 2> "$work/$1.log" &
  pids+=($!)
  wait_for_line "$work/$1.address" '^unix:' "$!" > /dev/null
}
start_sim() {   # start_sim NAME BUS SCENARIO
  "$build/venus-sim" --bus "$2" --scenario "$3" > "$work/$1.log" 2>&1 &
  pids+=($!)
  wait_for_line "$work/$1.log" 'services ready' "$!"
}
# busybox's shell and tools, as on a GX device, for the armhf bundle's setup (arm64: dash and GNU).
busybox_bin=$work/busybox-bin
mkdir -p "$busybox_bin"
for applet in sh ash sed grep awk readlink cat rm mkdir ln chmod touch dirname uname printf echo tail head cut test [; do
  ln -s "$(command -v busybox)" "$busybox_bin/$applet"
done
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::", 0)); print(s.getsockname()[1])'; }

# Bad arguments: a clear message and status 2, before anything is built.
out=$("$src/scripts/gx-bundle" --arch mips 2>&1) && fail "gx-bundle --arch mips succeeded" || {
  [ $? -eq 2 ] && grep -q "armhf or arm64" <<< "$out" && pass "gx-bundle refuses --arch mips (status 2)" ||
    fail "gx-bundle --arch mips: $out"
}
if [ -z "$dist" ]; then
  dist=$work/dist
  arch_args=()
  for arch in "${archs[@]}"; do arch_args+=(--arch "$arch"); done
  "$src/scripts/gx-bundle" "${arch_args[@]}" --out "$dist" || { echo "FAIL: scripts/gx-bundle" >&2; exit 1; }
fi
version=$(sed -n 's/^project(venus-modbusd VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

# The site: a private bus, the ESS scenario with its values frozen (one tick an hour), so that the
# servers can be compared register by register; the amd64 daemon as the reference.
start_bus site
site_bus=$(head -n 1 "$work/site.address")
sed 's/^tick-ms: .*/tick-ms: 3600000/' "$src/tools/venus-sim/scenarios/ess-site.yaml" > "$work/frozen-site.yaml"
start_sim site-sim "$site_bus" "$work/frozen-site.yaml"
"$build/venus-modbusd" --bus "$site_bus" --listen 127.0.0.1:0 --map "$src/register-maps/victron.yaml" 2> "$work/ref.log" &
pids+=($!)
wait_for_line "$work/ref.log" 'listening on 127\.0\.0\.1:[0-9]+' "$!"
ref_port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/ref.log" | head -n 1 | sed 's/.*://')

# A second site of fixed values, many of them decimal halves once scaled (the rounding check).
start_bus halves
halves_bus=$(head -n 1 "$work/halves.address")
start_sim halves-sim "$halves_bus" "$src/tests/integration/scenarios/mixed-no-hub4.yaml"

# The settings service of the GX-like root: only /Settings/Services/Modbus, on a bus of its own.
start_bus gx
gx_bus=$(head -n 1 "$work/gx.address")
cat > "$work/settings.yaml" << 'EOF'
tick-ms: 3600000
services:
  - name: com.victronenergy.settings
    paths:
      /Settings/Services/Modbus: {value: 1, writable: true}
EOF
start_sim gx-sim "$gx_bus" "$work/settings.yaml"
stock() {   # the stock server's setting on the GX-like root's bus
  dbus-send --bus="$gx_bus" --print-reply=literal --dest=com.victronenergy.settings /Settings/Services/Modbus \
    com.victronenergy.BusItem.GetValue | awk '{print $NF}'
}
set_stock() {
  dbus-send --bus="$gx_bus" --print-reply=literal --dest=com.victronenergy.settings /Settings/Services/Modbus \
    com.victronenergy.BusItem.SetValue "variant:int32:$1" > /dev/null
}
# Everything in the GX-like root: path, type, link target, mode and content digest.
snapshot() {
  (cd "$1" && find . -path ./data/venus-modbusd/lib -prune -o -printf '%p %y %l %m\n' | sort &&
    find . -type f ! -path './data/venus-modbusd/lib/*' -exec md5sum {} + | sort -k 2)
}

test_arch() {
  local arch=$1 emulator machine loader
  case "$arch" in
    armhf) emulator=qemu-arm machine=ARM loader=ld-linux-armhf.so.3 ;;
    arm64) emulator=qemu-aarch64 machine=AArch64 loader=ld-linux-aarch64.so.1 ;;
  esac
  local archive=$dist/venus-modbusd-$version-gx-$arch.tar.gz
  [ -f "$archive" ] || { fail "$arch: no $archive"; return; }
  echo "--- $arch: $(basename "$archive") ($(du -h "$archive" | cut -f1))"

  # The archive: one directory, the expected files, the right architecture, every library inside.
  local gx=$work/$arch-gx pkg
  mkdir -p "$gx/data" "$gx/service" "$gx/var/log"
  tar -xzf "$archive" -C "$gx/data" venus-modbusd   # as docs/deploy.md says
  pkg=$gx/data/venus-modbusd
  local top
  top=$(tar -tzf "$archive" | grep -v '^rc/post-hook.sh$' | cut -d/ -f1 | sort -u | tr '\n' ' ')
  [ "$top" = "rc venus-modbusd " ] && pass "$arch: the archive holds venus-modbusd/ and rc/post-hook.sh only" ||
    fail "$arch: the archive's top level is '$top' (and rc/ may hold only post-hook.sh)"
  local expected="LICENSE bin bin/venus-modbusd lib lib/$loader service service/log service/log/run service/run setup venus-modbusd version victron.yaml"
  local have
  have=$(cd "$pkg" && find . -path ./lib/'*' ! -name "$loader" -prune -o -print | sed 's|^\./||' | grep -v '^\.$' | sort | tr '\n' ' ')
  [ "$have" = "$expected " ] && pass "$arch: the expected files" || fail "$arch: files '$have', expected '$expected '"
  [ "$(cat "$pkg/version")" = "v$version" ] || fail "$arch: version file '$(cat "$pkg/version")', expected v$version"
  cmp -s "$pkg/LICENSE" "$src/LICENSE" || fail "$arch: LICENSE is not the repository's"
  cmp -s "$pkg/victron.yaml" "$src/register-maps/victron.yaml" || fail "$arch: victron.yaml is not register-maps/victron.yaml"
  readelf -h "$pkg/bin/venus-modbusd" | grep -qE "Machine: +$machine\$" && pass "$arch: bin/venus-modbusd is an $machine ELF" ||
    fail "$arch: bin/venus-modbusd is not an $machine ELF: $(readelf -h "$pkg/bin/venus-modbusd" | grep Machine)"
  local f lib missing_libs=""
  for f in "$pkg/bin/venus-modbusd" "$pkg"/lib/*; do
    for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [ -e "$pkg/lib/$lib" ] || missing_libs+=" $lib(for $(basename "$f"))"
    done
  done
  [ -z "$missing_libs" ] && pass "$arch: every library the daemon needs is in lib/" || fail "$arch: not in lib/:$missing_libs"

  # --check with the bundled map, through the wrapper and the bundled loader.
  local out
  if out=$(VMD_GX_EMULATOR=$emulator "$pkg/venus-modbusd" --check --map "$pkg/victron.yaml" 2>&1); then
    pass "$arch: --check passes with the bundled map ($(echo "$out" | tail -n 1))"
  else
    fail "$arch: --check: $out"
  fi

  out=$(VMD_GX_EMULATOR=$emulator "$pkg/venus-modbusd" --version 2>&1) || true
  [ "$out" = "venus-modbusd $version" ] && pass "$arch: --version says $version, as the version file does" ||
    fail "$arch: --version says '$out', expected 'venus-modbusd $version'"

  # The run script serves the site on the port of ../port; reads compared with the amd64 server.
  local port
  port=$(free_port)
  echo "$port" > "$pkg/port"
  (cd "$pkg/service" && DBUS_SYSTEM_BUS_ADDRESS=$site_bus VMD_GX_EMULATOR=$emulator exec ./run > "$work/$arch-run.log" 2>&1) &
  local pid=$!
  pids+=($pid)
  if wait_for_line "$work/$arch-run.log" "listening on \[::\]:$port" "$pid"; then
    pass "$arch: service/run listens on [::]:$port (the port file)"
    if VMD_BUS=$site_bus /usr/bin/python3 "$here/gx_site_check.py" "$port" "$ref_port"; then
      pass "$arch: pymodbus reads what the amd64 server serves, the ESS write arrives on D-Bus"
    else
      fail "$arch: gx_site_check.py"
    fi
    if VMD_BUS=$site_bus VMD_HOST=127.0.0.1 VMD_PORT=$port VMD_SOURCE=$src \
         /usr/bin/python3 "$src/tests/integration/served_vs_published.py" 500 > "$work/$arch-published.log" 2>&1; then
      pass "$arch: every published register on the site serves its D-Bus value as the published list says ($(tail -n 1 "$work/$arch-published.log"))"
    else
      fail "$arch: served_vs_published.py on the ESS site"
      tail -n 20 "$work/$arch-published.log" >&2
    fi
    out=$(mbpoll -m tcp -p "$port" -a 246 -r 33 -c 1 -0 -1 127.0.0.1 2>&1 || true)
    echo "$out" | grep -qE '^\[33\]:[[:space:]]+3$' && pass "$arch: mbpoll (libmodbus) reads unit 246 register 33 = 3" ||
      fail "$arch: mbpoll unit 246 register 33: $out"
    kill -TERM "$pid"
    local status=0
    wait "$pid" || status=$?
    [ $status -eq 0 ] && pass "$arch: SIGTERM ends it with status 0" || fail "$arch: exit status $status after SIGTERM"
  else
    fail "$arch: service/run did not start"
    tail -n 20 "$work/$arch-run.log" >&2
  fi
  rm -f "$pkg/port"

  # Decimal halves (4700.65 x 10 = 47006.5 in double): the ARM build rounds as a GX device does.
  VMD_GX_EMULATOR=$emulator "$pkg/venus-modbusd" --config /dev/null --bus "$halves_bus" --listen 127.0.0.1:0 \
    --map "$pkg/victron.yaml" 2> "$work/$arch-halves.log" &
  pid=$!
  pids+=($pid)
  if wait_for_line "$work/$arch-halves.log" 'listening on 127\.0\.0\.1:[0-9]+' "$pid"; then
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/$arch-halves.log" | head -n 1 | sed 's/.*://')
    if VMD_BUS=$halves_bus VMD_HOST=127.0.0.1 VMD_PORT=$port VMD_SOURCE=$src \
         /usr/bin/python3 "$src/tests/integration/served_vs_published.py" 300 > "$work/$arch-halves-published.log" 2>&1; then
      pass "$arch: on a site of decimal halves every published register reads as on a GX device ($(tail -n 1 "$work/$arch-halves-published.log"))"
    else
      fail "$arch: served_vs_published.py on the site of decimal halves"
      tail -n 20 "$work/$arch-halves-published.log" >&2
    fi
    kill -TERM "$pid"; wait "$pid" || true
  else
    fail "$arch: the daemon did not start on the site of decimal halves"
    tail -n 20 "$work/$arch-halves.log" >&2
  fi

  local path=$PATH
  [ "$arch" != armhf ] || path=$busybox_bin:$PATH
  PATH=$path test_setup "$arch" "$gx" "$emulator"
  PATH=$path test_usb "$arch" "$archive" "$emulator"
  test_daemontools "$arch" "$archive" "$emulator"
}

# The bundle under daemontools (Debian's svscan, supervise, multilog, svc, svok), installed and
# removed by setup with the device's real paths: a GX-like root with the system's /usr and /etc
# mounted read-only, the simulated site on its system bus address, entered with chroot in
# namespaces of its own (mounts, network: ports 502 and 5020 are private; PIDs: everything
# started in there ends with it). tests/field/gx-daemontools.sh does the checks in there.
test_daemontools() {
  local arch=$1 archive=$2 emulator=$3 dt=$work/$1-dt d
  for d in data service var/log run/dbus proc tmp usr etc dev; do mkdir -p "$dt/$d"; done
  for d in bin lib lib64 sbin; do ln -s "usr/$d" "$dt/$d"; done
  ln -s ../run "$dt/var/run"
  tar -xzf "$archive" -C "$dt/data" venus-modbusd
  local bus=unix:path=$dt/run/dbus/system_bus_socket
  sed "s|<listen>.*</listen>|<listen>$bus</listen>|" "$src/tests/integration/bus.conf" > "$work/$arch-dt-bus.conf"
  dbus-daemon --config-file="$work/$arch-dt-bus.conf" --nofork --print-address=1 > "$work/$arch-dt-bus.address" 2> "$work/$arch-dt-bus.log" &
  pids+=($!)
  wait_for_line "$work/$arch-dt-bus.address" '^unix:' "$!" > /dev/null
  sed '/\/Settings\/ModbusServer\/ReadWrite:/a\      /Settings/Services/Modbus: {value: 1, writable: true}' \
    "$work/frozen-site.yaml" > "$work/dt-site.yaml"
  start_sim "$arch-dt-sim" "$bus" "$work/dt-site.yaml"
  cp "$here/gx-daemontools.sh" "$dt/tmp/"
  local out
  out=$(unshare --mount --net --pid --fork --propagation private bash -c '
    set -e
    dt=$1
    ip link set lo up
    for d in usr etc dev; do mount --bind "/$d" "$dt/$d"; done
    mount -o remount,bind,ro "$dt/usr"
    mount -o remount,bind,ro "$dt/etc"
    mount -t proc proc "$dt/proc"
    exec chroot "$dt" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin VMD_GX_EMULATOR="$2" sh /tmp/gx-daemontools.sh' \
    sh "$dt" "$emulator" 2>&1) || true
  echo "$out" | sed "s/^\(ok\|FAIL\): /\1: $arch /"
  local failed
  failed=$(grep -c '^FAIL' <<< "$out" || true)
  failures=$((failures + failed))
  grep -q '^ok: daemontools: not supervised after uninstall' <<< "$out" || fail "$arch daemontools: the checks did not run to the end"
}

# The archive renamed venus-data.tar.gz on a USB stick: Venus OS unpacks rc/ into a scratch
# directory, runs rc/pre-hook.sh if there is one, unpacks the rest into /data, then runs
# rc/post-hook.sh (its /etc/init.d/update-data.sh; done here the same way, in a fresh GX-like root).
test_usb() {
  local arch=$1 archive=$2 emulator=$3 usb=$work/$1-usb hooks=$work/$1-hooks boot first=""
  mkdir -p "$usb/data" "$usb/service" "$usb/var/log"
  local before
  before=$(stock)
  for boot in 1 2; do   # the stick left in: the next boot does it all again
    rm -rf "$hooks" && mkdir -p "$hooks"
    tar -xzf "$archive" -C "$hooks" rc
    [ ! -f "$hooks/rc/pre-hook.sh" ] || sh "$hooks/rc/pre-hook.sh" || fail "$arch usb: pre-hook.sh"
    tar -xzf "$archive" -C "$usb/data" --exclude rc
    out=$(DBUS_SYSTEM_BUS_ADDRESS=$gx_bus VMD_GX_ROOT=$usb VMD_GX_EMULATOR=$emulator sh "$hooks/rc/post-hook.sh" 2>&1) ||
      fail "$arch usb: post-hook.sh (boot $boot): $out"
    [ $boot = 2 ] || first=$(snapshot "$usb")
  done
  [ "$(readlink "$usb/service/venus-modbusd")" = /data/venus-modbusd/service ] &&
    [ "$(cat "$usb/data/rc.local")" = "$(printf '#!/bin/sh\nln -sfn /data/venus-modbusd/service /service/venus-modbusd')" ] &&
    [ ! -e "$usb/data/venus-modbusd/port" ] && [ "$(stock)" = "$before" ] &&
    pass "$arch usb: venus-data.tar.gz installs it beside the stock server without a shell" ||
    fail "$arch usb: after unpacking as Venus OS does: link '$(readlink "$usb/service/venus-modbusd")', rc.local '$(cat "$usb/data/rc.local" 2>&1)'"
  [ ! -e "$usb/data/rc" ] && pass "$arch usb: rc/ stays out of /data" || fail "$arch usb: /data/rc exists"
  [ "$(snapshot "$usb")" = "$first" ] && pass "$arch usb: a second boot with the stick in changes nothing" ||
    fail "$arch usb: a second boot with the stick in changed the root"
}

# setup in the GX-like root GX (the archive unpacked in GX/data).
test_setup() {
  local arch=$1 gx=$2 emulator=$3 pkg=$2/data/venus-modbusd out wrong=qemu-aarch64
  [ "$arch" = armhf ] || wrong=qemu-arm
  local line="ln -sfn /data/venus-modbusd/service /service/venus-modbusd"
  run_setup() { DBUS_SYSTEM_BUS_ADDRESS=$gx_bus VMD_GX_ROOT=$gx VMD_GX_EMULATOR=$emulator sh "$pkg/setup" "$@" 2>&1; }
  echo "$arch setup: runs with sh = $(readlink -f "$(command -v sh)"), sed = $(readlink -f "$(command -v sed)")"
  expect() {   # expect WHAT CONDITION...
    local what=$1; shift
    if "$@"; then pass "$arch setup: $what"; else fail "$arch setup: $what"; fi
  }
  linked() { [ "$(readlink "$gx/service/venus-modbusd")" = /data/venus-modbusd/service ]; }
  rc_is() { [ "$(cat "$gx/data/rc.local")" = "$1" ] && [ -x "$gx/data/rc.local" ]; }

  # A device with a /data/rc.local of its own and the stock server on.
  printf '#!/bin/sh\necho "my own boot step"\n' > "$gx/data/rc.local"
  chmod 755 "$gx/data/rc.local"
  set_stock 1
  local pristine
  pristine=$(snapshot "$gx")

  out=$(run_setup frobnicate) && fail "$arch setup: 'setup frobnicate' succeeded" ||
    expect "an unknown action fails with usage" test $? -eq 2 -a -n "$(echo "$out" | grep 'setup install')"
  out=$(run_setup uninstall --replace-stock) && fail "$arch setup: 'uninstall --replace-stock' succeeded" ||
    expect "uninstall --replace-stock is a usage error" test $? -eq 2
  out=$(DBUS_SYSTEM_BUS_ADDRESS=$gx_bus VMD_GX_ROOT=$gx VMD_GX_EMULATOR=$wrong sh "$pkg/setup" install 2>&1) &&
    fail "$arch setup: install with a daemon that cannot run succeeded" ||
    expect "install refuses a daemon that does not run here (wrong architecture)" grep -q 'does not run on this device' <<< "$out"
  out=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/no-bus VMD_GX_ROOT=$gx VMD_GX_EMULATOR=$emulator sh "$pkg/setup" install --replace-stock 2>&1) &&
    fail "$arch setup: --replace-stock without a settings service succeeded" ||
    expect "--replace-stock without the settings service fails clearly" grep -q 'cannot read /Settings/Services/Modbus' <<< "$out"
  expect "the failed attempts changed nothing" test "$(snapshot "$gx")" = "$pristine"

  out=$(run_setup install) || fail "$arch setup: install: $out"
  echo "$out" | sed 's/^/    /'
  expect "install links the service" linked
  expect "install adds one line to rc.local and keeps the device's own" rc_is "$(printf '#!/bin/sh\necho "my own boot step"\n%s' "$line")"
  expect "install serves beside the stock server (no port file, setting still 1)" test ! -e "$pkg/port" -a "$(stock)" = 1
  expect "install says what it did" grep -q "linked .*/service/venus-modbusd" <<< "$out"
  local installed
  installed=$(snapshot "$gx")

  out=$(run_setup install) || fail "$arch setup: second install: $out"
  expect "a second install changes nothing" test "$(snapshot "$gx")" = "$installed"
  expect "a second install says nothing was linked or added" test -z "$(grep -E 'linked|added|created' <<< "$out")"

  out=$(run_setup install --replace-stock) || fail "$arch setup: install --replace-stock: $out"
  echo "$out" | sed 's/^/    /'
  expect "--replace-stock switches the stock server off" test "$(stock)" = 0
  expect "--replace-stock serves on 502" test "$(cat "$pkg/port" 2> /dev/null)" = 502
  expect "--replace-stock leaves the link and rc.local" linked
  expect "--replace-stock says it switched the stock server off" grep -q 'stock Modbus-TCP server off' <<< "$out"
  out=$(run_setup reinstall auto deferReboot) || fail "$arch setup: reinstall: $out"
  expect "reinstall keeps --replace-stock (port 502, setting 0)" test "$(cat "$pkg/port" 2> /dev/null)" = 502 -a "$(stock)" = 0
  out=$(run_setup install) || fail "$arch setup: install after --replace-stock: $out"
  expect "install after --replace-stock turns the stock server back on and serves on 5020" test "$(stock)" = 1 -a ! -e "$pkg/port"

  out=$(run_setup install --replace-stock) || fail "$arch setup: install --replace-stock: $out"
  mkdir -p "$gx/var/log/venus-modbusd" && echo "a log line" > "$gx/var/log/venus-modbusd/current"   # multilog's
  out=$(run_setup uninstall) || fail "$arch setup: uninstall: $out"
  echo "$out" | sed 's/^/    /'
  expect "uninstall restores the stock server's setting" test "$(stock)" = 1
  expect "uninstall leaves exactly the files there were before install" test "$(snapshot "$gx")" = "$pristine"
  out=$(run_setup uninstall) || fail "$arch setup: second uninstall: $out"
  expect "a second uninstall changes nothing" test "$(snapshot "$gx")" = "$pristine"

  # A device without /data/rc.local, with the stock server already off.
  rm "$gx/data/rc.local"
  set_stock 0
  pristine=$(snapshot "$gx")
  out=$(run_setup install --replace-stock) || fail "$arch setup: install --replace-stock (no rc.local): $out"
  expect "install makes rc.local (executable) with the line" rc_is "$(printf '#!/bin/sh\n%s' "$line")"
  expect "--replace-stock leaves a stock server that was off, off" test "$(stock)" = 0
  out=$(run_setup uninstall) || fail "$arch setup: uninstall (no rc.local): $out"
  expect "uninstall removes the rc.local it made and leaves the setting off" test ! -e "$gx/data/rc.local" -a "$(stock)" = 0
  expect "uninstall leaves exactly the files there were before (no rc.local)" test "$(snapshot "$gx")" = "$pristine"
}

for arch in "${archs[@]}"; do test_arch "$arch"; done
if [ $failures -ne 0 ]; then
  echo "gx-bundle-test: $failures check(s) FAILED (${archs[*]}, $((SECONDS - start)) s)" >&2
  exit 1
fi
echo "gx-bundle-test: all checks passed for ${archs[*]} ($((SECONDS - start)) s)"
