# CMake toolchain file: cross-compiles for Debian's armhf (arm-linux-gnueabihf) on a Debian 12 machine whose
# multiarch set-up has crossbuild-essential-armhf and the armhf -dev packages (scripts/gx-bundle
# makes such a root). Use: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-armhf.cmake ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
# Libraries and CMake packages come from the multiarch directories /usr/lib/arm-linux-gnueabihf; the compiler
# tells CMake that directory (CMAKE_LIBRARY_ARCHITECTURE). Programs run on the build machine.
set(PKG_CONFIG_EXECUTABLE /usr/bin/arm-linux-gnueabihf-pkg-config CACHE FILEPATH "pkg-config for armhf")
# GCC notes that the ABI for passing some types changed in GCC 7.1 (-Wpsabi): only a note, and
# every library of the bundle is built by the same compiler.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
