#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>

#include <fstream>

using namespace vmd::regmap;

namespace {

/// The diagnostics a map text produces, formatted `FILE:LINE: message`.
std::vector<std::string> problems(const std::string& yaml) {
    MapLoader loader;
    loader.add(yaml, "test.yaml");
    try {
        (void)loader.build();
    } catch (const MapError& e) {
        std::vector<std::string> out;
        for (const auto& d : e.diagnostics())
            out.push_back(d.format());
        return out;
    }
    return {};
}

bool anyContains(const std::vector<std::string>& lines, const std::string& text) {
    for (const auto& line : lines)
        if (line.find(text) != std::string::npos) return true;
    return false;
}

} // namespace

TEST_CASE("a valid map loads with its registers, paths and unit table", "[map]") {
    MapLoader loader;
    loader.add(R"(unit-ids:
  - {unit: 100, instance: 0}
  - {unit: 246, instance: 257}
registers:
  - {address: 800, service: system, path: /Serial, type: "string[6]", access: R}
  - {address: 840, service: system, path: /Dc/Battery/Voltage, type: uint16, scale: 10, access: R, unit: V DC}
  - {address: 33, service: vebus, path: /Mode, type: uint16, dbus-type: u, access: W, enum: {1: Charger only, 3: On}}
  - {address: 37, service: vebus, path: /Hub4/L1/AcPowerSetpoint, type: int16, dbus-type: d, access: W, range: [-32768, 32767]}
  - {address: 212, service: vebus, type: "reserved[1]", access: W}
  - {address: 820, service: system, path: "/Ac/{Grid,Genset}/L1/Power", type: int16, access: R}
)",
               "inline");
    auto map = loader.build();
    REQUIRE(map.registers().size() == 6);
    REQUIRE(map.at(800) != nullptr);
    CHECK(map.at(805)->address == 800); // every word of the string belongs to it
    CHECK(map.at(806) == nullptr);
    CHECK(map.at(840)->scale == 10);
    CHECK(map.at(840)->unit == "V DC");
    CHECK(map.at(33)->writable());
    CHECK(map.at(33)->dbusType == 'u');
    CHECK(map.at(33)->enumTexts.size() == 2);
    CHECK(map.at(37)->range->min == -32768);
    CHECK(map.at(212)->type == ModbusType::Reserved);
    REQUIRE(map.at(820)->paths.size() == 2);
    CHECK(map.paths()[map.at(820)->paths[1]] == "/Ac/Genset/L1/Power");
    CHECK(map.instanceForUnit(100) == 0u);
    CHECK(map.instanceForUnit(246) == 257u);
    CHECK(!map.instanceForUnit(245));
    CHECK(map.unitForInstance(257) == 246);
    CHECK(map.serviceTypes()[map.at(33)->service] == "vebus");
}

TEST_CASE("overlapping registers are reported with both lines", "[map]") {
    auto p = problems(R"(registers:
  - {address: 10, service: vebus, path: /A, type: int32, access: R}
  - {address: 11, service: vebus, path: /B, type: uint16, access: R}
)");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "test.yaml:3: register 11 overlaps register 10 (vebus, test.yaml:2)");
}

TEST_CASE("a zero scale is an error naming its line", "[map]") {
    auto p =
        problems("registers:\n  - {address: 1, service: x, path: /A, type: uint16, scale: 0, access: R}\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "test.yaml:2: scale must not be zero");
}

TEST_CASE("an unknown type is an error listing the known ones", "[map]") {
    auto p = problems("registers:\n  - {address: 1, service: x, path: /A, type: float32, access: R}\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0].rfind("test.yaml:2: unknown type 'float32'", 0) == 0);
    CHECK(!problems("registers:\n  - {address: 1, service: x, path: /A, type: \"string[0]\", access: R}\n")
               .empty());
    CHECK(!problems("registers:\n  - {address: 1, service: x, path: /A, type: \"string6\", access: R}\n")
               .empty());
}

TEST_CASE("duplicate and unknown keys are errors", "[map]") {
    auto p =
        problems("registers:\n  - {address: 1, address: 2, service: x, path: /A, type: uint16, access: R}\n");
    CHECK(anyContains(p, "test.yaml:2: duplicate key 'address'"));
    p = problems("registers:\n  - {address: 1, service: x, path: /A, type: uint16, acces: R}\n");
    CHECK(anyContains(p, "test.yaml:2: unknown key 'acces'"));
    p = problems("registers: []\nregister: []\n");
    CHECK(anyContains(p, "test.yaml:2: unknown key 'register'"));
}

TEST_CASE("missing fields are errors naming the field", "[map]") {
    auto p = problems("registers:\n  - {address: 1, path: /A, type: uint16, access: R}\n");
    CHECK(p == std::vector<std::string>{"test.yaml:2: missing field 'service'"});
    p = problems("registers:\n  - {address: 1, service: x, type: uint16, access: R}\n");
    CHECK(p == std::vector<std::string>{"test.yaml:2: missing field 'path'"});
    p = problems("registers:\n  - {service: x, path: /A, type: uint16, access: R}\n");
    CHECK(p == std::vector<std::string>{"test.yaml:2: missing field 'address'"});
    p = problems("registers:\n  - {address: 1, service: x, path: /A, type: uint16, access: W}\n");
    CHECK(p == std::vector<std::string>{"test.yaml:2: a writable register needs 'dbus-type'"});
}

TEST_CASE("bad values are errors naming line and field", "[map]") {
    CHECK(problems("registers:\n  - {address: 70000, service: x, path: /A, type: uint16, access: R}\n") ==
          std::vector<std::string>{"test.yaml:2: address '70000' is not an integer 0..65535"});
    CHECK(problems("registers:\n  - {address: 1, service: x, path: /A, type: uint16, access: X}\n") ==
          std::vector<std::string>{"test.yaml:2: access 'X' is not R or W"});
    CHECK(problems("registers:\n  - {address: 1, service: x, path: A, type: uint16, access: R}\n") ==
          std::vector<std::string>{"test.yaml:2: path 'A' does not start with '/'"});
    // A path the daemon could not call: a service read path by path would never come online.
    CHECK(
        problems("registers:\n  - {address: 1, service: x, path: /Bad Path, type: uint16, access: R}\n") ==
        std::vector<std::string>{"test.yaml:2: path '/Bad Path' is not a D-Bus object path (segments of A-Z, "
                                 "a-z, 0-9 and _ between single slashes)"});
    CHECK(problems(
              "registers:\n  - {address: 1, service: x, path: \"/{A,B-2}/C\", type: uint16, access: R}\n") ==
          std::vector<std::string>{"test.yaml:2: path '/B-2/C' is not a D-Bus object path (segments of A-Z, "
                                   "a-z, 0-9 and _ between single slashes)"});
    CHECK(problems("registers:\n  - {address: 1, service: x, path: /A/, type: uint16, access: R}\n").size() ==
          1);
    CHECK(
        problems("registers:\n  - {address: 1, service: x, path: /A//B, type: uint16, access: R}\n").size() ==
        1);
    CHECK(
        problems("registers:\n  - {address: 1, service: x, type: uint16, access: R, compute: any-text, "
                 "inputs: [/Ok, /Not ok], value: 1}\n") ==
        std::vector<std::string>{"test.yaml:2: input '/Not ok' is not a D-Bus object path (segments of A-Z, "
                                 "a-z, 0-9 and _ between single slashes)"});
    CHECK(problems("registers:\n  - {address: 1, service: x, path: /SwitchableOutput/#1/State, type: uint16, "
                   "access: R}\n")
              .empty()); // an output slot
    CHECK(problems("registers:\n  - {address: 65535, service: x, path: /A, type: int32, access: R}\n") ==
          std::vector<std::string>{"test.yaml:2: register runs past address 65535"});
    CHECK(
        problems(
            "registers:\n  - {address: 1, service: x, path: /A, type: uint16, access: R, range: [5, 1]}\n") ==
        std::vector<std::string>{"test.yaml:2: range minimum is above its maximum"});
}

TEST_CASE("every problem of a map is reported, not only the first", "[map]") {
    auto p = problems(R"(registers:
  - {address: 1, service: x, path: /A, type: uint16, scale: 0, access: R}
  - {address: 2, service: x, path: /B, type: bogus, access: R}
)");
    CHECK(p.size() == 2);
}

TEST_CASE("a YAML syntax error names its line", "[map]") {
    auto p = problems("registers:\n  - {address: 1, service: x\n  - oops: [\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0].rfind("test.yaml:", 0) == 0);
    CHECK(p[0].find("YAML syntax") != std::string::npos);
}

TEST_CASE("a unit mapped twice is an error", "[map]") {
    auto p =
        problems("unit-ids:\n  - {unit: 100, instance: 0}\n  - {unit: 100, instance: 1}\nregisters: []\n");
    CHECK(p == std::vector<std::string>{"test.yaml:3: unit 100 is already mapped at test.yaml:2"});
}

TEST_CASE("an overlay adds registers and may not overlap the map", "[map]") {
    MapLoader loader;
    loader.add("registers:\n  - {address: 1, service: x, path: /A, type: uint16, access: R}\n", "map.yaml");
    loader.add("registers:\n  - {address: 2, service: x, path: /B, type: uint16, access: R}\n",
               "overlay.yaml");
    CHECK(loader.build().registers().size() == 2);

    MapLoader clash;
    clash.add("registers:\n  - {address: 1, service: x, path: /A, type: uint16, access: R}\n", "map.yaml");
    clash.add("registers:\n  - {address: 1, service: x, path: /B, type: uint16, access: R}\n",
              "overlay.yaml");
    try {
        (void)clash.build();
        FAIL("an overlapping overlay was accepted");
    } catch (const MapError& e) {
        CHECK(std::string(e.what()) == "overlay.yaml:2: register 1 overlaps register 1 (x, map.yaml:2)");
    }
}

TEST_CASE("an unreadable map file is reported by name", "[map]") {
    MapLoader loader;
    loader.addFile("/nonexistent/map.yaml");
    CHECK_THROWS_WITH(loader.build(), "/nonexistent/map.yaml:0: cannot open the file");
}

TEST_CASE("braces in a path expand to every alternative in order", "[map]") {
    CHECK(expandAlternatives("/Ac/{Grid,Genset}/L1/Power") ==
          std::vector<std::string>{"/Ac/Grid/L1/Power", "/Ac/Genset/L1/Power"});
    CHECK(expandAlternatives("/{a,b}/{x,y}") == std::vector<std::string>{"/a/x", "/a/y", "/b/x", "/b/y"});
    CHECK(expandAlternatives("/no/{close") == std::vector<std::string>{"/no/{close"});
}

TEST_CASE("the shipped map loads and holds the published registers", "[map]") {
    auto map = loadMapFile(VMD_SOURCE_DIR "/register-maps/victron.yaml");
    CHECK(map.registers().size() >= 1003);
    REQUIRE(map.at(2716));
    CHECK(map.at(2716)->type == ModbusType::Int32);
    CHECK(map.at(777)->compute == Compute::Quotient);
    CHECK(map.at(830)->type == ModbusType::Uint64);
    CHECK(map.instanceForUnit(225) == 512u);
}

TEST_CASE("a fail-safe is read from the map and checked", "[map]") {
    MapLoader loader;
    loader.add("registers:\n  - {address: 37, service: vebus, path: /Hub4/L1/AcPowerSetpoint, type: int16, "
               "dbus-type: d, "
               "access: W, failsafe: {after: 60, value: 0}}\n",
               "f.yaml");
    auto map = loader.build();
    REQUIRE(map.at(37)->failsafe);
    CHECK(map.at(37)->failsafe->afterSeconds == 60);
    CHECK(problems("registers:\n  - {address: 1, service: x, path: /A, type: uint16, access: R, failsafe: "
                   "{after: 5, "
                   "value: 0}}\n") ==
          std::vector<std::string>{"test.yaml:2: a failsafe needs a writable number register"});
    CHECK(
        problems("registers:\n  - {address: 1, service: x, path: /A, type: uint16, dbus-type: d, access: W, "
                 "failsafe: {after: 0, value: 0}}\n") ==
        std::vector<std::string>{"test.yaml:2: failsafe 'after' must be more than 0 seconds"});
    CHECK(
        problems("registers:\n  - {address: 1, service: x, path: /A, type: uint16, dbus-type: d, access: W, "
                 "failsafe: 60}\n") ==
        std::vector<std::string>{
            "test.yaml:2: 'failsafe' must be {after: SECONDS, value: V} with two numbers"});
}

TEST_CASE("an overlay amends the fail-safe and range of a shipped register", "[map]") {
    MapLoader loader;
    loader.add("registers:\n  - {address: 37, service: vebus, path: /Hub4/L1/AcPowerSetpoint, type: int16, "
               "dbus-type: "
               "d, access: W}\n",
               "map.yaml");
    loader.add("amend:\n  - {address: 37, failsafe: {after: 60, value: 0}, range: [-5000, 5000]}\n",
               "overlay.yaml");
    auto map = loader.build();
    REQUIRE(map.at(37)->failsafe);
    CHECK(map.at(37)->failsafe->value == 0);
    CHECK(map.at(37)->range->max == 5000);
}

TEST_CASE("a bad amendment names its file and line", "[map]") {
    auto p =
        problems("registers:\n  - {address: 1, service: x, path: /A, type: uint16, access: R}\n"
                 "amend:\n  - {address: 2, range: [0, 1]}\n  - {address: 1, failsafe: {after: 1, value: 0}}\n"
                 "  - {address: 1, scale: 10}\n");
    CHECK(p == std::vector<std::string>{
                   "test.yaml:6: an amendment may change 'failsafe' and 'range' only, not 'scale'",
                   "test.yaml:4: amendment: no register starts at address 2",
                   "test.yaml:5: register 1 (test.yaml:2) is not a writable number register: no failsafe"});
}

TEST_CASE("a map in block style loads like the same map one register per line", "[map]") {
    const char* lines = R"(# one register per line, as generated
unit-ids:
  - {unit: 100, instance: 0}
registers:
  - {address: 37, service: vebus, path: /Hub4/L1/AcPowerSetpoint, type: int16, dbus-type: d, access: W}
  - {address: 800, service: system, path: /Serial, type: "string[6]", access: R}
)";
    const char* block = R"(unit-ids:
  - unit: 100
    instance: 0
registers:
  - address: 37
    service: vebus
    path: /Hub4/L1/AcPowerSetpoint
    type: int16
    dbus-type: d
    access: W
  - address: 800
    service: system
    path: /Serial
    type: string[6]
    access: R
)";
    MapLoader a, b;
    a.add(lines, "lines.yaml");
    b.add(block, "block.yaml");
    auto ma = a.build();
    auto mb = b.build();
    REQUIRE(ma.registers().size() == mb.registers().size());
    for (std::size_t i = 0; i < ma.registers().size(); ++i) {
        CHECK(ma.registers()[i].address == mb.registers()[i].address);
        CHECK(ma.registers()[i].words == mb.registers()[i].words);
        CHECK(ma.paths()[ma.registers()[i].paths[0]] == mb.paths()[mb.registers()[i].paths[0]]);
    }
    CHECK(ma.at(800)->line == 6); // line numbers of the line-by-line parse are the file's
    CHECK(mb.at(800)->line == 11);
    CHECK(ma.instanceForUnit(100) == 0u);
}
