#pragma once

#include <cstddef>

namespace vmd::dbus {

/// Reads the daemon's bus socket ahead, for sd-bus: sd-bus reads every incoming message with two
/// recvmsg calls of exactly the bytes it needs (the fixed header, then the rest), so a burst of
/// 100 signals costs 200 system calls; with read-ahead, recvmsg on the bus socket is served from a
/// 64 KiB buffer that one recvmsg fills (docs/benchmarks.md, "Mirroring a busy bus").
///
/// How: the program defines recvmsg itself, as it defines sd_bus_start (BusItem.cpp): libsystemd's
/// calls land here, those on the read-ahead socket are served from the buffer, all others pass on
/// to libc's unchanged. The bytes are the same and in the same order; what a buffered recvmsg cannot
/// carry is ancillary data, so the connections openBus() makes do not negotiate passing file
/// descriptors (the BusItem protocol has none; the bus daemon then never sends one), and any that came
/// anyway would be closed, never handed on.
void readAheadOn(int fd);
/// Stops reading ahead (the buffer must be empty: call when the connection is gone).
void readAheadOff();
/// Bytes read from the socket that sd-bus has not taken yet: while there are some, the event loop
/// must call sd-bus again without waiting for the socket (which may be empty).
[[nodiscard]] std::size_t readAheadPending();

} // namespace vmd::dbus
