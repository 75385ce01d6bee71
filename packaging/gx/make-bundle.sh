#!/usr/bin/env bash
# Makes the self-contained tree that runs venus-modbusd on a Venus OS (GX) device:
#
#   packaging/gx/make-bundle.sh BUILD_DIR OUT_DIR        ->  OUT_DIR/venus-modbusd/
#
#   bin/venus-modbusd   the daemon, pointed at lib/ (its loader and library path are patched)
#   lib/                every shared library it needs, from the build machine, with the loader
#   victron.yaml        the register map
#   service/            the daemontools service directory (run, log/run)
#
# Venus OS lacks several of the libraries (sdbus-c++, yaml-cpp, spdlog) and has other versions of
# the rest, so the binary takes all of them, and the C library, from lib/. Copy OUT_DIR/venus-modbusd
# to PREFIX on the device (docs/deploy.md).
# Environment: TRIPLET (default arm-linux-gnueabihf: the Debian multiarch directory the libraries
# come from), PREFIX (default /data/venus-modbusd: where the tree will live on the device).
# Needs patchelf and binutils (readelf; the TRIPLET-strip of the cross toolchain, if present).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: make-bundle.sh BUILD_DIR OUT_DIR}" && pwd)
out=${2:?usage: make-bundle.sh BUILD_DIR OUT_DIR}
triplet=${TRIPLET:-arm-linux-gnueabihf}
prefix=${PREFIX:-/data/venus-modbusd}
for tool in patchelf readelf; do
  command -v $tool > /dev/null || { echo "make-bundle.sh: $tool is missing (apt-get install patchelf binutils)" >&2; exit 1; }
done
libdirs=("/usr/lib/$triplet" "/lib/$triplet")

bundle=$out/venus-modbusd
rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib"
cp "$build/venus-modbusd" "$bundle/bin/"
cp "$src/register-maps/victron.yaml" "$bundle/"
cp -R "$here/service" "$bundle/service"
chmod 755 "$bundle/service/run" "$bundle/service/log/run"

find_lib() {
  local dir
  for dir in "${libdirs[@]}"; do
    [ -e "$dir/$1" ] && { echo "$dir/$1"; return 0; }
  done
  echo "make-bundle.sh: $1 not found in ${libdirs[*]}" >&2
  return 1
}
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# The loader the binary asks for, then every NEEDED library, transitively.
interp=$(readelf -l "$bundle/bin/venus-modbusd" | sed -n 's/.*program interpreter: \(.*\)\]/\1/p')
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
# DT_RPATH rather than RUNPATH: it applies to the libraries' own dependencies too.
patchelf --set-interpreter "$prefix/lib/$loader" --force-rpath --set-rpath "$prefix/lib" "$bundle/bin/venus-modbusd"
chmod 755 "$bundle/lib/$loader"
echo "$bundle: $(ls "$bundle/lib" | wc -l) libraries, $(du -sh "$bundle" | cut -f1); install it as $prefix"
