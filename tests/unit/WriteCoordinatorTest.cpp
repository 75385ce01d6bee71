// The life of a write (modbus/WriteCoordinator): every ordering of a client write, its SetValue's
// answer, the write timeout, the fail-safe deadline, a reload and the client leaving. Pure: time is
// a parameter, SetValues are what the coordinator asks to send, answers are handed back by token.
#include "modbus/WriteCoordinator.h"
#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace vmd;
using namespace std::chrono_literals;
using modbus::ExceptionCode;
using modbus::WriteCoordinator;
using modbus::WriteResult;
using Kind = WriteCoordinator::Event::Kind;

namespace {

const std::string kVebus = "com.victronenergy.vebus.ttyO1";
const std::string kSwitch = "com.victronenergy.switch.io";
const std::string kL1 = "/Hub4/L1/AcPowerSetpoint";
const std::string kL2 = "/Hub4/L2/AcPowerSetpoint";
const std::string kL3 = "/Hub4/L3/AcPowerSetpoint";
const auto t0 = WriteCoordinator::Clock::time_point{} + 1000s;

/// 37, 40, 41: the mode-3 set points; 37 with a fail-safe of `after37` s, 40 with one of 10 s;
/// 5000: slot 2's state of a switch (an output-slot register) with a fail-safe of 3 s.
std::shared_ptr<const regmap::RegisterMap> map(double after37 = 3) {
    std::string text = "registers:\n"
                       "  - {address: 37, service: vebus, path: " +
                       kL1 + ", type: int16, dbus-type: d, access: W, failsafe: {after: " +
                       std::to_string(after37) +
                       ", value: 0}}\n"
                       "  - {address: 40, service: vebus, path: " +
                       kL2 +
                       ", type: int16, dbus-type: d, access: W, failsafe: {after: 10, value: 0}}\n"
                       "  - {address: 41, service: vebus, path: " +
                       kL3 +
                       ", type: int16, dbus-type: d, access: W}\n"
                       "  - {address: 5000, service: switch, path: /SwitchableOutput/#2/State, type: uint16, "
                       "dbus-type: i, access: W, failsafe: {after: 3, value: 0}}\n";
    regmap::MapLoader loader;
    loader.add(text, "write-coordinator-test.yaml");
    return std::make_shared<const regmap::RegisterMap>(loader.build());
}

modbus::WriteOp write(const regmap::RegisterMap& m, regmap::RegisterAddress address, double value,
                      const std::string& service = kVebus) {
    const auto* reg = m.at(address);
    REQUIRE(reg);
    return {service, m.paths()[reg->paths.front()], {'d', value}, reg, {}, {}, {}};
}

/// A coordinator with the map in force and the write timeout of the daemon's default.
struct Fixture {
    std::shared_ptr<const regmap::RegisterMap> m = map();
    WriteCoordinator writes{500ms};
    Fixture() { writes.setMap(*m, m); }

    /// The only SetValue asked for now.
    WriteCoordinator::Send sent() {
        auto sends = writes.takeSends();
        REQUIRE(sends.size() == 1);
        return sends.front();
    }
    std::vector<WriteCoordinator::Finish> finished() { return writes.takeFinished(); }
    std::vector<Kind> events() {
        std::vector<Kind> kinds;
        for (const auto& e : writes.takeEvents())
            kinds.push_back(e.kind);
        return kinds;
    }
    /// Fail-safe writes sent at `now`.
    std::vector<WriteCoordinator::Send> fire(WriteCoordinator::Clock::time_point now) {
        writes.tick(now);
        auto sends = writes.takeSends();
        sends.erase(std::remove_if(sends.begin(), sends.end(), [](const auto& s) { return !s.origin.peer.empty(); }),
                    sends.end());
        return sends;
    }
};

bool has(const std::vector<Kind>& kinds, Kind kind) {
    return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

} // namespace

TEST_CASE("an accepted write is answered at once and arms its fail-safe", "[writes]") {
    Fixture f;
    auto job = f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 1500)}, t0);
    auto s = f.sent();
    CHECK(s.op.path == kL1);
    CHECK(f.writes.nextWake() == t0 + 500ms); // the write timeout
    f.writes.answered(s.token, WriteResult::Accepted, 0, t0 + 10ms);
    auto done = f.finished();
    REQUIRE(done.size() == 1);
    CHECK(done[0].job == job);
    CHECK(done[0].code == ExceptionCode::None);
    CHECK(f.writes.nextWake() == t0 + 10ms + 3s); // the fail-safe, from the answer
    CHECK(f.fire(t0 + 3s).empty());
    auto fs = f.fire(t0 + 10ms + 3s);
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].op.path == kL1);
    CHECK(std::get<double>(fs[0].op.value.value) == 0.0);
}

TEST_CASE("a refused write ends its request with exception 10 and arms nothing", "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 16}, {write(*f.m, 37, 1), write(*f.m, 40, 2)}, t0);
    f.writes.answered(f.sent().token, WriteResult::Refused, 1, t0 + 1ms);
    auto done = f.finished();
    REQUIRE(done.size() == 1);
    CHECK(done[0].code == ExceptionCode::GatewayPathUnavailable);
    CHECK(f.writes.takeSends().empty()); // 40 is not sent after a refusal
    CHECK_FALSE(f.writes.nextWake());
}

TEST_CASE("exception 11 is 'outcome unknown': the fail-safe is armed, and again when the write lands late",
          "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 1500)}, t0);
    auto s = f.sent();
    f.writes.tick(t0 + 499ms);
    CHECK(f.finished().empty());
    f.writes.tick(t0 + 500ms);
    auto done = f.finished();
    REQUIRE(done.size() == 1);
    CHECK(done[0].code == ExceptionCode::GatewayTargetFailedToRespond);
    CHECK(has(f.events(), Kind::ClientTimedOut));
    CHECK(f.writes.pendingWrites() == 1); // still pending on D-Bus

    SECTION("it lands late: re-armed from the landing") {
        f.writes.answered(s.token, WriteResult::Accepted, 0, t0 + 2s);
        CHECK(has(f.events(), Kind::ClientLate));
        CHECK(f.finished().empty()); // its request was answered already
        CHECK(f.writes.nextWake() == t0 + 2s + 3s);
        CHECK(f.fire(t0 + 3500ms).empty());
        CHECK(f.fire(t0 + 5s).size() == 1);
    }
    SECTION("it is refused late: the fail-safe armed at the timeout still fires") {
        f.writes.answered(s.token, WriteResult::Refused, 1, t0 + 2s);
        CHECK(f.writes.nextWake() == t0 + 500ms + 3s);
        CHECK(f.fire(t0 + 3500ms).size() == 1);
    }
    SECTION("the fail-safe comes due before the late answer: it waits, then fires if the write was refused") {
        CHECK(f.fire(t0 + 3500ms).empty());
        CHECK(has(f.events(), Kind::FailsafeWaits));
        CHECK_FALSE(f.writes.nextWake()); // nothing to wake for until the answer
        CHECK(f.fire(t0 + 10s).empty());
        CHECK(f.events().empty()); // the wait is logged once
        f.writes.answered(s.token, WriteResult::Refused, 1, t0 + 11s);
        CHECK(f.fire(t0 + 11s).size() == 1);
    }
    SECTION("the fail-safe comes due before the late answer: an acceptance re-arms it") {
        CHECK(f.fire(t0 + 3500ms).empty());
        f.writes.answered(s.token, WriteResult::Accepted, 0, t0 + 11s);
        CHECK(f.fire(t0 + 11s).empty());
        CHECK(f.writes.nextWake() == t0 + 14s);
    }
}

TEST_CASE("a fail-safe never overtakes a client write in flight on its path", "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 1500)}, t0);
    f.writes.answered(f.sent().token, WriteResult::Accepted, 0, t0);
    (void)f.finished();
    // 2.9 s later the controller writes again; its SetValue is slow (answered 300 ms later).
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 1600)}, t0 + 2900ms);
    auto slow = f.sent();
    CHECK(f.fire(t0 + 3s).empty()); // due, but the client's write is in flight
    f.writes.answered(slow.token, WriteResult::Accepted, 0, t0 + 3200ms);
    CHECK(f.fire(t0 + 3200ms).empty());
    CHECK(f.writes.nextWake() == t0 + 6200ms);
    // A write to another path does not hold it.
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 40, 100)}, t0 + 6100ms);
    (void)f.sent();
    CHECK(f.fire(t0 + 6200ms).size() == 1);
}

TEST_CASE("a client write made while a fail-safe write is pending is sent at once and wins", "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 1500)}, t0);
    f.writes.answered(f.sent().token, WriteResult::Accepted, 0, t0);
    (void)f.finished();
    auto fs = f.fire(t0 + 3s);
    REQUIRE(fs.size() == 1);
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 1700)}, t0 + 3100ms);
    auto client = f.sent(); // sent behind the fail-safe's SetValue: D-Bus keeps the order
    f.writes.answered(fs[0].token, WriteResult::Accepted, 0, t0 + 3200ms);
    f.writes.answered(client.token, WriteResult::Accepted, 0, t0 + 3300ms);
    CHECK(f.writes.nextWake() == t0 + 6300ms); // armed again by the client's write
}

TEST_CASE("a request is applied whole: its writes go on when nobody waits for the reply", "[writes]") {
    Fixture f;
    // The client left after sending: the server simply drops the reply; the coordinator does not care.
    f.writes.begin({"plc", 246, 16}, {write(*f.m, 37, 1), write(*f.m, 40, 2), write(*f.m, 41, 3)}, t0);
    std::vector<std::string> paths;
    for (int i = 0; i < 3; ++i) {
        auto s = f.sent();
        paths.push_back(s.op.path);
        CHECK(f.finished().empty());
        f.writes.answered(s.token, WriteResult::Accepted, 0, t0 + 1ms);
    }
    CHECK(paths == std::vector<std::string>{kL1, kL2, kL3});
    REQUIRE(f.finished().size() == 1);
}

TEST_CASE("each write of a request has its own timeout", "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 16}, {write(*f.m, 37, 1), write(*f.m, 40, 2)}, t0);
    f.writes.answered(f.sent().token, WriteResult::Accepted, 0, t0 + 400ms);
    (void)f.sent();
    f.writes.tick(t0 + 600ms); // past the first write's timeout, not the second's
    CHECK(f.finished().empty());
    f.writes.tick(t0 + 900ms);
    REQUIRE(f.finished().size() == 1);
}

TEST_CASE("a reload changes the write timeout of writes sent from then on", "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 1)}, t0);
    (void)f.sent();
    f.writes.setWriteTimeout(3000ms);
    f.writes.tick(t0 + 500ms);
    REQUIRE(f.finished().size() == 1); // the write in flight keeps its own
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 40, 1)}, t0 + 1s);
    (void)f.sent();
    f.writes.tick(t0 + 3900ms);
    CHECK(f.finished().empty());
    f.writes.tick(t0 + 4s);
    CHECK(f.finished().size() == 1);
}

TEST_CASE("a reload that shortens a fail-safe moves its deadline earlier, and one that drops it disarms",
          "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 40, 100)}, t0); // after 10 s
    f.writes.answered(f.sent().token, WriteResult::Accepted, 0, t0);
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 100)}, t0 + 1s); // after 3 s
    f.writes.answered(f.sent().token, WriteResult::Accepted, 0, t0 + 1s);
    CHECK(f.writes.nextWake() == t0 + 4s); // the short one armed after the long one comes first
    auto shorter = map(1);
    f.writes.setMap(*shorter, shorter);
    CHECK(f.writes.nextWake() == t0 + 2s);
    auto fs = f.fire(t0 + 2s);
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].op.path == kL1);
    regmap::MapLoader loader;
    loader.add("registers:\n  - {address: 40, service: vebus, path: " + kL2 +
                   ", type: int16, dbus-type: d, access: W}\n",
               "without.yaml");
    auto without = std::make_shared<const regmap::RegisterMap>(loader.build());
    f.writes.setMap(*without, without);
    CHECK(has(f.events(), Kind::FailsafeDropped));
    CHECK(f.fire(t0 + 20s).empty());
}

TEST_CASE("a write answered after a reload arms by the new map's rule", "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 100)}, t0);
    auto s = f.sent();
    auto longer = map(30);
    f.writes.setMap(*longer, longer);
    f.writes.answered(s.token, WriteResult::Accepted, 0, t0 + 100ms);
    CHECK(f.writes.nextWake() == t0 + 100ms + 30s);
}

TEST_CASE("a fail-safe rule on an output-slot register fires for the output in that slot", "[writes]") {
    Fixture f;
    auto op = write(*f.m, 5000, 1, kSwitch);
    op.mapPath = op.path; // the request handler's write: the identifier's path, found by the slot path
    op.path = "/SwitchableOutput/relay_1/State";
    f.writes.begin({"plc", 100, 6}, {op}, t0);
    f.writes.answered(f.sent().token, WriteResult::Accepted, 0, t0);
    auto fs = f.fire(t0 + 3s);
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].op.service == kSwitch);
    CHECK(fs[0].op.path == "/SwitchableOutput/relay_1/State");
}

TEST_CASE("a write that cannot be started ends its request with exception 4", "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 16}, {write(*f.m, 37, 1), write(*f.m, 40, 1)}, t0);
    f.writes.failedToStart(f.sent().token, t0);
    auto done = f.finished();
    REQUIRE(done.size() == 1);
    CHECK(done[0].code == ExceptionCode::ServerDeviceFailure);
    CHECK(f.writes.takeSends().empty());
    CHECK(f.writes.pendingWrites() == 0);
}

TEST_CASE("a fail-safe write that fails is retried with its back-off, and a client write ends the retries",
          "[writes]") {
    Fixture f;
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 1)}, t0);
    f.writes.answered(f.sent().token, WriteResult::Accepted, 0, t0);
    auto fs = f.fire(t0 + 3s);
    REQUIRE(fs.size() == 1);
    f.writes.answered(fs[0].token, WriteResult::Refused, -1, t0 + 3s);
    CHECK(f.writes.failsafeRetrying() == 1);
    CHECK(f.writes.nextWake() == t0 + 4s);
    f.writes.begin({"plc", 246, 6}, {write(*f.m, 37, 2)}, t0 + 3500ms);
    f.writes.answered(f.sent().token, WriteResult::Accepted, 0, t0 + 3500ms);
    CHECK(f.writes.failsafeRetrying() == 0);
    CHECK(f.writes.nextWake() == t0 + 6500ms);
}
