#include "dbus/Writer.h"

#include "dbus/BusItem.h"

namespace vmd::dbus {

void Writer::write(const modbus::WriteOp& op, std::function<void(modbus::WriteResult, int)> done) {
    auto& proxy = proxies_[{op.service, op.path}];
    if (!proxy) proxy = sdbus::createProxy(connection_, op.service, op.path);
    try {
        proxy->callMethodAsync("SetValue")
            .onInterface(kBusItemInterface)
            .withTimeout(timeout_)
            .withArguments(toVariant(op.value))
            .uponReplyInvoke([done](const sdbus::Error* error, std::int32_t result) {
                if (!error)
                    return done(result == 0 ? modbus::WriteResult::Accepted : modbus::WriteResult::Refused,
                                result);
                const auto& name = error->getName();
                bool timedOut = name.find("Timeout") != std::string::npos ||
                                name.find("NoReply") != std::string::npos ||
                                name.find("TimedOut") != std::string::npos;
                done(timedOut ? modbus::WriteResult::TimedOut : modbus::WriteResult::Refused, -1);
            });
    } catch (const sdbus::Error&) {
        done(modbus::WriteResult::Refused, -1);
    }
}

} // namespace vmd::dbus
