#pragma once

#include "modbus/RequestHandler.h"

#include <chrono>
#include <map>
#include <optional>
#include <vector>

namespace vmd::modbus {

/// The fail-safe of registers that declare `failsafe: {after, value}`: once a client has written
/// such a register, the server writes `value` itself when no client wrote it again for `after`
/// seconds. It then stays quiet until the next client write. Pure: time is a parameter.
class Failsafe {
  public:
    using Clock = std::chrono::steady_clock;

    /// A client write D-Bus accepted. Arms (or re-arms) the fail-safe of its path.
    void clientWrote(const WriteOp& op, Clock::time_point now);
    /// The fail-safe writes that are due; they are disarmed until the next client write.
    [[nodiscard]] std::vector<WriteOp> due(Clock::time_point now);
    /// After a reload: armed fail-safes follow their register into the new map, or are dropped
    /// when it no longer has one.
    void rebind(const regmap::RegisterMap& map, std::shared_ptr<const void> keepAlive);
    /// When the next fail-safe is due, if any is armed.
    [[nodiscard]] std::optional<Clock::time_point> nextDeadline() const;

  private:
    struct Armed {
        WriteOp op; ///< the fail-safe write itself
        Clock::time_point deadline;
    };
    std::map<std::pair<std::string, std::string>, Armed> armed_; ///< by (service, path)
};

/// The write that puts `value` (D-Bus units) into `reg`'s path as its D-Bus type.
[[nodiscard]] codec::TypedValue typedValue(const regmap::Register& reg, double value);

} // namespace vmd::modbus
