# Shared by scripts/test and scripts/test-all (sourced, not run): how a test tier runs and reports.
# A tier that fails is remembered and the next one still runs; `finish` prints the verdict.
jobs=$(nproc)
failed=()

tier() { # NAME COMMAND...: run a tier, time it, remember a failure
  local name=$1; shift
  echo "=== $name"
  local start=$SECONDS
  if "$@"; then echo "=== $name: passed ($((SECONDS - start)) s)"; else failed+=("$name"); echo "=== $name: FAILED ($((SECONDS - start)) s)"; fi
}

configure() { # DIR ARGS...: configure a build tree quietly, printing the log on failure
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DVMD_WERROR=ON "$@" > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  rm -f "$dir.configure.log"
}

run_ctest() { # DIR CTEST-ARGS...: ctest in DIR; selecting no test is an error, and with CI=true so is a skip
  local dir=$1; shift
  local log status
  log=$(mktemp)
  (cd "$dir" && ctest --no-tests=error --output-on-failure "$@") 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # ctest counts a skipped test (exit 77, a missing fixture) as passed; CI must not.
  if [ "${CI:-}" = true ] && grep -q 'The following tests did not run' "$log"; then
    echo "FAIL: with CI=true a test that did not run is a failure (see 'The following tests did not run' above)"
    status=1
  fi
  rm -f "$log"
  return $status
}

finish() { # NAME-OF-THE-COMMAND: the verdict and exit status
  if [ ${#failed[@]} -gt 0 ]; then
    echo "$1: FAILED tiers: ${failed[*]}"
    exit 1
  fi
  echo "$1: all tiers passed"
}
