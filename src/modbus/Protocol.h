#pragma once

#include <cstddef>
#include <cstdint>

namespace vmd::modbus {

/// Function codes served (Modbus Application Protocol v1.1b3, section 6).
enum class FunctionCode : std::uint8_t {
    ReadHoldingRegisters = 3,
    ReadInputRegisters = 4,
    WriteSingleRegister = 6,
    WriteMultipleRegisters = 16,
    ReadWriteMultipleRegisters = 23,
};

/// Exception codes (section 7).
enum class ExceptionCode : std::uint8_t {
    None = 0,
    IllegalFunction = 1,
    IllegalDataAddress = 2,
    IllegalDataValue = 3,
    ServerDeviceFailure = 4,
    GatewayPathUnavailable = 10,
    GatewayTargetFailedToRespond = 11,
};

constexpr std::size_t kMaxReadRegisters = 125;           // 6.3, 6.4: quantity 1..125
constexpr std::size_t kMaxWriteRegisters = 123;          // 6.12: quantity 1..123
constexpr std::size_t kMaxReadWriteWriteRegisters = 121; // 6.17: write quantity 1..121
constexpr std::size_t kMaxPduSize = 253;                 // 4.1
constexpr std::size_t kMbapHeaderSize = 7;               // TCP: transaction, protocol, length, unit
constexpr std::size_t kMaxAduSize = kMbapHeaderSize + kMaxPduSize - 1 + 1; // 260
constexpr std::uint8_t kExceptionFlag = 0x80;

} // namespace vmd::modbus
