#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmd::regmap {

/// A Modbus register address (0-based PDU address, as on the wire).
using RegisterAddress = std::uint16_t;
/// A Modbus unit identifier (the MBAP "unit id" byte).
using UnitId = std::uint8_t;
/// A D-Bus /DeviceInstance value.
using DeviceInstance = std::uint32_t;
/// Index of a service type ("battery", "vebus", ...) in RegisterMap::serviceTypes().
using ServiceTypeId = std::uint16_t;
/// Index of a D-Bus path in RegisterMap::paths(): every path the map refers to is interned once.
using PathId = std::uint32_t;

enum class ModbusType : std::uint8_t { Int16, Uint16, Int32, Uint32, Uint64, String, Reserved };

enum class Access : std::uint8_t { Read, ReadWrite };

/// How a register's value is obtained: from its path(s), or computed by a fixed rule.
enum class Compute : std::uint8_t {
    None,            ///< the first valid of the register's paths
    Quotient,        ///< inputs[0] / inputs[1] (solarcharger 777: PV current = power / voltage)
    UtcTime,         ///< the server's clock, whole seconds since the epoch (system 830)
    FirmwareVersion, ///< Victron 24-bit version v: word0 = v >> 8, word1 = v & 0xFF (system 834)
    AnyText,         ///< `value` when any input holds a non-empty string, else 0 (genset 3214)
    Discovery,       ///< word `value` of the discovery block: the services on the bus (39000...)
    ServerVersion,   ///< part `value` (0 major, 1 minor, 2 patch) of the server's version (39500...)
    MapIdentity,     ///< RegisterMap::identity(): changes whenever the map's text changes (39503)
};

struct EnumText {
    std::int64_t value;
    std::string text;
};

/// Written by the server itself when no client wrote the register for `after` seconds.
struct Failsafe {
    double afterSeconds;
    double value; ///< in D-Bus units (register / scale)
};

struct Range {
    double min;
    double max;
};

/// One entry of the register map. Immutable after load.
struct Register {
    RegisterAddress address = 0;
    std::uint16_t words = 1;
    ModbusType type = ModbusType::Uint16;
    ServiceTypeId service = 0;
    std::vector<PathId> paths;  ///< alternatives: the first valid one is read, written
    std::vector<PathId> inputs; ///< for computed registers
    Compute compute = Compute::None;
    double computeValue = 0;
    double scale = 1;
    char dbusType = 'd'; ///< the D-Bus type letter of the path, used on writes
    Access access = Access::Read;
    std::string unit;
    std::string description;
    std::vector<EnumText> enumTexts;
    std::optional<Range> range;
    std::optional<Failsafe> failsafe;
    std::string remarks;
    unsigned line = 0; ///< source line, for messages
    std::string source;

    [[nodiscard]] bool writable() const { return access == Access::ReadWrite; }
    [[nodiscard]] std::uint32_t end() const { return std::uint32_t{address} + words; }
};

struct UnitMapping {
    UnitId unit;
    DeviceInstance instance;
    std::string remark;
};

[[nodiscard]] const char* toString(ModbusType type);

} // namespace vmd::regmap
