#pragma once

#include "modbus/RequestHandler.h"

#include <functional>

namespace vmd::modbus {

enum class WriteResult : std::uint8_t {
    Accepted, ///< SetValue returned 0
    Refused,  ///< SetValue returned non-zero, or a D-Bus error (service gone, no such path)
    TimedOut, ///< no answer within the write timeout
};

/// Where the server sends writes; the D-Bus Writer in the daemon, an in-memory sink in tests.
class WriteSink {
  public:
    virtual ~WriteSink() = default;
    /// Starts a write; `done` is called exactly once, later, from the event loop.
    virtual void write(const WriteOp& op, std::function<void(WriteResult, int code)> done) = 0;
};

/// The exception a failed write answers with (DESIGN section 4).
[[nodiscard]] inline ExceptionCode exceptionFor(WriteResult result) {
    switch (result) {
    case WriteResult::Accepted:
        return ExceptionCode::None;
    case WriteResult::Refused:
        return ExceptionCode::GatewayPathUnavailable;
    case WriteResult::TimedOut:
        return ExceptionCode::GatewayTargetFailedToRespond;
    }
    return ExceptionCode::ServerDeviceFailure;
}

} // namespace vmd::modbus
