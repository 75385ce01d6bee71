// The daemon against the simulated ESS site on a private bus, through a real Modbus client.
#include "Site.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <set>
#include <thread>

using namespace vmd;
using namespace vmd::test;

namespace {
std::string scenario(const char* name) {
    return env("VMD_SOURCE") + "/tests/integration/scenarios/" + name;
}
std::optional<double> number(const codec::Value& v) {
    if (auto p = std::get_if<double>(&v)) return *p;
    if (auto p = std::get_if<std::int64_t>(&v)) return static_cast<double>(*p);
    if (auto p = std::get_if<std::uint64_t>(&v)) return static_cast<double>(*p);
    return std::nullopt;
}
} // namespace

TEST_CASE("unit 100 serves the system and settings values that are on the bus", "[site]") {
    Client client;
    Peer peer;
    auto serial = client.read(100, 800, 6);
    REQUIRE(serial.error == 0);
    auto text = std::get<std::string>(peer.get("com.victronenergy.system", "/Serial"));
    REQUIRE(text.size() >= 2);
    CHECK(serial.words[0] == ((static_cast<unsigned>(text[0]) << 8) | static_cast<unsigned>(text[1])));
    auto mode = client.read(100, 2902, 1);
    REQUIRE(mode.error == 0);
    CHECK(mode.words[0] == *number(peer.get("com.victronenergy.settings", "/Settings/CGwacs/Hub4Mode")));
}

TEST_CASE("unit 246 serves the VE.Bus Multi at instance 257", "[site]") {
    Client client;
    Peer peer;
    auto r = client.read(246, 33, 1);
    REQUIRE(r.error == 0);
    CHECK(r.words[0] == *number(peer.get("com.victronenergy.vebus.ttyO1", "/Mode")));
    // A block of 39 registers (3..41) carries each register's own value, where the published list puts
    // it: 3 is /Ac/ActiveIn/L1/V (uint16, x10), 31 /State, 33 /Mode.
    auto block = client.read(246, 3, 39);
    REQUIRE(block.error == 0);
    REQUIRE(block.words.size() == 39);
    const std::string multi = "com.victronenergy.vebus.ttyO1";
    CHECK(block.words[0] == std::llround(*number(peer.get(multi, "/Ac/ActiveIn/L1/V")) * 10));
    CHECK(block.words[31 - 3] == *number(peer.get(multi, "/State")));
    CHECK(block.words[33 - 3] == *number(peer.get(multi, "/Mode")));
}

TEST_CASE("a value changed on D-Bus is seen over Modbus", "[site]") {
    Client client;
    Peer peer;
    REQUIRE(peer.set("com.victronenergy.vebus.ttyO1", "/Ac/ActiveIn/CurrentLimit", sdbus::Variant(12.3)) ==
            0);
    CHECK(eventually([&] { return client.read(246, 22, 1).words == std::vector<std::uint16_t>{123}; }));
    REQUIRE(peer.set("com.victronenergy.vebus.ttyO1", "/Ac/ActiveIn/CurrentLimit", sdbus::Variant(16.0)) ==
            0);
    CHECK(eventually([&] { return client.read(246, 22, 1).words == std::vector<std::uint16_t>{160}; }));
}

TEST_CASE("a write reaches the simulated service with the path's D-Bus type", "[site]") {
    Client client;
    Peer peer;
    REQUIRE(client.writeSingle(100, 2700, static_cast<std::uint16_t>(-250)).error == 0);
    CHECK(peer.signature("com.victronenergy.settings", "/Settings/CGwacs/AcPowerSetPoint") == "d");
    CHECK(*number(peer.get("com.victronenergy.settings", "/Settings/CGwacs/AcPowerSetPoint")) == -250.0);

    REQUIRE(client.writeMultiple(246, 96, {0xFFFF, 0xF830}).error == 0); // int32 -2000 at the 32-bit twin
    CHECK(*number(peer.get("com.victronenergy.vebus.ttyO1", "/Hub4/L1/AcPowerSetpoint")) == -2000.0);
    CHECK(eventually([&] { return client.read(246, 37, 1).words == std::vector<std::uint16_t>{0xF830}; }));

    REQUIRE(client.writeSingle(246, 33, 4).error == 0);
    CHECK(peer.signature("com.victronenergy.vebus.ttyO1", "/Mode") == "u");
    CHECK(*number(peer.get("com.victronenergy.vebus.ttyO1", "/Mode")) == 4.0);
    REQUIRE(client.writeSingle(246, 33, 3).error == 0);
}

TEST_CASE("the same value written twice is sent to D-Bus twice", "[site]") {
    SimProcess extra(scenario("extra-meter.yaml"));
    Client client;
    REQUIRE(client.writeSingle(41, 22, 100).error == 0);
    REQUIRE(client.writeSingle(41, 22, 100).error == 0);
    CHECK(extra.setLines().size() == 2);
}

TEST_CASE("a write to a read-only register answers exception 2", "[site]") {
    Client client;
    CHECK(client.writeSingle(246, 31, 1).exceptionCode() == 2);
    CHECK(client.writeSingle(100, 2903, 1).exceptionCode() == 2);
}

TEST_CASE("a unit with no device answers exception 10", "[site]") {
    Client client;
    CHECK(client.read(1, 3, 1).exceptionCode() == 10);
    CHECK(client.read(17, 800, 6).exceptionCode() == 10);
}

TEST_CASE("an unmapped address answers exception 2", "[site]") {
    Client client;
    CHECK(client.read(100, 1000, 1).exceptionCode() == 2);
    CHECK(client.read(246, 148, 1).exceptionCode() == 2);
}

TEST_CASE("quantity 126 answers exception 3", "[site]") {
    Client client;
    CHECK(client.raw(246, {3, 0, 3, 0, 126}) == std::vector<std::uint8_t>{0x83, 3});
}

TEST_CASE("an unknown function answers exception 1", "[site]") {
    Client client;
    CHECK(client.raw(246, {1, 0, 0, 0, 1}) == std::vector<std::uint8_t>{0x81, 1});
    // 43 with MEI 13 (CANopen) is not served; 43/14 is (libmodbus cannot read its replies: pymodbus
    // checks it in identification_test.py, raw sockets in robustness_test.py).
    CHECK(client.raw(246, {43, 13, 0, 0}) == std::vector<std::uint8_t>{0xAB, 1});
}

TEST_CASE("a refused SetValue answers exception 10", "[site]") {
    SimProcess extra(scenario("extra-meter.yaml"));
    Client client;
    CHECK(client.writeSingle(41, 33, 2).exceptionCode() == 10);
}

TEST_CASE("a SetValue that never answers gives exception 11 after the write timeout", "[site]") {
    // The site runs this binary with --write-timeout 4000 (tests/integration/CMakeLists.txt).
    SimProcess extra(scenario("extra-meter.yaml"));
    Client client;
    REQUIRE(eventually([&] { return client.read(41, 33, 1).error == 0; }));
    auto start = std::chrono::steady_clock::now();
    CHECK(client.writeSingle(41, 37, 5).exceptionCode() == 11);
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(elapsed >= std::chrono::milliseconds(3900)); // the configured timeout, not the default 1 s
    CHECK(elapsed < std::chrono::seconds(20));
    CHECK(client.read(41, 33, 1).error == 0); // the connection is still served
}

TEST_CASE("a service that leaves answers exception 10 and is served again when it returns", "[site]") {
    Client client;
    {
        SimProcess extra(scenario("extra-meter.yaml"));
        REQUIRE(
            eventually([&] { return client.read(40, 2600, 1).words == std::vector<std::uint16_t>{1234}; }));
        extra.stop();
        CHECK(eventually([&] { return client.read(40, 2600, 1).exceptionCode() == 10; }));
    }
    SimProcess back(scenario("extra-meter.yaml"));
    CHECK(eventually([&] { return client.read(40, 2600, 1).words == std::vector<std::uint16_t>{1234}; }));
}

TEST_CASE("many clients at once all get their own answers", "[site]") {
    // Values that no other test changes: the system serial's first word ("c0") and the Multi's
    // /State (252) and AC-in voltage (230.4 V x 10), each client asking in its own order.
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    // Six clients: below the default of 8 connections per address, with room for the ones still closing.
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&, t] {
            Client client;
            const std::vector<std::uint16_t> serial{0x6330}, state{252}, volts{2304};
            for (int i = 0; i < 200; ++i) {
                const bool systemFirst = (i + t) % 2 == 0;
                auto a = systemFirst ? client.read(100, 800, 1) : client.read(246, 31, 1);
                auto b = systemFirst ? client.read(246, 3, 1) : client.read(100, 800, 1);
                if (systemFirst ? (a.words != serial || b.words != volts)
                                : (a.words != state || b.words != serial))
                    ++failures;
            }
        });
    for (auto& t : threads)
        t.join();
    CHECK(failures == 0);
}

namespace {
/// A plain TCP connection that writes MBAP frames and reads replies back, without libmodbus, so
/// that many requests can be in flight at once.
class RawConnection {
  public:
    RawConnection() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(env("VMD_PORT"))));
        ::inet_pton(AF_INET, env("VMD_HOST").c_str(), &address.sin_addr);
        timeval timeout{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error("cannot connect to the server");
    }
    ~RawConnection() { ::close(fd_); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    /// Queues one MBAP frame; flush() writes all queued frames at once.
    void send(std::uint16_t transaction, std::uint8_t unit, const std::vector<std::uint8_t>& pdu) {
        const auto length = static_cast<std::uint16_t>(pdu.size() + 1);
        const std::uint8_t header[] = {static_cast<std::uint8_t>(transaction >> 8),
                                       static_cast<std::uint8_t>(transaction & 0xFF),
                                       0,
                                       0,
                                       static_cast<std::uint8_t>(length >> 8),
                                       static_cast<std::uint8_t>(length & 0xFF),
                                       unit};
        out_.insert(out_.end(), std::begin(header), std::end(header));
        out_.insert(out_.end(), pdu.begin(), pdu.end());
    }
    void flush() {
        std::size_t done = 0;
        while (done < out_.size()) {
            auto n = ::write(fd_, out_.data() + done, out_.size() - done);
            if (n <= 0) throw std::runtime_error("write failed");
            done += static_cast<std::size_t>(n);
        }
        out_.clear();
    }
    /// The next reply: its transaction ID and PDU.
    std::pair<std::uint16_t, std::vector<std::uint8_t>> receive() {
        auto header = exactly(7);
        const auto transaction = static_cast<std::uint16_t>(header[0] << 8 | header[1]);
        const auto length = static_cast<std::size_t>(header[4] << 8 | header[5]);
        return {transaction, exactly(length - 1)};
    }

  private:
    std::vector<std::uint8_t> exactly(std::size_t count) {
        std::vector<std::uint8_t> data(count);
        std::size_t done = 0;
        while (done < count) {
            auto n = ::read(fd_, data.data() + done, count - done);
            if (n <= 0) throw std::runtime_error("the connection closed or timed out before a whole reply");
            done += static_cast<std::size_t>(n);
        }
        return data;
    }
    int fd_;
    std::vector<std::uint8_t> out_;
};
} // namespace

TEST_CASE("pipelined requests on one connection are answered in order, each with its own values", "[site]") {
    // 60 requests written at once: reads of three unit/register pairs with known values, and every
    // tenth a write that must wait for D-Bus; the replies come back in the order sent, each with
    // its request's transaction ID and values.
    RawConnection connection;
    std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>> expected;
    for (int i = 0; i < 60; ++i) {
        const auto transaction = static_cast<std::uint16_t>(1000 + i * 7);
        if (i % 10 == 9) {
            const std::vector<std::uint8_t> write{6, 0, 22, 0, static_cast<std::uint8_t>(150 + i)};
            connection.send(transaction, 246, write);
            expected.emplace_back(transaction, write); // function 6 echoes the request
        } else if (i % 3 == 0) {
            connection.send(transaction, 100, {3, 0x03, 0x20, 0, 2}); // 800..801: "c061"
            expected.emplace_back(transaction, std::vector<std::uint8_t>{3, 4, 0x63, 0x30, 0x36, 0x31});
        } else if (i % 3 == 1) {
            connection.send(transaction, 246, {4, 0, 31, 0, 1}); // /State 252
            expected.emplace_back(transaction, std::vector<std::uint8_t>{4, 2, 0, 252});
        } else {
            connection.send(transaction, 246, {3, 0, 3, 0, 1}); // 230.4 V x 10
            expected.emplace_back(transaction, std::vector<std::uint8_t>{3, 2, 0x09, 0x00});
        }
    }
    connection.flush();
    for (const auto& [transaction, pdu] : expected) {
        auto reply = connection.receive();
        CHECK(reply.first == transaction);
        CHECK(reply.second == pdu);
    }
}

TEST_CASE("services without GetItems are loaded through GetValue on / or path by path", "[site]") {
    SimProcess extra(scenario("extra-meter.yaml"));
    Client client;
    CHECK(eventually([&] { return client.read(42, 3004, 1).words == std::vector<std::uint16_t>{555}; }));
    CHECK(client.read(42, 3001, 2).words == std::vector<std::uint16_t>{0, 2000});
    CHECK(eventually([&] { return client.read(43, 3004, 1).words == std::vector<std::uint16_t>{125}; }));
    CHECK(client.read(43, 3001, 2).words == std::vector<std::uint16_t>{0, 3000});
}

TEST_CASE("the fail-safe writes its value 3 s after the last client write, and not before", "[site]") {
    SimProcess extra(scenario("extra-meter.yaml"));
    Client client;
    Peer peer;
    const std::string service = "com.victronenergy.vebus.test_faulty";
    auto limit = [&] { return *number(peer.get(service, "/Ac/ActiveIn/CurrentLimit")); };
    // Writes every 300 ms for 2 s keep the fail-safe (3 s, scenarios/failsafe-overlay.yaml) from firing.
    for (int i = 0; i < 7; ++i) {
        REQUIRE(client.writeSingle(41, 22, 123).error == 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        CHECK(limit() == 12.3);
    }
    auto lastWrite = std::chrono::steady_clock::now();
    REQUIRE(client.writeSingle(41, 22, 123).error == 0);
    CHECK(eventually([&] { return limit() == 10.0; }, std::chrono::seconds(15)));
    CHECK(std::chrono::steady_clock::now() - lastWrite >= std::chrono::milliseconds(2950));
    CHECK(!linesOf(env("VMD_SERVER_LOG"), "fail-safe: no client wrote register 22").empty());
    CHECK(eventually([&] {
        return std::get<std::int64_t>(peer.get("com.victronenergy.modbustcp", "/Failsafe/Activations")) >= 1;
    }));
}

TEST_CASE("the GX setting /Settings/ModbusServer/ReadWrite switches writes off and on, live", "[site]") {
    Client client;
    Peer peer;
    REQUIRE(peer.set("com.victronenergy.settings", "/Settings/ModbusServer/ReadWrite", sdbus::Variant(0)) ==
            0);
    CHECK(eventually([&] { return client.writeSingle(246, 22, 160).exceptionCode() == 2; }));
    REQUIRE(peer.set("com.victronenergy.settings", "/Settings/ModbusServer/ReadWrite", sdbus::Variant(1)) ==
            0);
    CHECK(eventually([&] { return client.writeSingle(246, 22, 160).error == 0; }));
}

TEST_CASE("a service that leaves in the middle of a write gives exception 10, not a timeout",
          "[site][faults]") {
    SimProcess extra(scenario("extra-meter.yaml"));
    Client client;
    REQUIRE(eventually([&] { return client.read(41, 33, 1).error == 0; }));
    ModbusResult result;
    auto start = std::chrono::steady_clock::now();
    std::thread writer([&] { result = client.writeSingle(41, 37, 5); }); // /Hub4/L1/AcPowerSetpoint hangs
    // The service leaves once the SetValue has reached it (its log says so), not after a guessed sleep.
    auto hung = [&] {
        auto lines = extra.setLines();
        return std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
            return line.find("/Hub4/L1/AcPowerSetpoint") != std::string::npos &&
                   line.find("hang") != std::string::npos;
        });
    };
    const bool reached = eventually(hung);
    extra.stop();
    writer.join();
    CHECK(reached);
    CHECK(result.exceptionCode() == 10);
    // Before the write timeout (4 s here) would have given exception 11.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3900));
}

TEST_CASE("reads stay correct while a service floods the bus with changes", "[site][faults]") {
    SimProcess flood(scenario("flood.yaml"));
    Client client;
    REQUIRE(eventually([&] { return client.read(46, 3004, 1).error == 0; }));
    std::set<std::uint16_t> levels;
    int failures = 0;
    for (int i = 0; i < 300; ++i) {
        auto level = client.read(46, 3004, 1);
        auto system = client.read(100, 2902, 1);
        if (level.error || system.error)
            ++failures;
        else
            levels.insert(level.words[0]);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK(failures == 0);
    CHECK(levels.size() > 5); // the flood's changes are seen
    for (auto level : levels)
        CHECK((level >= 100 && level <= 900)); // 10..90 % at scale 10
}

TEST_CASE("values of an unexpected D-Bus type read as not available", "[site][faults]") {
    // A peer publishing an array and a struct where numbers are expected.
    auto connection = sdbus::createSessionBusConnectionWithAddress(env("VMD_BUS"));
    using Items = std::map<std::string, std::map<std::string, sdbus::Variant>>;
    auto root = sdbus::createObject(*connection, "/");
    root->registerMethod("GetItems").onInterface("com.victronenergy.BusItem").implementedAs([] {
        Items items;
        items["/DeviceInstance"]["Value"] = sdbus::Variant(std::int32_t{44});
        items["/Level"]["Value"] = sdbus::Variant(std::vector<double>{1.0, 2.0});
        items["/Capacity"]["Value"] = sdbus::Variant(sdbus::Struct<std::int32_t, std::string>(7, "x"));
        items["/FluidType"]["Value"] = sdbus::Variant(std::uint32_t{2});
        return items;
    });
    root->finishRegistration();
    connection->requestName("com.victronenergy.tank.weird");
    connection->enterEventLoopAsync();
    Client client;
    REQUIRE(eventually([&] { return client.read(44, 3003, 1).words == std::vector<std::uint16_t>{2}; }));
    CHECK(client.read(44, 3004, 1).words == std::vector<std::uint16_t>{0});
    CHECK(client.read(44, 3001, 2).words == std::vector<std::uint16_t>{0, 0});
    connection->leaveEventLoop();
}

namespace {
/// The diagnostics entry index of a service, or -1.
int diagnosticsEntry(Peer& peer, const std::string& name) try {
    auto count = std::get<std::int64_t>(peer.get("com.victronenergy.modbustcp", "/Services/Count"));
    for (int i = 0; i < count; ++i)
        if (std::get<std::string>(peer.get("com.victronenergy.modbustcp",
                                           "/Services/" + std::to_string(i) + "/ServiceName")) == name)
            return i;
    return -1;
} catch (const sdbus::Error&) { // not published yet
    return -1;
}
std::int64_t diagnostic(Peer& peer, const std::string& path) {
    return std::get<std::int64_t>(peer.get("com.victronenergy.modbustcp", path));
}
} // namespace

TEST_CASE("the diagnostics service lists every service with its unit and counts requests and errors",
          "[site][diag]") {
    Client client;
    Peer peer;
    REQUIRE(eventually([&] { return diagnosticsEntry(peer, "com.victronenergy.vebus.ttyO1") >= 0; }));
    auto vebus = "/Services/" + std::to_string(diagnosticsEntry(peer, "com.victronenergy.vebus.ttyO1")) + "/";
    CHECK(diagnostic(peer, vebus + "UnitId") == 246);
    CHECK(diagnostic(peer, vebus + "VrmInstanceId") == 257);
    CHECK(diagnostic(peer, vebus + "IsActive") == 1);
    CHECK(diagnostic(peer, vebus + "Reachable") == 1);
    auto settings = diagnosticsEntry(peer, "com.victronenergy.settings"); // no /DeviceInstance: listed anyway
    REQUIRE(settings >= 0);
    CHECK(diagnostic(peer, "/Services/" + std::to_string(settings) + "/UnitId") == 100);

    auto requests = diagnostic(peer, "/Requests/Count");
    auto gateway = diagnostic(peer, "/Exceptions/10");
    CHECK(client.read(9, 800, 1).exceptionCode() == 10);
    CHECK(eventually([&] {
        return diagnostic(peer, "/Requests/Count") > requests && diagnostic(peer, "/Exceptions/10") > gateway;
    }));
    auto message = std::get<std::string>(peer.get("com.victronenergy.modbustcp", "/LastError/Message"));
    CHECK(message.find("unit 9 function 3 address 800 quantity 1: exception 10") != std::string::npos);
    CHECK(diagnostic(peer, "/Clients/Count") >= 1);
}

TEST_CASE("a service that left stays in the diagnostics as inactive", "[site][diag]") {
    Peer peer;
    {
        SimProcess extra(scenario("extra-meter.yaml"));
        REQUIRE(eventually([&] { return diagnosticsEntry(peer, "com.victronenergy.grid.test_meter") >= 0; }));
    }
    auto entry =
        "/Services/" + std::to_string(diagnosticsEntry(peer, "com.victronenergy.grid.test_meter")) + "/";
    CHECK(eventually([&] { return diagnostic(peer, entry + "IsActive") == 0; }));
    CHECK(diagnostic(peer, entry + "UnitId") == 40);
}

TEST_CASE("the discovery block at unit 100 lists every service with its unit, type code and instance",
          "[site]") {
    SimProcess extra(scenario("extra-meter.yaml"));
    Client client;
    auto table = [&] {
        std::vector<std::array<std::uint16_t, 4>> entries;
        auto head = client.read(100, 39000, 2);
        if (head.error || head.words[1] != 1) return entries;
        auto count = head.words[0];
        for (int first = 0; first < count; first += 30) {
            int n = std::min<int>(30, count - first);
            auto r = client.read(100, 39002 + 4 * first, 4 * n);
            for (int k = 0; k < n; ++k)
                entries.push_back({r.words[static_cast<std::size_t>(4 * k)],
                                   r.words[static_cast<std::size_t>(4 * k + 1)],
                                   r.words[static_cast<std::size_t>(4 * k + 2)],
                                   r.words[static_cast<std::size_t>(4 * k + 3)]});
        }
        return entries;
    };
    auto has = [&](const auto& entries, std::array<std::uint16_t, 4> e) {
        return std::find(entries.begin(), entries.end(), e) != entries.end();
    };
    // 8 site services + the 4 of the extra process.
    REQUIRE(eventually([&] { return table().size() >= 12; }));
    auto entries = table();
    CHECK(has(entries, {246, 5, 257, 1}));           // vebus at its port instance
    CHECK(has(entries, {100, 2, 0, 1}));             // settings: no /DeviceInstance, instance 0, unit 100
    CHECK(has(entries, {100, 1, 0, 1}));             // system
    CHECK(has(entries, {245, 9, 258, 1}));           // battery
    CHECK(has(entries, {239, 10, 288, 1}));          // solar charger on ttyUSB0
    CHECK(has(entries, {30, 14, 30, 1}));            // grid meter at its own instance
    CHECK(has(entries, {40, 14, 40, 1}));            // the extra grid meter
    for (std::size_t i = 1; i < entries.size(); ++i) // sorted by type code, then instance
        CHECK(std::make_pair(entries[i - 1][1], entries[i - 1][2]) <=
              std::make_pair(entries[i][1], entries[i][2]));
    CHECK(client.read(100, 39002 + 4 * static_cast<int>(entries.size()), 4).words ==
          std::vector<std::uint16_t>{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF});
}

TEST_CASE("every Modbus type reads live through the server", "[site]") {
    Client client;
    Peer peer;
    // uint64: the clock (830), high word first.
    auto clock = client.read(100, 830, 4);
    REQUIRE(clock.error == 0);
    std::uint64_t seconds = 0;
    for (auto w : clock.words)
        seconds = (seconds << 16) | w;
    CHECK(std::llabs(static_cast<long long>(seconds) - static_cast<long long>(std::time(nullptr))) <= 5);
    // uint32 computed from /FirmwareVersion 0x034201: v >> 8, v & 0xFF.
    CHECK(client.read(100, 834, 2).words == std::vector<std::uint16_t>{0x0342, 0x0001});
    // int32: the 32-bit set point twin (96) against its int16 register (37).
    REQUIRE(client.writeSingle(246, 37, static_cast<std::uint16_t>(-1234)).error == 0);
    CHECK(eventually([&] {
        return client.read(246, 96, 2).words == std::vector<std::uint16_t>{0xFFFF, 0xFB2E};
    }));
    REQUIRE(client.writeSingle(246, 37, 0).error == 0);
    // uint32 from the map: the battery's /TimeToGo or similar is not in every scenario; the grid's
    // energy counters are: 2634 /Ac/Energy/Forward, uint32 x100 (kWh).
    auto forward = client.read(30, 2634, 2);
    REQUIRE(forward.error == 0);
    auto kwh = std::get<double>(peer.get("com.victronenergy.grid.cgwacs_ttyUSB1_mb1", "/Ac/Energy/Forward"));
    CHECK(((std::uint32_t{forward.words[0]} << 16) | forward.words[1]) ==
          static_cast<std::uint32_t>(std::llround(kwh * 100)));
    // string[7]: the grid meter's serial, NUL padded.
    auto serial = std::get<std::string>(peer.get("com.victronenergy.grid.cgwacs_ttyUSB1_mb1", "/Serial"));
    auto words = client.read(30, 2609, 7).words;
    REQUIRE(words.size() == 7);
    std::string text;
    for (auto w : words) {
        text.push_back(static_cast<char>(w >> 8));
        text.push_back(static_cast<char>(w & 0xFF));
    }
    CHECK(text.substr(0, serial.size()) == serial.substr(0, 14));
    // reserved: 0xFFFF in every word.
    CHECK(client.read(246, 122, 8).words == std::vector<std::uint16_t>(8, 0xFFFF));
}
