// The value handling of venus-regmap read/write (tools/venus-regmap/Scripting.h), without a server.
#include "Scripting.h"
#include "ModbusClient.h"

#include <catch2/catch.hpp>

using namespace vmd;
using namespace vmd::regmaptool;
using regmap::ModbusType;

namespace {

regmap::Register reg(ModbusType type, double scale, std::uint16_t words, bool writable, char dbusType = 'd') {
    regmap::Register r;
    r.address = 2700;
    r.type = type;
    r.scale = scale;
    r.words = words;
    r.dbusType = dbusType;
    r.access = writable ? regmap::Access::ReadWrite : regmap::Access::Read;
    return r;
}

using W = std::vector<std::uint16_t>;

} // namespace

TEST_CASE("scripting: a read shows the scaled value with its unit, enum text, text or 'not available'",
          "[scripting]") {
    auto current = reg(ModbusType::Int16, 10, 1, false);
    current.unit = "A DC";
    CHECK(describeValue(current, W{0xFF3D}) == "-19.5 A DC");
    CHECK(describeValue(current, W{0x7FFF}) == "not available");
    auto mode = reg(ModbusType::Uint16, 1, 1, true, 'u');
    mode.enumTexts = {{1, "Charger only"}, {3, "On"}, {4, "Off"}};
    CHECK(describeValue(mode, W{3}) == "On");
    CHECK(describeValue(mode, W{9}) == "9 (not one of the enum values)");
    auto energy = reg(ModbusType::Uint32, 100, 2, false);
    energy.unit = "kWh";
    CHECK(describeValue(energy, W{0x0001, 0x86A0}) == "1000.00 kWh");
    auto serial = reg(ModbusType::String, 1, 3, false);
    CHECK(describeValue(serial, W{0x6330, 0x3631, 0x0000}) == "c061");
}

TEST_CASE("scripting: a write is encoded with the map's scale and type, and refused when it does not fit",
          "[scripting]") {
    std::string error;
    auto setpoint = reg(ModbusType::Int16, 1, 1, true);
    CHECK(encodeForWrite(setpoint, "-300", error) == W{0xFED4});
    CHECK_FALSE(encodeForWrite(setpoint, "40000", error));
    CHECK(error == "40000 does not fit int16 at scale 1 (-32768 to 32766)");
    CHECK_FALSE(encodeForWrite(setpoint, "12abc", error));
    CHECK(error == "'12abc' is not a number");
    auto wide = reg(ModbusType::Int32, 1, 2, true);
    CHECK(encodeForWrite(wide, "-100000", error) == W{0xFFFE, 0x7960});
    auto voltage = reg(ModbusType::Uint16, 100, 1, true);
    CHECK(encodeForWrite(voltage, "52.4", error) == W{5240});
    CHECK_FALSE(encodeForWrite(voltage, "-1", error));

    auto ranged = reg(ModbusType::Uint16, 1, 1, true);
    ranged.range = regmap::Range{0, 100};
    CHECK_FALSE(encodeForWrite(ranged, "101", error));
    CHECK(error == "101 is out of range (0 to 100)");

    auto mode = reg(ModbusType::Uint16, 1, 1, true, 'i');
    mode.enumTexts = {{1, "Optimized"}, {3, "External control"}};
    CHECK(encodeForWrite(mode, "external CONTROL", error) == W{3});
    CHECK_FALSE(encodeForWrite(mode, "2", error));
    CHECK(error == "2 is out of range (one of 1=Optimized;3=External control)");

    auto name = reg(ModbusType::String, 1, 2, true, 's');
    CHECK(encodeForWrite(name, "Boat", error) == W{0x426F, 0x6174});
    CHECK_FALSE(encodeForWrite(name, "Boats", error));
    CHECK(error == "'Boats' is longer than the 4 characters of string[2]");

    auto soc = reg(ModbusType::Uint16, 10, 1, false);
    CHECK_FALSE(encodeForWrite(soc, "50", error));
    CHECK(error == "register 2700 is read-only");
}

TEST_CASE("scripting: HOST[:PORT] with IPv6 in brackets; bad ports are refused", "[scripting]") {
    Endpoint e;
    std::string error;
    REQUIRE(parseEndpoint("gx.local", e, error));
    CHECK((e.host == "gx.local" && e.port == 502));
    REQUIRE(parseEndpoint("127.0.0.1:5020", e, error));
    CHECK((e.host == "127.0.0.1" && e.port == 5020));
    REQUIRE(parseEndpoint("[::1]:1502", e, error));
    CHECK((e.host == "::1" && e.port == 1502));
    REQUIRE(parseEndpoint("::1", e, error));
    CHECK((e.host == "::1" && e.port == 502));
    CHECK_FALSE(parseEndpoint("host:0", e, error));
    CHECK_FALSE(parseEndpoint("host:65536", e, error));
    CHECK_FALSE(parseEndpoint("host:x", e, error));
    CHECK_FALSE(parseEndpoint(":502", e, error));
    CHECK_FALSE(parseEndpoint("[::1", e, error));
    CHECK(error == "'[::1': a '[' without its ']'");
}

TEST_CASE("scripting: the usual unit ID is 100 for the services at instance 0 only", "[scripting]") {
    ScriptMap script;
    script.unitsText = {{"system", "100 (instance 0); 0 works too"},
                        {"settings", "100 (instance 0)"},
                        {"battery", "the device's /DeviceInstance; 225 for a CAN-bus BMS"},
                        {"odd", "1000 units"}};
    CHECK(usualUnit(script, "system") == 100);
    CHECK(usualUnit(script, "com.victronenergy.settings") == 100);
    CHECK_FALSE(usualUnit(script, "battery"));
    CHECK_FALSE(usualUnit(script, "odd"));
    CHECK_FALSE(usualUnit(script, "unknown"));
}
