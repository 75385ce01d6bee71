#pragma once

#include "modbus/Protocol.h"

#include <cstdint>
#include <span>

namespace vmd::modbus {

/// A Modbus TCP request frame: MBAP header + PDU (spec "MODBUS Messaging on TCP/IP" 3.1.3).
struct Frame {
    std::uint16_t transactionId = 0;
    std::uint16_t protocolId = 0;
    std::uint8_t unit = 0;
    std::span<const std::uint8_t> pdu;
    std::size_t size = 0; ///< bytes the frame occupies in the buffer
};

enum class FrameStatus : std::uint8_t {
    Incomplete, ///< wait for more bytes
    Complete,
    Malformed, ///< protocol id not 0, or a length field outside 2..254: the connection is closed
};

/// Looks for one frame at the start of `buffer`.
[[nodiscard]] FrameStatus parseFrame(std::span<const std::uint8_t> buffer, Frame& frame);

/// Writes header + `pdu` into `out` (at least kMaxAduSize bytes); returns the ADU size.
std::size_t buildAdu(const Frame& request, std::span<const std::uint8_t> pdu, std::uint8_t* out);

} // namespace vmd::modbus
