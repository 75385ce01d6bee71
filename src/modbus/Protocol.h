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
    EncapsulatedInterface = 43, ///< 6.21: with MEI type 14, Read Device Identification
};

constexpr std::uint8_t kMeiReadDeviceId = 0x0E;

/// Read Device Identification (6.21): the read device id codes and the object ids.
enum class ReadDeviceIdCode : std::uint8_t { Basic = 1, Regular = 2, Extended = 3, Individual = 4 };
enum class DeviceIdObject : std::uint8_t {
    VendorName = 0x00,
    ProductCode = 0x01,
    MajorMinorRevision = 0x02,
    VendorUrl = 0x03,
    ProductName = 0x04,
    ModelName = 0x05,
    MapIdentity = 0x80, ///< private (extended): the register map's identity
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
