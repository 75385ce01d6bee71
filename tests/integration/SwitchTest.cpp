// Our own registers as real GX software publishes their paths: the output slots (53300...) driving
// /SwitchableOutput/<id>/... on a simulated GX IO extender (dbus-switch) and Shelly switch
// (dbus-shelly), and ranges taken from the settings' own definitions, refused before D-Bus.
#include "Site.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace vmd;
using namespace vmd::test;

namespace {

constexpr int kIoExtender = 1; // unit = /DeviceInstance of com.victronenergy.switch.ttyUSB0
constexpr int kShelly = 50;
const std::string kIoName = "com.victronenergy.switch.ttyUSB0";
const std::string kShellyName = "com.victronenergy.switch.shelly_a0dd6c9ef0f4_0";

// Registers of output slot k (1-based): 36 registers per slot from 53300.
int slot(int k, int offset) {
    return 53300 + 36 * (k - 1) + offset;
}
constexpr int kId = 0, kName = 8, kState = 24, kStatus = 25, kDimming = 26, kType = 27;

std::string text(const std::vector<std::uint16_t>& words) {
    std::string s;
    for (auto w : words)
        for (char c : {static_cast<char>(w >> 8), static_cast<char>(w & 0xFF)})
            if (c) s += c;
    return s;
}

std::string idOf(Client& client, int unit, int k) {
    return text(client.read(unit, slot(k, kId), 8).words);
}

std::int64_t integer(const codec::Value& v) {
    if (auto p = std::get_if<std::int64_t>(&v)) return *p;
    if (auto p = std::get_if<std::uint64_t>(&v)) return static_cast<std::int64_t>(*p);
    if (auto p = std::get_if<double>(&v)) return static_cast<std::int64_t>(std::llround(*p));
    return -1;
}

std::string switchScenario() {
    return env("VMD_SOURCE") + "/tools/venus-sim/scenarios/switches.yaml";
}

} // namespace

TEST_CASE("the output slots list a GX IO extender's outputs in natural order of their IDs", "[switch]") {
    SimProcess sim(switchScenario());
    Client client;
    REQUIRE(eventually([&] { return idOf(client, kIoExtender, 1) == "output_1"; }));
    CHECK(idOf(client, kIoExtender, 2) == "pwm_1");
    CHECK(idOf(client, kIoExtender, 3) == "pwm_2");
    CHECK(idOf(client, kIoExtender, 4) == "relay_1");
    CHECK(idOf(client, kIoExtender, 5) == "relay_2");
    auto sixth = client.read(kIoExtender, slot(6, kId), 36).words; // no 6th output: not available
    REQUIRE(sixth.size() == 36);
    CHECK(std::vector<std::uint16_t>(sixth.begin(), sixth.begin() + 35) == std::vector<std::uint16_t>(35, 0));
    CHECK(sixth[35] == 0xFFFF); // the slot's reserved word
    CHECK(text(client.read(kIoExtender, slot(4, kName), 16).words) == "Relay 1");
    // pwm_1: on, 40 %, dimmable (type 2), status on (9)
    CHECK(client.read(kIoExtender, slot(2, kState), 4).words == std::vector<std::uint16_t>{1, 9, 40, 2});
}

TEST_CASE("a PLC switches a GX IO extender relay and dims a PWM output through the output slots",
          "[switch]") {
    SimProcess sim(switchScenario());
    Client client;
    Peer peer;
    REQUIRE(eventually([&] { return idOf(client, kIoExtender, 4) == "relay_1"; }));

    REQUIRE(client.writeSingle(kIoExtender, slot(4, kState), 1).error == 0);
    CHECK(integer(peer.get(kIoName, "/SwitchableOutput/relay_1/State")) == 1);
    CHECK(integer(peer.get(kIoName, "/SwitchableOutput/relay_2/State")) == 0);
    auto set = linesOf(sim.logFile(), "SET " + kIoName + " /SwitchableOutput/relay_1/State ");
    REQUIRE(set.size() == 1);
    CHECK(set[0].find("/SwitchableOutput/relay_1/State i 1") != std::string::npos);
    CHECK(eventually(
        [&] { return client.read(kIoExtender, slot(4, kState), 1).words == std::vector<std::uint16_t>{1}; }));

    REQUIRE(client.writeSingle(kIoExtender, slot(2, kDimming), 75).error == 0);
    CHECK(integer(peer.get(kIoName, "/SwitchableOutput/pwm_1/Dimming")) == 75);
    CHECK(integer(peer.get(kIoName, "/SwitchableOutput/pwm_2/Dimming")) == 0);
    CHECK(eventually([&] {
        return client.read(kIoExtender, slot(2, kDimming), 1).words == std::vector<std::uint16_t>{75};
    }));

    // A relay has no /Dimming: the service refuses the write (exception 10).
    CHECK(client.writeSingle(kIoExtender, slot(4, kDimming), 50).exceptionCode() == 10);
    // The output's name, as text.
    std::vector<std::uint16_t> name(16, 0);
    name[0] = ('P' << 8) | 'u';
    name[1] = ('m' << 8) | 'p';
    REQUIRE(client.writeMultiple(kIoExtender, slot(4, kName), name).error == 0);
    CHECK(peer.get(kIoName, "/SwitchableOutput/relay_1/Settings/CustomName") ==
          codec::Value{std::string("Pump")});

    // A value changed on D-Bus (the GUI switching the relay off) is seen in its slot.
    REQUIRE(peer.set(kIoName, "/SwitchableOutput/relay_1/State", sdbus::Variant(std::int32_t{0})) == 0);
    CHECK(eventually(
        [&] { return client.read(kIoExtender, slot(4, kState), 1).words == std::vector<std::uint16_t>{0}; }));
}

TEST_CASE("a Shelly switch's output \"0\" is slot 1 at its own unit", "[switch]") {
    SimProcess sim(switchScenario());
    Client client;
    Peer peer;
    REQUIRE(eventually([&] { return idOf(client, kShelly, 1) == "0"; }));
    CHECK(text(client.read(kShelly, slot(1, kName), 16).words) == "Shelly Switch");
    CHECK(client.read(kShelly, slot(2, kId), 8).words == std::vector<std::uint16_t>(8, 0));
    REQUIRE(client.writeSingle(kShelly, slot(1, kState), 1).error == 0);
    CHECK(integer(peer.get(kShellyName, "/SwitchableOutput/0/State")) == 1);
    REQUIRE(client.writeSingle(kShelly, slot(1, kType), 0).error == 0); // momentary
    CHECK(integer(peer.get(kShellyName, "/SwitchableOutput/0/Settings/Type")) == 0);
}

TEST_CASE("the diagnostics service shows which output ID fills which slot", "[switch]") {
    SimProcess sim(switchScenario());
    Peer peer;
    auto slotsOf = [&](const std::string& service) -> std::string {
        auto count = integer(peer.get("com.victronenergy.modbustcp", "/Services/Count"));
        for (std::int64_t i = 0; i < count; ++i) {
            auto base = "/Services/" + std::to_string(i) + "/";
            if (peer.get("com.victronenergy.modbustcp", base + "ServiceName") == codec::Value{service}) {
                auto v = peer.get("com.victronenergy.modbustcp", base + "Slots");
                auto s = std::get_if<std::string>(&v);
                return s ? *s : std::string();
            }
        }
        return {};
    };
    CHECK(eventually([&] {
        return slotsOf(kIoName) == "/SwitchableOutput/ 1=output_1 2=pwm_1 3=pwm_2 4=relay_1 5=relay_2";
    }));
    CHECK(eventually([&] { return slotsOf(kShellyName) == "/SwitchableOutput/ 1=0"; }));
}

TEST_CASE("writes outside a setting's real range, or to an empty slot, are refused and never sent",
          "[switch]") {
    SimProcess sim(switchScenario());
    SimProcess rs(env("VMD_SOURCE") + "/tests/integration/scenarios/acsystem-ranges.yaml");
    Client client;
    REQUIRE(eventually([&] { return idOf(client, kIoExtender, 2) == "pwm_1"; }));
    REQUIRE(eventually([&] { return client.read(52, 46760, 1).error == 0; }));
    auto sent = [&] {
        return linesOf(sim.logFile(), "SET ").size() + linesOf(rs.logFile(), "SET ").size() +
               linesOf(env("VMD_SIM_LOG"), "SET com.victronenergy.settings /Settings/CGwacs/MaxChargePower ")
                   .size() +
               linesOf(env("VMD_SIM_LOG"), "SET com.victronenergy.settings /Settings/CGwacs/AcPowerSetPoint ")
                   .size();
    };
    const auto before = sent();
    CHECK(client.writeSingle(kIoExtender, slot(2, kDimming), 101).exceptionCode() == 3);
    CHECK(client.writeSingle(kIoExtender, slot(4, kState), 2).exceptionCode() == 3);
    CHECK(client.writeSingle(kIoExtender, slot(4, kType), 14).exceptionCode() == 3);
    CHECK(client.writeSingle(kIoExtender, slot(6, kState), 1).exceptionCode() == 10); // no 6th output
    // 40801 MaxChargePower: -1 to 1,000,000 W; 40803 AcPowerSetPoint: -1,000,000 to 1,000,000 W.
    CHECK(client.writeMultiple(100, 40801, {0x001E, 0x8481}).exceptionCode() == 3); // 2,000,001
    CHECK(client.writeMultiple(100, 40801, {0xFFFF, 0xFFFE}).exceptionCode() == 3); // -2
    CHECK(client.writeMultiple(100, 40803, {0xFFE1, 0x7B7F}).exceptionCode() == 3); // -2,000,001
    // 46760 acsystem MinimumSocLimit: 0-100 % (scale 10).
    CHECK(client.writeSingle(52, 46760, 1001).exceptionCode() == 3);
    CHECK(sent() == before);

    // Values inside the ranges go through, with dbus-acsystem's types.
    Peer peer;
    REQUIRE(client.writeMultiple(100, 40801, {0x000F, 0x4240}).error == 0); // 1,000,000
    CHECK(std::get<double>(peer.get("com.victronenergy.settings", "/Settings/CGwacs/MaxChargePower")) ==
          1000000.0);
    REQUIRE(client.writeMultiple(100, 40801, {0xFFFF, 0xFFFF}).error == 0); // -1: no limit
    REQUIRE(client.writeSingle(52, 46760, 1000).error == 0);
    CHECK(std::get<double>(peer.get("com.victronenergy.acsystem.socketcan_can1_sys0",
                                    "/Settings/Ess/MinimumSocLimit")) == 100.0);
    REQUIRE(client.writeMultiple(52, 46758, {0xFFFF, 0xF830}).error == 0); // -2000
    auto setpoint = linesOf(rs.logFile(),
                            "SET com.victronenergy.acsystem.socketcan_can1_sys0 /Ess/InverterPowerSetpoint ");
    REQUIRE(setpoint.size() == 1);
    CHECK(setpoint[0].find("/Ess/InverterPowerSetpoint i -2000") != std::string::npos);
}
