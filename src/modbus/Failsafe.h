#pragma once

#include "modbus/RequestHandler.h"
#include "regmap/RegisterMap.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace vmd::modbus {

/// The fail-safe of registers that declare `failsafe: {after, value}`: once a client has written
/// such a register, the server writes `value` itself when no client wrote it again for `after`
/// seconds. A fail-safe write that fails is retried, with a back-off of 1 s doubling up to 30 s,
/// until it is accepted or a client writes the register again; then it stays quiet until the next
/// client write. The rules are those of the map in force (see setMap). Pure: time is a parameter.
class Failsafe {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr Clock::duration kFirstRetry = std::chrono::seconds(1);
    static constexpr Clock::duration kLongestRetry = std::chrono::seconds(30);

    /// A fail-safe write to send now; hand it back to written() with its result.
    struct Firing {
        WriteOp op;
        unsigned attempt = 0;     ///< 0 the first time, then 1, 2, ... for the retries
        std::uint64_t ticket = 0; ///< identifies this attempt: a result for an older one is ignored
    };

    /// The map whose rules are in force from now on (`keepAlive` owns it). An armed fail-safe
    /// stays armed when its register (same address, service type and path) still has a fail-safe
    /// there, and takes that rule (value, D-Bus type, `after` counted from the last client write);
    /// the others are dropped and returned. Without a map, a write's own register is its rule.
    std::vector<WriteOp> setMap(const regmap::RegisterMap& map, std::shared_ptr<const void> keepAlive);
    /// A client write D-Bus accepted. Arms (or re-arms) the fail-safe of its path by the rule the
    /// map in force has for the register written, whichever map the write was decoded with; ends a
    /// pending retry of that path. A register without a rule there disarms its path.
    void clientWrote(const WriteOp& op, Clock::time_point now);
    /// Paths whose fail-safe must wait (a client write to them is still unanswered).
    using Held = std::function<bool(const std::string& service, const std::string& path)>;

    /// The fail-safe writes that are due, first attempts and retries, but those of held paths. Each
    /// waits for its result (written()) before it can be due again.
    [[nodiscard]] std::vector<Firing> due(Clock::time_point now, const Held& held = {});
    /// The fail-safes that are due but held, with the ticket of their arming.
    [[nodiscard]] std::vector<std::pair<WriteOp, std::uint64_t>> heldBack(Clock::time_point now,
                                                                        const Held& held) const;
    /// The result of a fail-safe write. Accepted: the fail-safe is done until the next client
    /// write. Failed: it is retried after the returned delay; nullopt when it is not retried
    /// because a client wrote the register since, or a reload removed or changed its rule.
    std::optional<Clock::duration> written(const Firing& firing, bool accepted, Clock::time_point now);
    /// When the next fail-safe write (first or retry) is due, if any; writes in flight and held
    /// paths are not.
    [[nodiscard]] std::optional<Clock::time_point> nextDeadline(const Held& held = {}) const;
    /// How many fail-safe writes have failed and wait for their retry (or for its result).
    [[nodiscard]] std::size_t retrying() const;
    /// The delay before retry number `failures` (1: after the first failure).
    [[nodiscard]] static Clock::duration backoff(unsigned failures);

  private:
    struct Armed {
        WriteOp op; ///< the fail-safe write itself
        Clock::time_point lastClientWrite;
        Clock::time_point deadline;
        std::uint64_t ticket = 0; ///< changes whenever the entry is re-armed or its rule changes
        bool inFlight = false;
        unsigned failures = 0;
    };
    /// The rule for a write of `mapPath` (the map's path: a slot path for an output slot) on `service`.
    [[nodiscard]] const regmap::Register* ruleFor(const regmap::Register& written, const std::string& service,
                                                  const std::string& mapPath) const;

    std::map<std::pair<std::string, std::string>, Armed> armed_; ///< by (service, path)
    const regmap::RegisterMap* map_ = nullptr;
    std::shared_ptr<const void> keepAlive_;
    std::uint64_t nextTicket_ = 1;
};

/// The write that puts `value` (D-Bus units) into `reg`'s path as its D-Bus type.
[[nodiscard]] codec::TypedValue typedValue(const regmap::Register& reg, double value);

/// The service type of a bus name: "vebus" for com.victronenergy.vebus.ttyO1.
[[nodiscard]] std::string serviceTypeOf(const std::string& busName);

} // namespace vmd::modbus
