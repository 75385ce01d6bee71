#include "dbus/Writer.h"

#include "dbus/BusItem.h"

namespace vmd::dbus {

void Writer::write(const modbus::WriteOp& op, std::function<void(modbus::WriteResult, int)> done) {
    answered_.clear();
    const auto call = nextCall_++;
    try {
        // A path from a service's item list need not be a valid object path (an output named
        // "relay 1"): the proxy then cannot be made, and the write fails like any D-Bus error.
        auto& held = inFlight_[call];
        held = sdbus::createProxy(connection_, op.service, op.path);
        held->callMethodAsync("SetValue")
            .onInterface(kBusItemInterface)
            .withTimeout(timeout_)
            .withArguments(toVariant(op.value))
            .uponReplyInvoke([this, call, done, start = std::chrono::steady_clock::now(),
                              timeout = timeout_](const sdbus::Error* error, std::int32_t result) {
                if (auto it = inFlight_.find(call); it != inFlight_.end()) {
                    answered_.push_back(std::move(it->second));
                    inFlight_.erase(it);
                }
                if (!error)
                    return done(result == 0 ? modbus::WriteResult::Accepted : modbus::WriteResult::Refused,
                                result);
                // A local timeout and a peer that left without answering both come back as errors;
                // only the elapsed time tells them apart reliably.
                bool timedOut =
                    std::chrono::steady_clock::now() - start >= timeout - std::chrono::milliseconds(20);
                done(timedOut ? modbus::WriteResult::TimedOut : modbus::WriteResult::Refused, -1);
            });
    } catch (const sdbus::Error&) {
        inFlight_.erase(call);
        done(modbus::WriteResult::Refused, -1);
    }
}

} // namespace vmd::dbus
