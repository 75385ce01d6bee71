# CMake toolchain file: cross-compiles for Debian's arm64 (aarch64-linux-gnu) on a Debian 12 machine whose
# multiarch set-up has crossbuild-essential-arm64 and the arm64 -dev packages (scripts/gx-bundle
# makes such a root). Use: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64.cmake ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Libraries and CMake packages come from the multiarch directories /usr/lib/aarch64-linux-gnu; the compiler
# tells CMake that directory (CMAKE_LIBRARY_ARCHITECTURE). Programs run on the build machine.
set(PKG_CONFIG_EXECUTABLE /usr/bin/aarch64-linux-gnu-pkg-config CACHE FILEPATH "pkg-config for arm64")
