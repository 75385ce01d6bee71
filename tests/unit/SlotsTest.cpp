// Slot paths (regmap/Slots.h): `/SwitchableOutput/#k/State` is the k-th output identifier a service
// publishes, in natural order; reads and writes through the pure handler and the ServiceIndex.
#include "regmap/Slots.h"
#include "core/ServiceIndex.h"
#include "modbus/RequestHandler.h"
#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace vmd;
using modbus::ExceptionCode;
using Bytes = std::vector<std::uint8_t>;

TEST_CASE("a slot path names its family, slot number and the rest of the path", "[slots]") {
    auto s = regmap::parseSlotPath("/SwitchableOutput/#2/Settings/CustomName");
    REQUIRE(s);
    CHECK(s->family == "/SwitchableOutput/");
    CHECK(s->slot == 2);
    CHECK(s->rest == "/Settings/CustomName");
    auto id = regmap::parseSlotPath("/SwitchableOutput/#12");
    REQUIRE(id);
    CHECK(id->slot == 12);
    CHECK(id->rest.empty());
    CHECK(regmap::slotPattern("/SwitchableOutput/#7/State") == "/SwitchableOutput/#/State");
    CHECK(regmap::slotPattern("/Dc/0/Voltage") == "/Dc/0/Voltage");
}

TEST_CASE("malformed slot segments are not slot paths", "[slots]") {
    for (const char* bad :
         {"/SwitchableOutput/#/State", "/SwitchableOutput/#0/State", "/SwitchableOutput/#x/State",
          "/A/#1/B/#2", "#1/State", "/SwitchableOutput/x#1/State", "/SwitchableOutput/#1234567"}) {
        INFO(bad);
        CHECK_FALSE(regmap::parseSlotPath(bad));
    }
    CHECK_FALSE(regmap::parseSlotPath("/Dc/0/Voltage"));
}

TEST_CASE("identifiers sort naturally: numbers by value, text by bytes", "[slots]") {
    std::vector<std::string> ids{"relay_10", "relay_2", "pwm_1", "output_1", "relay_1", "0", "10", "9"};
    std::sort(ids.begin(), ids.end(), [](const auto& a, const auto& b) { return regmap::naturalLess(a, b); });
    CHECK(ids ==
          std::vector<std::string>{"0", "9", "10", "output_1", "pwm_1", "relay_1", "relay_2", "relay_10"});
    CHECK_FALSE(regmap::naturalLess("relay_1", "relay_1"));
    CHECK(regmap::naturalLess("relay_1", "relay_01")); // a total order: leading zeros break the tie
    CHECK_FALSE(regmap::naturalLess("relay_01", "relay_1"));
}

namespace {

const char* kSlotMap = R"(registers:
  - {address: 100, service: switch, path: "/SwitchableOutput/#1", type: "string[4]", access: R}
  - {address: 104, service: switch, path: "/SwitchableOutput/#1/State", type: uint16, dbus-type: i, access: W, range: [0, 1]}
  - {address: 105, service: switch, path: "/SwitchableOutput/#1/Dimming", type: uint16, dbus-type: i, access: W, range: [0, 100]}
  - {address: 110, service: switch, path: "/SwitchableOutput/#2", type: "string[4]", access: R}
  - {address: 114, service: switch, path: "/SwitchableOutput/#2/State", type: uint16, dbus-type: i, access: W, range: [0, 1]}
  - {address: 115, service: switch, path: "/SwitchableOutput/#2/Dimming", type: uint16, dbus-type: i, access: W, range: [0, 100]}
  - {address: 120, service: switch, path: "/SwitchableOutput/#3", type: "string[4]", access: R}
  - {address: 124, service: switch, path: "/SwitchableOutput/#3/State", type: uint16, dbus-type: i, access: W, range: [0, 1]}
  - {address: 125, service: switch, path: "/SwitchableOutput/#3/Dimming", type: uint16, dbus-type: i, access: W, range: [0, 100]}
)";

regmap::RegisterMap slotMap() {
    regmap::MapLoader loader;
    loader.add(kSlotMap, "slot-test.yaml");
    return loader.build();
}

std::vector<std::uint16_t> words(const modbus::Reply& reply) {
    std::vector<std::uint16_t> out;
    for (std::size_t i = 2; i + 1 < reply.size; i += 2)
        out.push_back(static_cast<std::uint16_t>((reply.bytes[i] << 8) | reply.bytes[i + 1]));
    return out;
}

std::string text(const std::vector<std::uint16_t>& w) {
    std::string s;
    for (auto x : w)
        for (auto c : {static_cast<char>(x >> 8), static_cast<char>(x & 0xFF)})
            if (c) s += c;
    return s;
}

struct SlotSite {
    regmap::RegisterMap map = slotMap();
    core::ServiceIndex index{map};
    modbus::RequestHandler handler{index, {}};
    core::ServiceState* io = nullptr;

    SlotSite() {
        io = &index.add("com.victronenergy.switch.ttyUSB0");
        io->instance = 1;
        io->hasInstance = true;
        // Published in the order dbus-switch adds them: not the slot order.
        publish("/SwitchableOutput/relay_1/State", std::int64_t{0});
        publish("/SwitchableOutput/relay_1/Settings/CustomName", std::string("Relay 1"));
        publish("/SwitchableOutput/pwm_1/State", std::int64_t{1});
        publish("/SwitchableOutput/pwm_1/Dimming", std::int64_t{40});
        index.reindex();
    }
    void publish(const std::string& path, codec::Value v) { CHECK(index.applySlotValue(*io, path, v)); }
    std::vector<std::uint16_t> read(std::uint16_t address, std::uint16_t quantity) {
        Bytes pdu{3, static_cast<std::uint8_t>(address >> 8), static_cast<std::uint8_t>(address), 0,
                  static_cast<std::uint8_t>(quantity)};
        auto out = handler.handle(1, pdu, 0);
        REQUIRE_FALSE(out.reply.isException());
        return words(out.reply);
    }
    modbus::Outcome write(std::uint16_t address, std::uint16_t value) {
        Bytes pdu{6, static_cast<std::uint8_t>(address >> 8), static_cast<std::uint8_t>(address),
                  static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
        return handler.handle(1, pdu, 0);
    }
};

} // namespace

TEST_CASE("slot k reads the k-th identifier the service publishes, in natural order", "[slots]") {
    SlotSite site;
    CHECK(text(site.read(100, 4)) == "pwm_1");
    CHECK(site.read(104, 2) == std::vector<std::uint16_t>{1, 40});
    CHECK(text(site.read(110, 4)) == "relay_1");
    CHECK(site.read(114, 2) == std::vector<std::uint16_t>{0, 0}); // a relay has no /Dimming: not available
    CHECK(site.read(120, 6) == std::vector<std::uint16_t>(6, 0)); // no third output: not available
    CHECK(site.index.slotSummary(*site.io) == "/SwitchableOutput/ 1=pwm_1 2=relay_1");
}

TEST_CASE("a new identifier renumbers the slots after it", "[slots]") {
    SlotSite site;
    site.publish("/SwitchableOutput/output_1/State", std::int64_t{1});
    CHECK(text(site.read(100, 4)) == "output_1");
    CHECK(site.read(104, 1) == std::vector<std::uint16_t>{1});
    CHECK(text(site.read(110, 4)) == "pwm_1");
    CHECK(site.read(114, 2) == std::vector<std::uint16_t>{1, 40});
    CHECK(text(site.read(120, 4)) == "relay_1");
    site.publish("/SwitchableOutput/relay_1/State", std::int64_t{1}); // a change after the renumbering
    CHECK(site.read(124, 1) == std::vector<std::uint16_t>{1});
}

TEST_CASE("a write to a slot goes to the path of the identifier in that slot", "[slots]") {
    SlotSite site;
    auto state = site.write(114, 1);
    REQUIRE_FALSE(state.reply.isException());
    REQUIRE(state.writes.size() == 1);
    CHECK(state.writes[0].service == "com.victronenergy.switch.ttyUSB0");
    CHECK(state.writes[0].path == "/SwitchableOutput/relay_1/State");
    CHECK(state.writes[0].value.dbusType == 'i');
    auto dim = site.write(105, 75);
    REQUIRE(dim.writes.size() == 1);
    CHECK(dim.writes[0].path == "/SwitchableOutput/pwm_1/Dimming");
    CHECK(std::get<std::int64_t>(dim.writes[0].value.value) == 75);
}

TEST_CASE("a write to an empty slot is exception 10, a value out of range exception 3; nothing is sent",
          "[slots]") {
    SlotSite site;
    auto empty = site.write(124, 1);
    CHECK(empty.reply.exception() == ExceptionCode::GatewayPathUnavailable);
    CHECK(empty.writes.empty());
    auto tooBright = site.write(105, 101);
    CHECK(tooBright.reply.exception() == ExceptionCode::IllegalDataValue);
    CHECK(tooBright.writes.empty());
}

TEST_CASE("paths outside every slot family are left to the map", "[slots]") {
    SlotSite site;
    CHECK_FALSE(site.index.applySlotValue(*site.io, "/State", std::int64_t{256}));
    CHECK_FALSE(site.index.applySlotValue(*site.io, "/SwitchableOutput/", std::int64_t{1}));
    CHECK_FALSE(site.index.applySlotValue(*site.io, "/SwitchableOutputs/x/State", std::int64_t{1}));
}

TEST_CASE("a reload carries the outputs over, projected onto the new map's slots", "[slots]") {
    SlotSite site;
    auto other = slotMap();
    auto rebuilt = site.index.rebuiltFor(other);
    auto* io = rebuilt->find("com.victronenergy.switch.ttyUSB0");
    REQUIRE(io);
    CHECK(rebuilt->slotSummary(*io) == "/SwitchableOutput/ 1=pwm_1 2=relay_1");
    CHECK(std::get<std::int64_t>(io->value(*other.pathId("/SwitchableOutput/#1/Dimming"))) == 40);
    CHECK(rebuilt->writePath(*io, *other.pathId("/SwitchableOutput/#2/State")) ==
          "/SwitchableOutput/relay_1/State");
}
