#include "modbus/Failsafe.h"
#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>

using namespace vmd;
using namespace std::chrono_literals;
using modbus::Failsafe;

namespace {

const std::string kVebus = "com.victronenergy.vebus.ttyO1";
const std::string kL1 = "/Hub4/L1/AcPowerSetpoint";
const std::string kL2 = "/Hub4/L2/AcPowerSetpoint";
const std::string kL3 = "/Hub4/L3/AcPowerSetpoint";

/// The mode-3 set points 37, 40, 41 (and 98, the 32-bit L2) with the rules given in `rules`.
std::shared_ptr<const regmap::RegisterMap> setpoints(const std::string& rules37, const std::string& rules40,
                                                     const std::string& rules41,
                                                     const std::string& rules98 = "",
                                                     const std::string& path41 = kL3) {
    std::string text = "registers:\n"
                       "  - {address: 37, service: vebus, path: " +
                       kL1 + ", type: int16, dbus-type: d, access: W" + rules37 +
                       "}\n"
                       "  - {address: 40, service: vebus, path: " +
                       kL2 + ", type: int16, dbus-type: d, access: W" + rules40 +
                       "}\n"
                       "  - {address: 41, service: vebus, path: " +
                       path41 + ", type: int16, dbus-type: d, access: W" + rules41 +
                       "}\n"
                       "  - {address: 98, service: vebus, path: " +
                       kL2 + ", type: int32, dbus-type: d, access: W" + rules98 + "}\n";
    regmap::MapLoader loader;
    loader.add(text, "failsafe-test.yaml");
    return std::make_shared<const regmap::RegisterMap>(loader.build());
}

const std::string kAfter60 = ", failsafe: {after: 60, value: 0}";

/// A client write of `address` in `map` (as the request handler makes it).
modbus::WriteOp clientWrite(const regmap::RegisterMap& map, regmap::RegisterAddress address, double value,
                            const std::string& service = kVebus) {
    const auto* reg = map.at(address);
    REQUIRE(reg);
    return {service, map.paths()[reg->paths.front()], {'d', value}, reg, {}, {}, {}};
}

regmap::Register setpoint() {
    regmap::Register r;
    r.address = 37;
    r.type = regmap::ModbusType::Int16;
    r.dbusType = 'd';
    r.access = regmap::Access::ReadWrite;
    r.failsafe = regmap::Failsafe{60, 0};
    return r;
}

const auto t0 = Failsafe::Clock::time_point{} + 1000s;

} // namespace

TEST_CASE("the fail-safe fires after its time and not before", "[failsafe]") {
    auto reg = setpoint();
    Failsafe failsafe;
    failsafe.clientWrote({kVebus, kL1, {'d', -2000.0}, &reg, {}, {}, {}}, t0);
    CHECK(failsafe.nextDeadline() == t0 + 60s);
    CHECK(failsafe.due(t0 + 59s).empty());
    auto due = failsafe.due(t0 + 60s);
    REQUIRE(due.size() == 1);
    CHECK(due[0].op.path == kL1);
    CHECK(due[0].op.value.dbusType == 'd');
    CHECK(std::get<double>(due[0].op.value.value) == 0.0);
    CHECK(due[0].attempt == 0);
    CHECK(failsafe.due(t0 + 120s).empty()); // in flight: not again before its result
    CHECK(!failsafe.nextDeadline());
    CHECK(!failsafe.written(due[0], true, t0 + 61s)); // accepted: done
    CHECK(failsafe.due(t0 + 1000s).empty());          // quiet until the next client write
    CHECK(!failsafe.nextDeadline());
    CHECK(failsafe.retrying() == 0);
}

TEST_CASE("the fail-safe does not fire while writes keep coming", "[failsafe]") {
    auto reg = setpoint();
    Failsafe failsafe;
    auto t = t0;
    modbus::WriteOp op{kVebus, kL1, {'d', 500.0}, &reg, {}, {}, {}};
    for (int i = 0; i < 10; ++i, t += 30s) {
        failsafe.clientWrote(op, t);
        CHECK(failsafe.due(t + 29s).empty());
        CHECK(failsafe.nextDeadline() == t + 60s);
    }
}

TEST_CASE("registers without a fail-safe are never armed", "[failsafe]") {
    auto reg = setpoint();
    reg.failsafe.reset();
    Failsafe failsafe;
    failsafe.clientWrote({"s", "/p", {'d', 1.0}, &reg, {}, {}, {}}, t0);
    CHECK(!failsafe.nextDeadline());
}

TEST_CASE("three armed fail-safes each fire at their own deadline, the next deadline known after each",
          "[failsafe]") {
    auto map = setpoints(kAfter60, kAfter60, kAfter60);
    Failsafe failsafe;
    (void)failsafe.setMap(*map, map);
    failsafe.clientWrote(clientWrite(*map, 37, 1100), t0);
    failsafe.clientWrote(clientWrite(*map, 40, 1200), t0 + 100ms);
    failsafe.clientWrote(clientWrite(*map, 41, 1300), t0 + 200ms);
    auto first = failsafe.due(t0 + 60s);
    REQUIRE(first.size() == 1);
    CHECK(first[0].op.path == kL1);
    CHECK(failsafe.nextDeadline() == t0 + 60s + 100ms);
    auto second = failsafe.due(t0 + 60s + 100ms);
    REQUIRE(second.size() == 1);
    CHECK(second[0].op.path == kL2);
    CHECK(failsafe.nextDeadline() == t0 + 60s + 200ms);
    auto third = failsafe.due(t0 + 61s);
    REQUIRE(third.size() == 1);
    CHECK(third[0].op.path == kL3);
}

TEST_CASE("a failed fail-safe write is retried with a bounded back-off until it is accepted", "[failsafe]") {
    auto reg = setpoint();
    Failsafe failsafe;
    failsafe.clientWrote({kVebus, kL1, {'d', -2000.0}, &reg, {}, {}, {}}, t0);
    auto t = t0 + 60s;
    auto firing = failsafe.due(t);
    REQUIRE(firing.size() == 1);
    std::vector<Failsafe::Clock::duration> delays;
    for (int attempt = 0; attempt < 8; ++attempt) {
        CHECK(firing[0].attempt == static_cast<unsigned>(attempt));
        auto delay = failsafe.written(firing[0], false, t); // refused, or timed out
        REQUIRE(delay);
        delays.push_back(*delay);
        CHECK(failsafe.retrying() == 1);
        CHECK(failsafe.nextDeadline() == t + *delay);
        CHECK(failsafe.due(t + *delay - 1ms).empty());
        t += *delay;
        firing = failsafe.due(t);
        REQUIRE(firing.size() == 1);
        CHECK(std::get<double>(firing[0].op.value.value) == 0.0);
    }
    CHECK(delays == std::vector<Failsafe::Clock::duration>{1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s});
    CHECK(!failsafe.written(firing[0], true, t)); // accepted at last
    CHECK(failsafe.retrying() == 0);
    CHECK(!failsafe.nextDeadline());
    CHECK(failsafe.due(t + 1h).empty());
}

TEST_CASE("a client write ends the retries, and a result from before it is ignored", "[failsafe]") {
    auto reg = setpoint();
    Failsafe failsafe;
    modbus::WriteOp op{kVebus, kL1, {'d', -2000.0}, &reg, {}, {}, {}};
    failsafe.clientWrote(op, t0);
    auto firing = failsafe.due(t0 + 60s);
    REQUIRE(failsafe.written(firing.at(0), false, t0 + 61s));
    CHECK(failsafe.retrying() == 1);
    firing = failsafe.due(t0 + 62s); // the retry is in flight when the client writes again
    REQUIRE(firing.size() == 1);
    failsafe.clientWrote(op, t0 + 62500ms);
    CHECK(failsafe.retrying() == 0);
    CHECK(!failsafe.written(firing[0], false, t0 + 63s)); // stale: not retried
    CHECK(failsafe.nextDeadline() == t0 + 122500ms);      // armed again by the client write
    CHECK(failsafe.due(t0 + 122s).empty());
    CHECK(failsafe.due(t0 + 122500ms).size() == 1);
}

TEST_CASE("a write decoded with the old map is armed by the rule of the map in force when it is accepted",
          "[failsafe]") {
    auto before = setpoints(kAfter60, kAfter60, kAfter60);
    auto after = setpoints("", kAfter60, kAfter60, ", failsafe: {after: 5, value: -100}");
    Failsafe failsafe;
    (void)failsafe.setMap(*before, before);
    auto pending37 = clientWrite(*before, 37, 900); // sent before the reload...
    auto pending98 = clientWrite(*before, 98, 800);
    (void)failsafe.setMap(*after, after);
    failsafe.clientWrote(pending37, t0); // ... accepted after it
    CHECK(!failsafe.nextDeadline());     // 37 has no fail-safe any more
    failsafe.clientWrote(pending98, t0);
    CHECK(failsafe.nextDeadline() == t0 + 5s); // 98 has one now
    auto due = failsafe.due(t0 + 5s);
    REQUIRE(due.size() == 1);
    CHECK(due[0].op.reg == after->at(98));
    CHECK(std::get<double>(due[0].op.value.value) == -100.0);
}

TEST_CASE("a reload keeps an armed fail-safe only where its register keeps one, and applies the new rule",
          "[failsafe]") {
    auto before = setpoints(kAfter60, kAfter60, kAfter60);
    Failsafe failsafe;
    (void)failsafe.setMap(*before, before);
    failsafe.clientWrote(clientWrite(*before, 37, 1100), t0);
    failsafe.clientWrote(clientWrite(*before, 40, 1200), t0);
    failsafe.clientWrote(clientWrite(*before, 41, 1300), t0);
    // 37 loses its fail-safe, 40 gets another rule, 41 is now another path with a fail-safe.
    auto after = setpoints("", ", failsafe: {after: 10, value: 50}", kAfter60, "", "/Hub4/Other");
    auto dropped = failsafe.setMap(*after, after);
    REQUIRE(dropped.size() == 2);
    CHECK(dropped[0].path == kL1);
    CHECK(dropped[1].path == kL3);
    CHECK(failsafe.nextDeadline() == t0 + 10s); // 40's new `after`, from the last client write
    auto due = failsafe.due(t0 + 10s);
    REQUIRE(due.size() == 1);
    CHECK(due[0].op.path == kL2);
    CHECK(std::get<double>(due[0].op.value.value) == 50.0);
    CHECK(due[0].op.reg == after->at(40));
    CHECK(!failsafe.nextDeadline());
}

TEST_CASE("a reload that changes the rule of a fail-safe write in flight sends the new value", "[failsafe]") {
    auto before = setpoints(kAfter60, "", "");
    Failsafe failsafe;
    (void)failsafe.setMap(*before, before);
    failsafe.clientWrote(clientWrite(*before, 37, 1100), t0);
    auto old = failsafe.due(t0 + 60s);
    REQUIRE(old.size() == 1);
    auto after = setpoints(", failsafe: {after: 60, value: -10}", "", "");
    CHECK(failsafe.setMap(*after, after).empty());
    CHECK(!failsafe.written(old[0], true, t0 + 61s)); // the old value's result does not end it
    auto again = failsafe.due(t0 + 61s);
    REQUIRE(again.size() == 1);
    CHECK(std::get<double>(again[0].op.value.value) == -10.0);
    // An unchanged rule keeps the write in flight valid.
    CHECK(failsafe.setMap(*after, after).empty());
    CHECK(!failsafe.written(again[0], true, t0 + 62s));
    CHECK(!failsafe.nextDeadline());
}

TEST_CASE("a write to a service of another type than the register's is not armed", "[failsafe]") {
    auto map = setpoints(kAfter60, kAfter60, kAfter60);
    Failsafe failsafe;
    (void)failsafe.setMap(*map, map);
    failsafe.clientWrote(clientWrite(*map, 37, 1, "com.victronenergy.multi.x"), t0);
    failsafe.clientWrote(clientWrite(*map, 37, 1, "not-a-bus-name"), t0);
    CHECK(!failsafe.nextDeadline());
}

TEST_CASE("a fail-safe value is sent as the path's D-Bus type", "[failsafe]") {
    auto reg = setpoint();
    reg.dbusType = 'i';
    CHECK(std::get<std::int64_t>(modbus::typedValue(reg, -3.4).value) == -3);
    reg.dbusType = 'u';
    CHECK(std::get<std::uint64_t>(modbus::typedValue(reg, 2.6).value) == 3);
}

TEST_CASE("the service type of a bus name", "[failsafe]") {
    CHECK(modbus::serviceTypeOf("com.victronenergy.vebus.ttyO1") == "vebus");
    CHECK(modbus::serviceTypeOf("com.victronenergy.hub4") == "hub4");
    CHECK(modbus::serviceTypeOf("vebus").empty());
    CHECK(modbus::serviceTypeOf("").empty());
}
