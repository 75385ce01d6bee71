#pragma once

#include "modbus/Protocol.h"

#include <cstdint>
#include <span>
#include <string>

namespace vmd::modbus {

/// A Modbus TCP request frame: MBAP header + PDU (spec "MODBUS Messaging on TCP/IP" 3.1.3).
struct Frame {
    std::uint16_t transactionId = 0;
    std::uint16_t protocolId = 0;
    std::uint16_t length = 0; ///< the MBAP length field: unit byte + PDU
    std::uint8_t unit = 0;
    std::span<const std::uint8_t> pdu;
    std::size_t size = 0; ///< bytes the frame occupies in the buffer
};

/// The largest MBAP length field taken as a frame. A PDU of the spec's 253 bytes needs 254; a
/// request up to this length (a PDU of up to 259 bytes, such as FC 16 with 124 registers) is read
/// whole and answered with exception 3, so that a client that asks too much learns why. Above it
/// the header cannot be trusted and the connection is closed before the data is buffered.
constexpr std::size_t kMaxFrameLength = kMaxAduSize; // 260

enum class FrameStatus : std::uint8_t {
    Incomplete, ///< wait for more bytes
    Complete,   ///< may still carry a PDU above kMaxPduSize: the server answers it with exception 3
    Malformed,  ///< protocol id not 0, or a length field outside 2..kMaxFrameLength: the connection is closed
};

/// Looks for one frame at the start of `buffer`.
[[nodiscard]] FrameStatus parseFrame(std::span<const std::uint8_t> buffer, Frame& frame);

/// What is wrong with the header of a frame parseFrame() called Malformed, e.g. "protocol id 1
/// (must be 0)", "length 300 (must be 2..260)", or both joined by "and".
[[nodiscard]] std::string headerProblem(const Frame& frame);

/// Writes header + `pdu` into `out` (at least kMaxAduSize bytes); returns the ADU size.
std::size_t buildAdu(const Frame& request, std::span<const std::uint8_t> pdu, std::uint8_t* out);

} // namespace vmd::modbus
