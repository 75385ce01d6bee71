#!/usr/bin/env bash
# The Debian package under a real systemd: a fresh Debian 12 root (minbase) with the .deb, systemd
# and dbus installed is booted with `systemd-nspawn -b` (systemd is PID 1, dbus-daemon the system
# bus, the package's D-Bus policy in force). A simulated GX site runs there as a systemd service
# (venus-sim from the package, as root, with a test-only policy that lets root own and call
# com.victronenergy.* as on a GX device). The container shares the host's network, so the host's
# mbpoll reaches the daemon on 127.0.0.1 at the port it logs (the test config listens on port 0).
# Checked, in order:
#   - `systemctl start venus-modbusd` returns with the unit active (Type=notify) and "listening on"
#     already in the journal, before systemd's "Started" line; the first Modbus read succeeds;
#   - a value set on D-Bus is read through Modbus (live), a Modbus write arrives on D-Bus;
#   - `systemctl reload` (ExecReload on a system without procps) re-reads a changed config
#     (read-only: writes are refused); with a broken config or a broken overlay it fails, naming the
#     file and line in the journal, and does not signal the daemon, which keeps serving the old one;
#   - the process frozen with SIGSTOP is killed by the watchdog and restarted (a test-only drop-in
#     shortens WatchdogSec from the shipped 30 s to 4 s) and serves again;
#   - `systemctl stop` ends it with status 0 and result "success";
#   - the journal has no warning or error from the unit, but the expected ones of the broken reload
#     and of the watchdog kill.
#   unit-under-systemd.sh DEB_DIR        (DEB_DIR holds venus-modbusd_*.deb; KEEP=1 keeps the root)
# Needs root, systemd-nspawn (systemd-container), debootstrap, the Debian mirror; 1-3 minutes.
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
. "$(dirname "$0")/debian-root.sh"
debdir=$(cd "$1" && pwd)
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
for tool in debootstrap systemd-nspawn nsenter mbpoll flock stdbuf; do
  command -v $tool > /dev/null || skip "$tool is missing"
done
deb=$(ls "$debdir"/venus-modbusd_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "FAIL: no venus-modbusd_*.deb in $debdir (the package test makes it: ctest -L field runs it first)" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
start=$SECONDS

root=$(mktemp -d /var/tmp/vmd-systemd.XXXXXX)
nspawn_pid=""
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -n "$nspawn_pid" ]; then
    echo "--- journal of the container (last 60 lines)" >&2
    c journalctl --no-pager -n 60 >&2 || true
  fi
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill "$nspawn_pid" 2>/dev/null || true   # nspawn asks the container's systemd to power off
    for _ in $(seq 1 120); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$nspawn_pid" 2>/dev/null || true
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  if root_unmount "$root"; then
    [ -n "${KEEP:-}" ] && echo "kept $root" >&2 || rm -rf --one-file-system "$root"
  else
    echo "unit-under-systemd.sh: $root still has mounts; left in place" >&2
  fi
  exit $rc
}
trap cleanup EXIT INT TERM

debian_root "$root"
cp "$deb" "$root/tmp/"
root_apt_install "$root" systemd dbus "/tmp/$(basename "$deb")"
root_unmount "$root" || fail "mounts left in $root after the installation"
echo "root with systemd, dbus and $(basename "$deb"): $((SECONDS - start)) s"

# The simulated GX site: venus-sim as a systemd service on the system bus, as root.
cat > "$root/etc/dbus-1/system.d/venus-sim-test.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Test only: root runs the simulated Venus services, as on a GX device. -->
<busconfig>
  <policy user="root">
    <allow own_prefix="com.victronenergy"/>
    <allow send_destination_prefix="com.victronenergy"/>
  </policy>
</busconfig>
EOF
cat > "$root/etc/systemd/system/venus-sim.service" <<'EOF'
[Unit]
Description=Simulated GX site (venus-sim, test only)
Requires=dbus.service
After=dbus.service

[Service]
ExecStart=/usr/bin/venus-sim --bus system --scenario /usr/share/venus-modbusd/scenarios/ess-site.yaml
EOF
# Test only: the watchdog fires after 4 s instead of 30 s.
mkdir -p "$root/etc/systemd/system/venus-modbusd.service.d"
printf '[Service]\nWatchdogSec=4s\n' > "$root/etc/systemd/system/venus-modbusd.service.d/test-watchdog.conf"
config=/etc/venus-modbusd/venus-modbusd.yaml
cp "$root$config" "$root/tmp/shipped.yaml"
write_config() { # EXTRA-LINES: the test config (system bus, a free port of 127.0.0.1) plus EXTRA-LINES
  printf 'bus: system\nlisten:\n  - "127.0.0.1:0"\nlog-level: info\n%s' "$1" > "$root$config"
}
write_config ""

systemd-nspawn -D "$root" -b --register=no --keep-unit --console=pipe --quiet < /dev/null > "$root.console" 2>&1 &
nspawn_pid=$!
leader=""
for _ in $(seq 1 200); do
  leader=$(grep -lE "^PPid:[[:space:]]+$nspawn_pid\$" /proc/[0-9]*/status 2>/dev/null | head -n 1 | cut -d/ -f3 || true)
  [ -n "$leader" ] && break
  kill -0 "$nspawn_pid" 2>/dev/null || { cat "$root.console" >&2; fail "systemd-nspawn exited"; }
  sleep 0.1
done
[ -n "$leader" ] || fail "no container leader process after 20 s"
c() { nsenter --target "$leader" --all "$@"; }      # run a command in the container
for _ in $(seq 1 300); do
  state=$(c systemctl is-system-running 2>/dev/null || true)
  case $state in running|degraded) break ;; esac
  sleep 0.1
done
case $state in running|degraded) ;; *) fail "the container's systemd did not finish booting: '$state'" ;; esac
echo "booted (systemd is PID 1, state $state): $((SECONDS - start)) s"
rm -f "$root.console"

wait_journal() { # UNIT PATTERN [N]: wait (up to 60 s) until the unit's journal has N (default 1) lines matching PATTERN
  local n=${3:-1}
  for _ in $(seq 1 600); do
    [ "$(c journalctl --no-pager -o cat -u "$1" | grep -cE "$2")" -ge "$n" ] && return 0
    sleep 0.1
  done
  fail "no ${n}x '$2' in the journal of $1 after 60 s"
}
prop() { c systemctl show -P "$2" "$1"; }
daemon_warnings() { # the daemon's own log lines at warning level or above
  c journalctl --no-pager -o cat -u venus-modbusd | grep -E '^(warning|error|critical) ' || true
}

c systemctl start venus-sim
wait_journal venus-sim 'services ready'

# --- start: active only once it listens
c systemctl start venus-modbusd || fail "systemctl start venus-modbusd"
[ "$(prop venus-modbusd ActiveState)" = active ] || fail "not active after systemctl start: $(prop venus-modbusd ActiveState)"
c journalctl --sync
log=$(c journalctl --no-pager -o cat -u venus-modbusd)
grep -qE 'listening on 127\.0\.0\.1:[0-9]+' <<< "$log" || fail "active, but no 'listening on' in the journal yet"
listen_line=$(echo "$log" | grep -nE 'listening on' | head -n 1 | cut -d: -f1)
started_line=$(echo "$log" | grep -nE '^Started ' | head -n 1 | cut -d: -f1)
[ -n "$started_line" ] && [ "$listen_line" -lt "$started_line" ] ||
  fail "systemd's 'Started' (line $started_line) came before 'listening on' (line $listen_line)"
port=$(echo "$log" | grep -oE 'listening on 127\.0\.0\.1:[0-9]+' | tail -n 1 | sed 's/.*://')
[ "$(prop venus-modbusd User)" = venus-modbusd ] || fail "the unit does not run as venus-modbusd"
pid=$(prop venus-modbusd MainPID)
[ "$(c stat -c %U /proc/"$pid")" = venus-modbusd ] || fail "the daemon (pid $pid) does not run as venus-modbusd"
echo "started, active once listening on 127.0.0.1:$port: $((SECONDS - start)) s"

poll() { stdbuf -o0 mbpoll -m tcp -p "$port" -0 -1 -o 3 "$@"; }
read_reg() { # UNIT REGISTER: the value mbpoll reads
  poll -a "$1" -r "$2" -c 1 127.0.0.1 | sed -nE "s/^\[$2\]:[[:space:]]+(-?[0-9]+)$/\1/p"
}
bus_get() { # SERVICE PATH: GetValue on the container's system bus
  c dbus-send --system --print-reply=literal --dest="$1" "$2" com.victronenergy.BusItem.GetValue | awk '{print $NF}'
}
setpoint=/Settings/CGwacs/AcPowerSetPoint

# --- a read through the sandboxed service (no retry: it is active, so it serves) and live values
[ "$(read_reg 246 33)" = 3 ] || fail "unit 246 register 33 (/Mode of the Multi): '$(read_reg 246 33)', expected 3"
c dbus-send --system --print-reply --dest=com.victronenergy.settings "$setpoint" \
  com.victronenergy.BusItem.SetValue variant:double:777 > /dev/null || fail "SetValue on D-Bus"
for _ in $(seq 1 100); do [ "$(read_reg 100 2700)" = 777 ] && break; sleep 0.1; done
[ "$(read_reg 100 2700)" = 777 ] || fail "register 2700 reads '$(read_reg 100 2700)' after D-Bus set 777"
# --- a Modbus write arrives on D-Bus
poll -a 100 -r 2700 127.0.0.1 1234 > /dev/null || fail "Modbus write of 1234 to register 2700"
value=$(bus_get com.victronenergy.settings "$setpoint")
[ "${value%.*}" = 1234 ] || fail "$setpoint on D-Bus is '$value' after the Modbus write of 1234"
echo "read live values and wrote through it: $((SECONDS - start)) s"
[ -z "$(c journalctl -q --no-pager -u venus-modbusd -p warning)" ] || fail "warnings: $(c journalctl -q --no-pager -u venus-modbusd -p warning)"
[ -z "$(daemon_warnings)" ] || fail "the daemon logged: $(daemon_warnings)"

# --- reload: a changed config is re-read (read-only now), a broken one leaves it serving
write_config "read-only: true"$'\n'
c systemctl reload venus-modbusd || fail "systemctl reload venus-modbusd (ExecReload)"
wait_journal venus-modbusd 'reload: read-only on'
if poll -a 100 -r 2700 127.0.0.1 555 > /dev/null 2>&1; then fail "a write succeeded after reloading with read-only: true"; fi
[ "$(bus_get com.victronenergy.settings "$setpoint" | sed 's/\..*//')" = 1234 ] || fail "a refused write changed $setpoint"
[ -z "$(daemon_warnings)" ] || fail "the daemon logged: $(daemon_warnings)"
reloads() { c journalctl --no-pager -o cat -u venus-modbusd | grep -c 'reloading on SIGHUP' || true; }
signalled=$(reloads)
write_config "read-only: false"$'\n'"max-clients: plenty"$'\n'
if c systemctl reload venus-modbusd; then fail "systemctl reload succeeded with a broken config"; fi
wait_journal venus-modbusd "$config:6: 'max-clients'"
printf 'registers:\n  - {address: 2700, service: settings, path: /Settings/CGwacs/AcPowerSetPoint, type: int16, access: RW, dbus-type: i}\n  - {address: 2700, service: settings, path: /Settings/CGwacs/AcPowerSetPoint, type: int16, access: RW, dbus-type: i}\n' > "$root/etc/venus-modbusd/broken-overlay.yaml"
write_config "read-only: false"$'\n'"overlays:"$'\n'"  - /etc/venus-modbusd/broken-overlay.yaml"$'\n'
if c systemctl reload venus-modbusd; then fail "systemctl reload succeeded with an overlay that does not validate"; fi
wait_journal venus-modbusd '^/etc/venus-modbusd/broken-overlay\.yaml:[0-9]+: '
[ "$(reloads)" = "$signalled" ] || fail "a reload that failed its check signalled the daemon anyway"
[ "$(prop venus-modbusd ActiveState)" = active ] || fail "not active after a broken reload"
[ "$(read_reg 246 33)" = 3 ] || fail "no longer serving after a broken reload"
if poll -a 100 -r 2700 127.0.0.1 555 > /dev/null 2>&1; then fail "the broken config's read-only: false took effect"; fi
[ -z "$(daemon_warnings)" ] || fail "the daemon logged, though the broken reloads never reached it: $(daemon_warnings)"
write_config ""
c systemctl reload venus-modbusd
wait_journal venus-modbusd 'reload: read-only off'
echo "reloaded a changed config, refused to reload a broken one: $((SECONDS - start)) s"
# systemd's own account of the two refused reloads (the check's exit status 2), and nothing else.
unexpected=$(c journalctl -q --no-pager -o cat -u venus-modbusd -p warning |
             grep -vE "Control process exited, code=exited, status=2|Reload failed for" || true)
[ -z "$unexpected" ] || fail "warnings: $unexpected"
errors_before=$(daemon_warnings | wc -l)

# --- the watchdog: a frozen process is killed and the service restarted
old_pid=$(prop venus-modbusd MainPID)
c sh -c "kill -STOP $old_pid"
for _ in $(seq 1 600); do
  new_pid=$(prop venus-modbusd MainPID)
  [ "$new_pid" != "$old_pid" ] && [ "$new_pid" != 0 ] && [ "$(prop venus-modbusd ActiveState)" = active ] && break
  sleep 0.1
done
[ "$new_pid" != "$old_pid" ] && [ "$new_pid" != 0 ] || fail "the frozen daemon (pid $old_pid) was not replaced within 60 s"
[ "$(prop venus-modbusd NRestarts)" = 1 ] || fail "NRestarts is $(prop venus-modbusd NRestarts), expected 1"
grep -q 'Watchdog timeout' <<< "$(c journalctl --no-pager -u venus-modbusd)" || fail "no 'Watchdog timeout' in the journal"
wait_journal venus-modbusd 'listening on 127\.0\.0\.1:[0-9]+' 2
port=$(c journalctl --no-pager -o cat -u venus-modbusd | grep -oE 'listening on 127\.0\.0\.1:[0-9]+' | tail -n 1 | sed 's/.*://')
[ "$(read_reg 246 33)" = 3 ] || fail "the restarted daemon does not serve"
echo "the watchdog killed the frozen daemon and systemd restarted it: $((SECONDS - start)) s"
[ "$(daemon_warnings | wc -l)" = "$errors_before" ] || fail "the daemon logged: $(daemon_warnings | tail -n +$((errors_before + 1)))"

# --- stop: exit status 0
c systemctl stop venus-modbusd
[ "$(prop venus-modbusd ActiveState)" = inactive ] || fail "not inactive after systemctl stop: $(prop venus-modbusd ActiveState)"
[ "$(prop venus-modbusd ExecMainStatus)" = 0 ] || fail "exit status $(prop venus-modbusd ExecMainStatus) on systemctl stop"
[ "$(prop venus-modbusd Result)" = success ] || fail "result '$(prop venus-modbusd Result)' on systemctl stop"
[ "$(daemon_warnings | wc -l)" = "$errors_before" ] || fail "the daemon logged: $(daemon_warnings | tail -n +$((errors_before + 1)))"

# The unit's journal at warning and above: only what the refused reloads and the watchdog kill bring.
unexpected=$(c journalctl -q --no-pager -o cat -u venus-modbusd -p warning |
             grep -vE "Control process exited, code=exited, status=2|Reload failed for" |
             grep -vE "Watchdog timeout|Killing process $old_pid|Main process exited, code=(dumped|killed)|Failed with result 'watchdog'" || true)
[ -z "$unexpected" ] || fail "the journal of the unit has these warnings or errors: $unexpected"
echo "the package passes start, read, write, reload, watchdog restart and stop under systemd ($((SECONDS - start)) s)"
