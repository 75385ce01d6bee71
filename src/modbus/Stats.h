#pragma once

#include "modbus/Protocol.h"

#include <array>
#include <cstdint>

namespace vmd::modbus {

/// Counters the diagnostics publish.
struct Stats {
    std::uint64_t requests = 0;
    std::array<std::uint64_t, 12> exceptions{}; ///< by exception code (index = code)
    std::uint64_t writes = 0;                   ///< D-Bus writes accepted on behalf of clients
    std::uint64_t failedWrites = 0;
    std::uint64_t failsafeActivations = 0;
    std::uint64_t connectionsRefused = 0;

    void countException(ExceptionCode code) {
        auto index = static_cast<std::size_t>(code);
        if (index < exceptions.size()) ++exceptions[index];
    }
};

} // namespace vmd::modbus
