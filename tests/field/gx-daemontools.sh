#!/bin/sh
# Runs INSIDE a GX-like root (tests/field/gx-bundle-test.sh chroots into it, in namespaces of its
# own: mounts, network, PIDs, so that ports 502 and 5020 are private and every process ends with
# it). The bundle is unpacked in /data/venus-modbusd, the system bus (the simulated site, with
# /Settings/Services/Modbus) is at its default address, and daemontools' svscan watches /service,
# as on a Venus OS device. VMD_GX_EMULATOR names qemu-arm or qemu-aarch64.
# Prints "ok: ..." or "FAIL: ..." per check.
ok() { echo "ok: daemontools: $*"; }
fail() { echo "FAIL: daemontools: $*"; }

# Waits until the service's log (multilog) has a line matching $1; 60 s (start-up under emulation).
wait_log() {
  i=0
  while [ $i -lt 600 ]; do
    grep -q "$1" /var/log/venus-modbusd/current 2> /dev/null && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}
mode() { mbpoll -m tcp -p "$1" -a 246 -r 33 -c 1 -0 -1 -t 4 127.0.0.1 2>&1 | grep -E '^\[33\]:' | tr -d '[:space:]'; }
stock() {
  dbus-send --system --print-reply=literal --dest=com.victronenergy.settings /Settings/Services/Modbus \
    com.victronenergy.BusItem.GetValue | awk '{print $NF}'
}

svscan /service > /tmp/svscan.log 2>&1 &

/data/venus-modbusd/setup install > /tmp/setup.log 2>&1 || fail "setup install: $(cat /tmp/setup.log)"
if wait_log 'listening on \[::\]:5020'; then
  ok "setup install: svscan started it, its log (multilog) says listening on [::]:5020"
  [ "$(mode 5020)" = "[33]:3" ] && ok "mbpoll reads unit 246 register 33 = 3 on port 5020" ||
    fail "mbpoll on port 5020: $(mode 5020)"
else
  fail "no 'listening on [::]:5020' in /var/log/venus-modbusd/current: $(tail -n 5 /var/log/venus-modbusd/current 2>&1)"
fi
svok /data/venus-modbusd/service && ok "svok: it is supervised" || fail "svok: not supervised"

/data/venus-modbusd/setup install --replace-stock > /tmp/setup.log 2>&1 || fail "setup install --replace-stock: $(cat /tmp/setup.log)"
grep -q 'restarted the running service' /tmp/setup.log && ok "--replace-stock restarts the running service (svc -t)" ||
  fail "--replace-stock did not restart it: $(cat /tmp/setup.log)"
if wait_log 'listening on \[::\]:502\([^0-9]\|$\)'; then
  ok "after --replace-stock it listens on [::]:502, setting $(stock)"
  [ "$(mode 502)" = "[33]:3" ] && ok "mbpoll reads unit 246 register 33 = 3 on port 502" || fail "mbpoll on port 502: $(mode 502)"
else
  fail "no 'listening on [::]:502' after --replace-stock: $(tail -n 5 /var/log/venus-modbusd/current 2>&1)"
fi

/data/venus-modbusd/setup uninstall > /tmp/setup.log 2>&1 || fail "setup uninstall: $(cat /tmp/setup.log)"
grep -q 'stopped the service and its logger' /tmp/setup.log && ok "uninstall stops the service and its logger (svc -dx)" ||
  fail "uninstall did not stop it: $(cat /tmp/setup.log)"
i=0
while [ $i -lt 300 ] && svok /data/venus-modbusd/service 2> /dev/null; do sleep 0.1; i=$((i + 1)); done
svok /data/venus-modbusd/service 2> /dev/null && fail "still supervised after uninstall" || ok "not supervised after uninstall"
i=0
while [ $i -lt 300 ] && [ -n "$(mode 502)" ]; do sleep 0.1; i=$((i + 1)); done
[ -z "$(mode 502)" ] && ok "nothing serves port 502 after uninstall" || fail "port 502 still answers after uninstall"
[ "$(stock)" = 1 ] && ok "the stock server's setting is back to 1" || fail "setting after uninstall: $(stock)"
