#!/usr/bin/env bash
# Runs a command against a simulated GX site: a private dbus-daemon, venus-sim with a scenario,
# and venus-modbusd on a free port of 127.0.0.1. Everything is stopped by PID afterwards.
# The daemon gets an explicit empty --config, the source tree's --map and the scratch directory as
# --state-dir (before any --server-arg, which may override them), so an installed
# /etc/venus-modbusd/venus-modbusd.yaml, an installed map or the output slots an installed daemon
# kept never change what a test runs against.
#
#   with-site.sh BUILD_DIR [--scenario FILE] [--server-arg ARG]... -- COMMAND [ARGS...]
#
# The command sees VMD_BUS (D-Bus address), VMD_HOST, VMD_PORT, VMD_BUILD, VMD_SERVER_LOG,
# VMD_SIM_LOG and VMD_WORK (a scratch directory removed afterwards).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd); shift
scenario="$here/../../tools/venus-sim/scenarios/ess-site.yaml"
server_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) scenario=$2; shift 2 ;;
    --server-arg) server_args+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "with-site.sh: unexpected '$1'" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d /tmp/vmd-site.XXXXXX)
pids=()
declare -A named_pids=()
cleanup() {
  local rc=$?
  # Stop the server and the simulator first and check that they end cleanly (exit 0 on SIGTERM):
  # under the sanitizers a leak or an error shows up here.
  local name pid status
  for name in server sim; do
    pid=${named_pids[$name]:-}
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    status=0; wait "$pid" 2>/dev/null || status=$?
    if [ $status -ne 0 ] && [ $rc -eq 0 ]; then
      echo "with-site.sh: the $name exited with status $status when stopped" >&2
      rc=1
    fi
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    echo "--- server log (last 40 lines)" >&2; tail -n 40 "$work/server.log" >&2 || true
    echo "--- simulator log (last 20 lines)" >&2; tail -n 20 "$work/sim.log" >&2 || true
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM

# Waits until FILE has a line matching PATTERN (a probe, not a fixed sleep); fails after 20 s.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3
  for _ in $(seq 1 400); do
    grep -qE "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "with-site.sh: process $pid exited while waiting for '$pattern' in $file" >&2; return 1; }
    sleep 0.05
  done
  echo "with-site.sh: timed out waiting for '$pattern' in $file" >&2
  return 1
}

dbus-daemon --config-file="$here/bus.conf" --nofork --print-address=1 > "$work/bus.address" 2> "$work/bus.log" &
pids+=($!)
wait_for_line "$work/bus.address" '^unix:' "${pids[-1]}"
bus=$(head -n 1 "$work/bus.address")

"$build/venus-sim" --bus "$bus" --scenario "$scenario" > "$work/sim.log" 2>&1 &
named_pids[sim]=$!
wait_for_line "$work/sim.log" 'services ready' "${named_pids[sim]}"

: > "$work/empty-config.yaml"
"$build/venus-modbusd" --config "$work/empty-config.yaml" --map "$here/../../register-maps/victron.yaml" \
  --bus "$bus" --listen 127.0.0.1:0 --log-level debug --state-dir "$work" "${server_args[@]}" 2> "$work/server.log" &
server_pid=$!
named_pids[server]=$server_pid
wait_for_line "$work/server.log" 'listening on 127\.0\.0\.1:[0-9]+' "$server_pid"
port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/server.log" | head -n 1 | sed 's/.*://')

export VMD_BUS=$bus VMD_HOST=127.0.0.1 VMD_PORT=$port VMD_BUILD=$build VMD_SERVER_PID=$server_pid
export VMD_SERVER_LOG=$work/server.log VMD_SIM_LOG=$work/sim.log VMD_WORK=$work VMD_SOURCE=$here/../..
"$@"
