#!/usr/bin/env bash
# The daemon makes only system calls that the unit's SystemCallFilter= allows, so the filter cannot
# kill it in service. The daemon runs under strace against a simulated site (private dbus-daemon,
# venus-sim): start-up, loading the services, a read, a write, and the stop on SIGTERM. Every
# system call it made must be in the filter, as systemd-analyze expands the unit's groups.
#   syscalls-within-unit-filter.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
src=$1 build=$2
for tool in strace systemd-analyze dbus-daemon mbpoll python3; do
  command -v $tool > /dev/null || skip "$tool is missing"
done
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/vmd-syscalls.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ $rc -eq 0 ] || { echo "--- server log" >&2; tail -n 20 "$work/server.log" >&2 || true; }
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM
wait_for_line() {
  for _ in $(seq 1 400); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || fail "process $3 exited while waiting for '$2' in $1"
    sleep 0.05
  done
  fail "timed out waiting for '$2' in $1"
}

dbus-daemon --config-file="$src/tests/integration/bus.conf" --nofork --print-address=1 > "$work/bus.address" 2> /dev/null &
pids+=($!)
wait_for_line "$work/bus.address" '^unix:' "${pids[-1]}"
bus=$(head -n 1 "$work/bus.address")
"$build/venus-sim" --bus "$bus" --scenario "$src/tools/venus-sim/scenarios/ess-site.yaml" > "$work/sim.log" 2>&1 &
pids+=($!)
wait_for_line "$work/sim.log" 'services ready' "${pids[-1]}"

strace -f -qq -o "$work/trace" "$build/venus-modbusd" --config /dev/null --map "$src/register-maps/victron.yaml" \
  --bus "$bus" --listen 127.0.0.1:0 --log-level debug \
  2> "$work/server.log" &
tracer=$!
pids+=($tracer)
wait_for_line "$work/server.log" 'listening on 127\.0\.0\.1:[0-9]+' "$tracer"
port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/server.log" | head -n 1 | sed 's/.*://')
daemon=$(pgrep -P "$tracer" | head -n 1)   # the traced daemon is strace's child
[ -n "$daemon" ] || fail "no daemon process under strace"
poll() { stdbuf -o0 mbpoll -m tcp -p "$port" -0 -1 -o 3 "$@"; }
poll -a 246 -r 33 -c 1 127.0.0.1 > /dev/null || fail "read through the daemon"
poll -a 100 -r 2700 127.0.0.1 123 > /dev/null || fail "write through the daemon"
kill -TERM "$daemon"
wait "$tracer" || true

python3 - "$src/packaging/venus-modbusd.service" "$work/trace" <<'PY'
import re, subprocess, sys
unit, trace = sys.argv[1], sys.argv[2]

def expand(name, seen):
    """The system calls of a name: a group (@...) expanded by systemd-analyze, or itself."""
    if not name.startswith("@"):
        return {name}
    if name in seen:
        return set()
    seen.add(name)
    lines = subprocess.run(["systemd-analyze", "syscall-filter", name], check=True,
                           capture_output=True, text=True).stdout.splitlines()[1:]
    calls = set()
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            calls |= expand(line, seen)
    return calls

allowed, denied = set(), set()
for line in open(unit):
    m = re.match(r"SystemCallFilter=(~?)(.*)", line.strip())
    if m:
        names = set()
        for n in m.group(2).split():
            names |= expand(n, set())
        (denied if m.group(1) else allowed).update(names)
allowed -= denied
used = set()
for line in open(trace):
    m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
    if m:
        used.add(m.group(1))
used -= {"exit", "exit_group", "execve"}  # the end itself, and the exec that starts the service
bad = sorted(used - allowed)
if bad:
    print("FAIL: the daemon made system calls that the unit's SystemCallFilter= refuses:", " ".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"all {len(used)} system calls the daemon made are allowed by the unit's filter")
PY
