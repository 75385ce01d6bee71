#include "modbus/Failsafe.h"

#include <catch2/catch.hpp>

using namespace vmd;
using namespace std::chrono_literals;
using modbus::Failsafe;

namespace {
regmap::Register setpoint() {
    regmap::Register r;
    r.address = 37;
    r.type = regmap::ModbusType::Int16;
    r.dbusType = 'd';
    r.access = regmap::Access::ReadWrite;
    r.failsafe = regmap::Failsafe{60, 0};
    return r;
}
} // namespace

TEST_CASE("the fail-safe fires after its time and not before", "[failsafe]") {
    auto reg = setpoint();
    Failsafe failsafe;
    auto t0 = Failsafe::Clock::time_point{} + 1000s;
    failsafe.clientWrote(
        {"com.victronenergy.vebus.ttyO1", "/Hub4/L1/AcPowerSetpoint", {'d', -2000.0}, &reg, {}, {}}, t0);
    CHECK(failsafe.nextDeadline() == t0 + 60s);
    CHECK(failsafe.due(t0 + 59s).empty());
    auto due = failsafe.due(t0 + 60s);
    REQUIRE(due.size() == 1);
    CHECK(due[0].path == "/Hub4/L1/AcPowerSetpoint");
    CHECK(due[0].value.dbusType == 'd');
    CHECK(std::get<double>(due[0].value.value) == 0.0);
    CHECK(failsafe.due(t0 + 120s).empty()); // once, until the next client write
    CHECK(!failsafe.nextDeadline());
}

TEST_CASE("the fail-safe does not fire while writes keep coming", "[failsafe]") {
    auto reg = setpoint();
    Failsafe failsafe;
    auto t = Failsafe::Clock::time_point{} + 1000s;
    modbus::WriteOp op{
        "com.victronenergy.vebus.ttyO1", "/Hub4/L1/AcPowerSetpoint", {'d', 500.0}, &reg, {}, {}};
    for (int i = 0; i < 10; ++i, t += 30s) {
        failsafe.clientWrote(op, t);
        CHECK(failsafe.due(t + 29s).empty());
    }
}

TEST_CASE("registers without a fail-safe are never armed", "[failsafe]") {
    auto reg = setpoint();
    reg.failsafe.reset();
    Failsafe failsafe;
    failsafe.clientWrote({"s", "/p", {'d', 1.0}, &reg, {}, {}}, Failsafe::Clock::time_point{});
    CHECK(!failsafe.nextDeadline());
}

TEST_CASE("a fail-safe value is sent as the path's D-Bus type", "[failsafe]") {
    auto reg = setpoint();
    reg.dbusType = 'i';
    CHECK(std::get<std::int64_t>(modbus::typedValue(reg, -3.4).value) == -3);
    reg.dbusType = 'u';
    CHECK(std::get<std::uint64_t>(modbus::typedValue(reg, 2.6).value) == 3);
}
