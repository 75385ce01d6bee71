// ESS external control: every control point through the server, checked on the service's side.
#include "Site.h"

#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

using namespace vmd;
using namespace vmd::test;

namespace {

std::string scenarioFile(const char* name) {
    return env("VMD_SOURCE") + "/tests/integration/scenarios/" + name;
}

/// The last SET line for (service, path) in a simulator log: signature, value text and result.
struct SetLine {
    std::string signature;
    std::string value;
    std::string result;
};
std::optional<SetLine> lastSet(const std::string& log, const std::string& service, const std::string& path) {
    auto lines = linesOf(log, "SET " + service + " " + path + " ");
    if (lines.empty()) return std::nullopt;
    std::istringstream in(lines.back());
    std::string set, name, p, arrow;
    SetLine line;
    in >> set >> name >> p >> line.signature >> line.value >> arrow >> line.result;
    return line;
}

int unitFor(const std::string& service) {
    if (service == "vebus") return 246;
    if (service == "multi") return 50;
    if (service == "acsystem") return 51;
    return 100; // settings, hub4: instance 0
}

std::string busName(const std::string& service) {
    if (service == "vebus") return "com.victronenergy.vebus.ttyO1";
    if (service == "multi") return "com.victronenergy.multi.socketcan_can0_vi0_uc1234";
    if (service == "acsystem") return "com.victronenergy.acsystem.socketcan_can0_sys0";
    return "com.victronenergy." + service;
}

/// Raw words that make a valid, recognisable value for a register: a negative one where the type
/// is signed, an enum value where it has an enum, the middle of its range where it has one.
std::vector<std::uint16_t> sample(const regmap::Register& reg) {
    double value = reg.type == regmap::ModbusType::Int16 || reg.type == regmap::ModbusType::Int32 ? -2 : 2;
    if (!reg.enumTexts.empty()) value = static_cast<double>(reg.enumTexts.back().value) * reg.scale;
    if (reg.range) value = std::round((reg.range->min + reg.range->max) / 2 * reg.scale);
    auto raw = static_cast<std::int64_t>(value);
    if (reg.words == 1) return {static_cast<std::uint16_t>(raw)};
    auto bits = static_cast<std::uint32_t>(raw);
    return {static_cast<std::uint16_t>(bits >> 16), static_cast<std::uint16_t>(bits)};
}

double decoded(const regmap::Register& reg, const std::vector<std::uint16_t>& words) {
    std::int64_t raw =
        words.size() == 1
            ? (reg.type == regmap::ModbusType::Int16 ? static_cast<std::int16_t>(words[0]) : words[0])
            : (reg.type == regmap::ModbusType::Int32
                   ? static_cast<std::int32_t>((words[0] << 16) | words[1])
                   : static_cast<std::int64_t>((std::uint32_t{words[0]} << 16) | words[1]));
    return static_cast<double>(raw) / reg.scale;
}

} // namespace

TEST_CASE("every ESS control point written through the server arrives on D-Bus with its type and value",
          "[ess]") {
    SimProcess rs(scenarioFile("ess-rs.yaml"));
    auto map = regmap::loadMapFile(env("VMD_SOURCE") + "/register-maps/victron.yaml");
    Client client;
    int checked = 0;
    for (const auto& reg : map.registers()) {
        const auto a = reg.address;
        bool ess = (a >= 33 && a <= 101) || (a >= 2700 && a <= 2724) || (a >= 2900 && a <= 2903) ||
                   (a >= 4609 && a <= 4615) || (a >= 4921 && a <= 4925) || (a >= 5420 && a <= 5430);
        if (!ess || !reg.writable() || reg.type == regmap::ModbusType::Reserved) continue;
        const auto& service = map.serviceTypes()[reg.service];
        const auto& path = map.paths()[reg.paths.front()];
        auto words = sample(reg);
        INFO("register " << a << " " << service << " " << path);
        auto result = client.writeMultiple(unitFor(service), a, words);
        REQUIRE(result.error == 0);
        const auto log = service == "multi" || service == "acsystem" ? rs.logFile() : env("VMD_SIM_LOG");
        auto set = lastSet(log, busName(service), path);
        REQUIRE(set);
        CHECK(set->signature == std::string(1, reg.dbusType));
        CHECK(set->result == "0");
        CHECK(std::stod(set->value) == Approx(decoded(reg, words)));
        // Read back through the server once the service has published the new value.
        CHECK(eventually([&] { return client.read(unitFor(service), a, reg.words).words == words; },
                         std::chrono::seconds(3)));
        ++checked;
    }
    CHECK(checked >= 55);
}

TEST_CASE("a value outside the enum is exception 3 and nothing is sent", "[ess]") {
    Client client;
    auto sets = [] { // the SetValues the site got for the paths written here
        return linesOf(env("VMD_SIM_LOG"), "SET com.victronenergy.vebus.ttyO1 /Hub4/").size() +
               linesOf(env("VMD_SIM_LOG"), "SET com.victronenergy.vebus.ttyO1 /Mode ").size() +
               linesOf(env("VMD_SIM_LOG"), "SET com.victronenergy.settings /Settings/CGwacs/Hub4Mode ")
                   .size();
    };
    auto before = sets();
    CHECK(client.writeSingle(100, 2902, 7).exceptionCode() == 3);
    CHECK(client.writeSingle(246, 33, 0).exceptionCode() == 3);
    CHECK(client.writeMultiple(246, 37, {0, 0, 9}).exceptionCode() == 3); // 39 DisableFeedIn is 0 or 1:
    CHECK(sets() == before); // not even 37 and 38, which were valid, were sent
}

TEST_CASE("negative set points arrive as negative numbers, 16- and 32-bit", "[ess]") {
    Client client;
    Peer peer;
    REQUIRE(client.writeSingle(246, 37, static_cast<std::uint16_t>(-3000)).error == 0);
    CHECK(std::get<double>(peer.get("com.victronenergy.vebus.ttyO1", "/Hub4/L1/AcPowerSetpoint")) == -3000.0);
    REQUIRE(client.writeMultiple(100, 2716, {0xFFFE, 0x7960}).error == 0); // -100000
    CHECK(std::get<double>(peer.get("com.victronenergy.hub4", "/Overrides/Setpoint")) == -100000.0);
    REQUIRE(client.writeMultiple(100, 2716, {0, 0}).error == 0);
    REQUIRE(client.writeSingle(246, 37, 0).error == 0);
}

TEST_CASE("a multi-register write reaches D-Bus in address order", "[ess]") {
    Client client;
    REQUIRE(client.writeMultiple(246, 37, {static_cast<std::uint16_t>(-100), 1, 1}).error == 0);
    auto lines = linesOf(env("VMD_SIM_LOG"), "SET com.victronenergy.vebus.ttyO1 /Hub4/");
    REQUIRE(lines.size() >= 3);
    CHECK(lines[lines.size() - 3].find("/Hub4/L1/AcPowerSetpoint d -100") != std::string::npos);
    CHECK(lines[lines.size() - 2].find("/Hub4/DisableCharge u 1") != std::string::npos);
    CHECK(lines[lines.size() - 1].find("/Hub4/DisableFeedIn u 1") != std::string::npos);
    REQUIRE(client.writeMultiple(246, 37, {0, 0, 0}).error == 0);
}
