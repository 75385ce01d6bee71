#pragma once

#include "modbus/WriteSink.h"

#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

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

  private:
    sdbus::IConnection& connection_;
    std::chrono::milliseconds timeout_;
    std::map<std::pair<std::string, std::string>, std::unique_ptr<sdbus::IProxy>> proxies_;
};

} // namespace vmd::dbus
