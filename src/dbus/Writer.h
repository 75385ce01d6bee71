#pragma once

#include "modbus/WriteSink.h"

#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <vector>

namespace vmd::dbus {

/// Sends writes as BusItem SetValue calls; the result arrives asynchronously. The call's own timeout
/// is D-Bus's limit, not the client's: a client's request gets exception 11 after --write-timeout
/// (the server's timer), while the SetValue stays pending until it is answered or this limit passes,
/// so that a write that lands late is still known (docs/architecture.md, "The life of a write").
class Writer : public modbus::WriteSink {
  public:
    /// sd-bus's and the GX server's own default for a method call.
    static constexpr std::chrono::milliseconds kCallLimit{25000};
    /// The call limit for a write timeout: D-Bus's default, or longer than a longer write timeout.
    static std::chrono::milliseconds callLimitFor(std::chrono::milliseconds writeTimeout) {
        return std::max(kCallLimit, writeTimeout + std::chrono::milliseconds(1000));
    }

    Writer(sdbus::IConnection& connection, std::chrono::milliseconds timeout)
        : connection_(connection), timeout_(timeout) {}

    void write(const modbus::WriteOp& op, std::function<void(modbus::WriteResult, int)> done) override;
    void setTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
    /// Proxies alive: one per SetValue in flight, and those of calls answered since the last write.
    [[nodiscard]] std::size_t proxiesHeld() const { return inFlight_.size() + answered_.size(); }

  private:
    sdbus::IConnection& connection_;
    std::chrono::milliseconds timeout_;
    // A proxy lives as long as its call: nothing is kept for services that have left. One whose call
    // was answered is released at the next write (not inside its own reply handler).
    std::map<std::uint64_t, std::unique_ptr<sdbus::IProxy>> inFlight_;
    std::vector<std::unique_ptr<sdbus::IProxy>> answered_;
    std::uint64_t nextCall_ = 1;
};

} // namespace vmd::dbus
