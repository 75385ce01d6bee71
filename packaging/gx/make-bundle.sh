#!/usr/bin/env bash
# Makes the self-contained tree that runs venus-modbusd on a Venus OS (GX) device:
#
#   packaging/gx/make-bundle.sh BUILD_DIR OUT_DIR ARCH VERSION    ->  OUT_DIR/venus-modbusd/
#
#   venus-modbusd       the wrapper to run: the bundled loader runs bin/venus-modbusd with lib/
#   bin/venus-modbusd   the daemon (ELF for ARCH, unchanged but stripped)
#   lib/                every shared library it needs, the C library and the loader included
#   victron.yaml        the register map
#   service/            the daemontools service directory (run, log/run)
#   setup               the installer (setup install [--replace-stock] | reinstall | uninstall)
#   version, LICENSE    the version (vVERSION) and the licence
#
# Venus OS lacks several of the libraries (sdbus-c++, yaml-cpp, spdlog) and has other versions of
# the rest, so the daemon takes all of them from lib/, through the loader in lib/: the device's C
# library does not matter. The tree works wherever it is put (/data/venus-modbusd on a device).
# scripts/gx-bundle calls this in its cross-build root, and packs the result.
# Environment: TRIPLET (default arm-linux-gnueabihf: the Debian multiarch directory the libraries
# come from). Needs readelf (TRIPLET-readelf of the cross binutils, or binutils' own).
set -euo pipefail
usage="usage: make-bundle.sh BUILD_DIR OUT_DIR ARCH VERSION"
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:?$usage}" && pwd)
out=${2:?$usage}
arch=${3:?$usage}
version=${4:?$usage}
triplet=${TRIPLET:-arm-linux-gnueabihf}
readelf=readelf
command -v "$triplet-readelf" > /dev/null && readelf=$triplet-readelf
command -v "$readelf" > /dev/null || { echo "make-bundle.sh: readelf is missing (apt-get install binutils)" >&2; exit 1; }
libdirs=("/usr/lib/$triplet" "/lib/$triplet")

bundle=$out/venus-modbusd
rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib"
cp "$build/venus-modbusd" "$bundle/bin/"
cp "$src/register-maps/victron.yaml" "$src/LICENSE" "$here/setup" "$bundle/"
cp -R "$here/service" "$bundle/service"
echo "v$version" > "$bundle/version"

find_lib() {
  local dir
  for dir in "${libdirs[@]}"; do
    [ -e "$dir/$1" ] && { echo "$dir/$1"; return 0; }
  done
  echo "make-bundle.sh: $1 not found in ${libdirs[*]}" >&2
  return 1
}
needed() { "$readelf" -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# The loader the binary asks for, then every NEEDED library, transitively.
interp=$("$readelf" -l "$bundle/bin/venus-modbusd" | sed -n 's/.*program interpreter: \(.*\)\]/\1/p')
[ -n "$interp" ] || { echo "make-bundle.sh: $build/venus-modbusd has no program interpreter" >&2; exit 1; }
loader=$(basename "$interp")
cp -L "$(find_lib "$loader")" "$bundle/lib/$loader"
queue=($(needed "$bundle/bin/venus-modbusd"))
while [ ${#queue[@]} -gt 0 ]; do
  lib=${queue[0]}; queue=("${queue[@]:1}")
  [ -e "$bundle/lib/$lib" ] && continue
  cp -L "$(find_lib "$lib")" "$bundle/lib/$lib"
  queue+=($(needed "$bundle/lib/$lib"))
done
if command -v "$triplet-strip" > /dev/null; then
  "$triplet-strip" --strip-unneeded "$bundle/bin/venus-modbusd" "$bundle"/lib/*
fi

# The wrapper. VMD_GX_EMULATOR (unset on a device) names a user-mode emulator such as qemu-arm,
# so that the same wrapper runs the bundle on another architecture (tests/field/gx-bundle-test.sh).
cat > "$bundle/venus-modbusd" << EOF
#!/bin/sh
# Runs the bundled venus-modbusd ($arch, v$version) with the bundled loader and libraries only.
here=\$(cd "\$(dirname "\$0")" && pwd -P)
exec \${VMD_GX_EMULATOR:-} "\$here/lib/$loader" --library-path "\$here/lib" "\$here/bin/venus-modbusd" "\$@"
EOF
chmod 755 "$bundle/venus-modbusd" "$bundle/setup" "$bundle/service/run" "$bundle/service/log/run" "$bundle/lib/$loader"
chmod 644 "$bundle/victron.yaml" "$bundle/LICENSE" "$bundle/version"
echo "$bundle: venus-modbusd $version for $arch, $(ls "$bundle/lib" | wc -l) libraries, $(du -sh "$bundle" | cut -f1)"
