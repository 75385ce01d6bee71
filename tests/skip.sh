# Sourced by the test scripts: `skip MESSAGE` for a test that cannot run on this machine (a missing
# tool, no root, no ../shared/reference). It exits 77, which CTest shows as "Skipped", except when
# CI=true: there a test that cannot run is a failure (exit 1), so that CI never passes by skipping.
skip() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $* (CI=true: a test that cannot run fails instead of skipping)" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
