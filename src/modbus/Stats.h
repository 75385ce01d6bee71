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
    std::uint64_t tlsConnections = 0; ///< TLS handshakes completed by a client with a usable role
    std::uint64_t tlsHandshakeFailures =
        0;                             ///< no, a foreign, expired or revoked certificate; old TLS; timeout
    std::uint64_t tlsRoleRefusals = 0; ///< verified certificates closed for want of a role
    std::uint64_t writesRefusedByRole = 0; ///< writes answered exception 1 for the connection's role

    void countException(ExceptionCode code) {
        auto index = static_cast<std::size_t>(code);
        if (index < exceptions.size()) ++exceptions[index];
    }
};

} // namespace vmd::modbus
