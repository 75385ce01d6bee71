#!/usr/bin/env bash
# The Debian package builds with `dpkg-buildpackage -b -us -uc` from a copy of the source tree in
# /tmp (the work tree is left as it is), lintian finds no error in it, and the .deb holds every
# file a service install needs, with the config as a conffile and the system user created.
#   package-builds-lintian-clean.sh SOURCE_DIR [OUT_DIR]
# With OUT_DIR the .deb is copied there (the debootstrap test installs it).
set -euo pipefail
. "$(dirname "$0")/../skip.sh"
src=$(cd "$1" && pwd)
out=${2:-}
for tool in dpkg-buildpackage dh lintian dpkg-deb; do
  command -v $tool > /dev/null || skip "$tool is missing (apt-get install dpkg-dev debhelper lintian)"
done
fail() { echo "FAIL: $*" >&2; exit 1; }

work=$(mktemp -d /tmp/vmd-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/venus-modbusd"
# The sources without build trees, VCS data or debhelper leftovers.
tar -C "$src" --exclude=./.git --exclude=./build --exclude='./build-*' --exclude='./obj-*' \
    --exclude=./debian/.debhelper --exclude=./debian/venus-modbusd --exclude=./debian/tmp \
    --exclude=./debian/files --exclude='./debian/*.substvars' --exclude=./debian/debhelper-build-stamp \
    -cf - . | tar -C "$work/venus-modbusd" -xf -

# nocheck: the package build runs no tests (debian/rules says why). noopt and noddebs: this
# checks the packaging, not the optimised code, and -O0 without a debug-symbol package builds
# in half the time; a real build leaves DEB_BUILD_OPTIONS unset.
start=$SECONDS
(cd "$work/venus-modbusd" &&
 DEB_BUILD_OPTIONS="nocheck noopt noddebs parallel=$(nproc)" dpkg-buildpackage -b -us -uc > "$work/build.log" 2>&1) ||
  { tail -n 60 "$work/build.log" >&2; fail "dpkg-buildpackage failed (last lines above)"; }
echo "dpkg-buildpackage: $((SECONDS - start)) s"
deb=$(ls "$work"/venus-modbusd_*.deb)
changes=$(ls "$work"/venus-modbusd_*.changes)

# lintian: no error; warnings and the rest are printed for the record.
lintian --tag-display-limit 0 --display-info "$changes" > "$work/lintian.log" 2>&1 || true
cat "$work/lintian.log"
echo "lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors, $(grep -c '^W:' "$work/lintian.log" || true) warnings," \
     "$(grep -c '^I:' "$work/lintian.log" || true) info"
if grep -q '^E:' "$work/lintian.log"; then fail "lintian reports errors"; fi

# The files, where the FHS and Debian 12 put them.
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's#^\./#/#' > "$work/files"
status=0
for path in \
    /usr/sbin/venus-modbusd \
    /usr/bin/venus-sim \
    /usr/share/venus-modbusd/victron.yaml \
    /usr/share/venus-modbusd/scenarios/ess-site.yaml \
    /etc/venus-modbusd/venus-modbusd.yaml \
    /lib/systemd/system/venus-modbusd.service \
    /usr/share/dbus-1/system.d/venus-modbusd.conf \
    /usr/lib/sysusers.d/venus-modbusd.conf \
    /usr/share/man/man8/venus-modbusd.8.gz \
    /usr/share/man/man1/venus-sim.1.gz \
    /usr/share/doc/venus-modbusd/README.md \
    /usr/share/doc/venus-modbusd/docs/architecture.md \
    /usr/share/doc/venus-modbusd/docs/deploy.md \
    /usr/share/doc/venus-modbusd/docs/registers.md \
    /usr/share/doc/venus-modbusd/docs/registers.csv \
    /usr/share/doc/venus-modbusd/docs/registers.xlsx \
    /usr/share/venus-modbusd/sources/paths.yaml \
    /usr/share/venus-modbusd/sources/unit-ids.yaml \
    /usr/share/doc/venus-modbusd/copyright \
    /usr/share/doc/venus-modbusd/changelog.gz; do
  grep -qxF "$path" "$work/files" || { echo "FAIL: $path is not in the package" >&2; status=1; }
done
# Tools that exist in this tree are packaged too.
for tool in venus-regmap venus-bench; do
  if [ -x "$work/venus-modbusd/obj-$(dpkg-architecture -qDEB_HOST_GNU_TYPE)/$tool" ]; then
    grep -qxF "/usr/bin/$tool" "$work/files" || { echo "FAIL: /usr/bin/$tool is not in the package" >&2; status=1; }
  fi
done

mkdir "$work/control"
dpkg-deb -e "$deb" "$work/control"
grep -qxF /etc/venus-modbusd/venus-modbusd.yaml "$work/control/conffiles" ||
  { echo "FAIL: the config is not a conffile" >&2; status=1; }
grep -q 'systemd-sysusers' "$work/control/postinst" ||
  { echo "FAIL: postinst does not create the system user" >&2; status=1; }
# dh_installsystemd --no-enable --no-start: the unit is registered, enabled again only if it had
# been enabled before, and restarted on upgrade only if it runs (try-restart).
grep -qE "deb-systemd-helper debian-installed '?venus-modbusd\.service" "$work/control/postinst" ||
  { echo "FAIL: postinst does not register the unit as installed-but-disabled" >&2; status=1; }
if grep -qE 'deb-systemd-invoke (start|restart) ' "$work/control/postinst"; then
  echo "FAIL: postinst starts the unit (it is installed stopped)" >&2; status=1
fi
if [ -n "$out" ]; then mkdir -p "$out" && rm -f "$out"/venus-modbusd_*.deb && cp "$deb" "$out/"; fi
[ $status -eq 0 ] && echo "$(basename "$deb"): builds, lintian has no error, holds every file ($(wc -l < "$work/files") entries)"
exit $status
