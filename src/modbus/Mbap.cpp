#include "modbus/Mbap.h"

#include <algorithm>
#include <string>

namespace vmd::modbus {

FrameStatus parseFrame(std::span<const std::uint8_t> buffer, Frame& frame) {
    if (buffer.size() < 6) return FrameStatus::Incomplete;
    frame.transactionId = static_cast<std::uint16_t>((buffer[0] << 8) | buffer[1]);
    frame.protocolId = static_cast<std::uint16_t>((buffer[2] << 8) | buffer[3]);
    frame.length = static_cast<std::uint16_t>((buffer[4] << 8) | buffer[5]);
    const std::size_t length = frame.length;
    // The length counts the unit byte and the PDU: at least unit + function code.
    if (frame.protocolId != 0 || length < 2 || length > kMaxFrameLength) return FrameStatus::Malformed;
    if (buffer.size() < 6 + length) return FrameStatus::Incomplete;
    frame.unit = buffer[6];
    frame.pdu = buffer.subspan(7, length - 1);
    frame.size = 6 + length;
    return FrameStatus::Complete;
}

std::string headerProblem(const Frame& frame) {
    std::string problem;
    if (frame.protocolId != 0) problem = "protocol id " + std::to_string(frame.protocolId) + " (must be 0)";
    if (frame.length < 2 || frame.length > kMaxFrameLength) {
        if (!problem.empty()) problem += " and ";
        problem += "length " + std::to_string(frame.length) + " (must be 2.." +
                   std::to_string(kMaxFrameLength) + ")";
    }
    return problem;
}

std::size_t buildAdu(const Frame& request, std::span<const std::uint8_t> pdu, std::uint8_t* out) {
    const std::size_t length = pdu.size() + 1;
    out[0] = static_cast<std::uint8_t>(request.transactionId >> 8);
    out[1] = static_cast<std::uint8_t>(request.transactionId & 0xFF);
    out[2] = static_cast<std::uint8_t>(request.protocolId >> 8);
    out[3] = static_cast<std::uint8_t>(request.protocolId & 0xFF);
    out[4] = static_cast<std::uint8_t>(length >> 8);
    out[5] = static_cast<std::uint8_t>(length & 0xFF);
    out[6] = request.unit;
    std::copy(pdu.begin(), pdu.end(), out + 7);
    return 7 + pdu.size();
}

} // namespace vmd::modbus
