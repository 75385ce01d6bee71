#pragma once

#include "modbus/WriteSink.h"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <map>
#include <memory>

namespace vmd::dbus {

/// Sends writes as BusItem SetValue calls with a timeout; the result arrives asynchronously.
class Writer : public modbus::WriteSink {
  public:
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
