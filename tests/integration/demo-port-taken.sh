#!/usr/bin/env bash
# README "Try it": scripts/demo checks its port before it installs or builds anything. With
# 127.0.0.1:PORT taken (a listener of this test, on a free port), `VMD_DEMO_PORT=PORT scripts/demo`
# exits 1 at once, says the port is in use and how to pick another (VMD_DEMO_PORT=...), and has not
# started the set-up; a VMD_DEMO_PORT that is not a number exits 2.
#   demo-port-taken.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/vmd-demo-port.XXXXXX)
listener=""
cleanup() { [ -n "$listener" ] && kill "$listener" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(120)
' > "$work/port" &
listener=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
[ -n "$port" ] || fail "the test's listener did not start"

status=0
out=$(cd "$work" && VMD_DEMO_PORT=$port timeout 60 "$src/scripts/demo" 2>&1) || status=$?
[ $status -eq 1 ] || fail "scripts/demo with 127.0.0.1:$port taken exited $status, expected 1: $out"
grep -qF "127.0.0.1:$port is already in use" <<<"$out" || fail "scripts/demo does not say the port is in use: $out"
grep -qE 'VMD_DEMO_PORT=[0-9]+ \./scripts/demo' <<<"$out" || fail "scripts/demo does not say how to pick another port: $out"
grep -q '^setup:' <<<"$out" && fail "scripts/demo started the set-up before finding the port taken: $out"

status=0
out=$(VMD_DEMO_PORT=fifty timeout 60 "$src/scripts/demo" 2>&1) || status=$?
[ $status -eq 2 ] && grep -qF "must be a port number" <<<"$out" || fail "VMD_DEMO_PORT=fifty: exit $status: $out"
grep -qF 'VMD_DEMO_PORT' "$src/README.md" || fail "the README does not say how to pick the demo's port"
echo "scripts/demo refuses a taken port before setting anything up, and says how to pick another"
