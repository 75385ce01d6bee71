#!/usr/bin/env bash
# debian/control's Build-Depends name every -dev package that scripts/setup installs
# (catch2 and the test tools are not needed to build the package: it builds no tests; dpkg-dev
# is the packaging tool itself). A -dev package that only tests need goes in test_only below.
# And the demo's part of the list (scripts/setup --demo) has every Build-Depends but the Debian
# packaging tools: what builds the package builds the demo.
#   build-depends-match-setup.sh SOURCE_DIR
set -euo pipefail
src=$1
# Only for the tests, which the package does not build: the fuzzing runtime of clang.
test_only='^(dpkg-dev|libfuzzer-[0-9]+-dev|libclang-rt-[0-9]+-dev)$'
packages=$("$src/scripts/setup" --print-packages)
[ "$(echo "$packages" | wc -l)" -ge 10 ] || { echo "FAIL: scripts/setup --print-packages printed too few packages:" $packages >&2; exit 1; }
setup_devs=$(echo "$packages" | grep -E -- '-dev$' | grep -vE "$test_only" | sort -u)
build_deps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" | sed 's/^Build-Depends://' |
             tr ',' '\n' | sed 's/[[:space:]]//g; s/[(<].*//' | grep -v '^$' | sort -u)
missing=$(comm -23 <(echo "$setup_devs") <(echo "$build_deps"))
if [ -n "$missing" ]; then
  echo "FAIL: scripts/setup installs these, debian/control does not build-depend on them:" $missing >&2
  exit 1
fi
demo=$("$src/scripts/setup" --demo --print-packages | sort -u)
not_in_demo=$(comm -23 <(echo "$build_deps" | grep -vE '^(debhelper-compat|dh-sequence-.*)$|:') <(echo "$demo"))
if [ -n "$not_in_demo" ]; then
  echo "FAIL: debian/control build-depends on these, scripts/setup --demo does not install them:" $not_in_demo >&2
  exit 1
fi
echo "debian/control build-depends on all $(echo "$setup_devs" | wc -l) -dev packages of scripts/setup," \
     "and scripts/setup --demo installs all it build-depends on"
