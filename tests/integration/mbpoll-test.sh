#!/usr/bin/env bash
# mbpoll, an independent Modbus client, against the simulated site (run through with-site.sh).
set -euo pipefail
# mbpoll leaves without flushing a redirected stdout in its one-shot mode (-1): unbuffer it.
poll() { stdbuf -o0 mbpoll -m tcp -p "$VMD_PORT" -0 -1 -o 3 "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Read /Mode of the Multi at unit 246 (register 33): the simulator publishes 3 (On).
out=$(poll -a 246 -r 33 -c 1 "$VMD_HOST")
echo "$out" | grep -qE '^\[33\]:[[:space:]]+3$' || fail "unit 246 register 33: $out"

# Read the system serial at unit 100 (800..805): the scenario's "c0619ab2f1e4", two characters a
# register, high byte first; and the Hub4Mode setting (2902): the scenario's 1.
out=$(poll -a 100 -r 800 -c 6 -t 4:hex "$VMD_HOST")
words=$(echo "$out" | sed -n 's/^\[80[0-5]\]:[[:space:]]*//p' | tr '\n' ' ')
[ "$words" = "0x6330 0x3631 0x3961 0x6232 0x6631 0x6534 " ] || fail "unit 100 registers 800..805 (serial c0619ab2f1e4): $out"
out=$(poll -a 100 -r 2902 -c 1 "$VMD_HOST")
echo "$out" | grep -qE '^\[2902\]:[[:space:]]+1$' || fail "unit 100 register 2902 (Hub4Mode 1): $out"

# Write the ESS set point (2700) and read it back.
poll -a 100 -r 2700 "$VMD_HOST" 300 > /dev/null || fail "write 2700"
for _ in $(seq 1 50); do
  out=$(poll -a 100 -r 2700 -c 1 "$VMD_HOST")
  echo "$out" | grep -qE '^\[2700\]:[[:space:]]+300$' && break
  sleep 0.1
done
echo "$out" | grep -qE '^\[2700\]:[[:space:]]+300$' || fail "read back 2700: $out"

# An absent unit and an unmapped address are answered with exceptions, which mbpoll reports.
out=$(poll -a 17 -r 800 -c 1 "$VMD_HOST" 2>&1) && fail "unit 17 answered: $out"
echo "$out" | grep -qi 'gateway path' || fail "unit 17 did not give exception 10: $out"
out=$(poll -a 100 -r 1000 -c 1 "$VMD_HOST" 2>&1) && fail "register 1000 answered: $out"
echo "$out" | grep -qi 'illegal data address' || fail "register 1000 did not give exception 2: $out"
echo "mbpoll: 6 checks passed"
