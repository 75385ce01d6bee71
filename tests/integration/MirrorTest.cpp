// The D-Bus mirror under service churn, end to end: the daemon, simulated services on the private
// test bus (venus-sim with the fault keys of its scenarios) and a libmodbus client.
#include "Site.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <set>
#include <thread>

using namespace vmd;
using namespace vmd::test;

namespace {

constexpr std::uint16_t kTankType = 19; // the discovery block's code for "tank" (docs/registers.md)

std::string scenario(const char* name) {
    return env("VMD_SOURCE") + "/tests/integration/scenarios/" + name;
}

using Entry = std::array<std::uint16_t, 4>; // unit, type code, instance, flags

std::vector<Entry> discovery(Client& client) {
    std::vector<Entry> entries;
    auto head = client.read(100, 39000, 2);
    if (head.error || head.words[1] != 1) return entries;
    for (int first = 0; first < head.words[0]; first += 30) {
        int n = std::min<int>(30, head.words[0] - first);
        auto r = client.read(100, 39002 + 4 * first, 4 * n);
        for (std::size_t k = 0; k < static_cast<std::size_t>(n) && r.error == 0; ++k)
            entries.push_back({r.words[4 * k], r.words[4 * k + 1], r.words[4 * k + 2], r.words[4 * k + 3]});
    }
    return entries;
}

std::vector<Entry> tanks(Client& client) {
    auto entries = discovery(client);
    std::erase_if(entries, [](const Entry& e) { return e[1] != kTankType; });
    return entries;
}

/// A tank's level register (3004, % x 10) at a unit: the word, or -exception code.
int level(Client& client, int unit) {
    auto r = client.read(unit, 3004, 1);
    return r.error ? -r.exceptionCode() : r.words[0];
}

/// Holds `condition` true on every check for `duration` (after the event the test waits for).
bool throughout(const std::function<bool()>& condition, std::chrono::milliseconds duration) {
    auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) {
        if (!condition()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
}

std::vector<std::uint16_t> text8(const std::string& text) {
    std::vector<std::uint16_t> words(8, 0);
    for (std::size_t i = 0; i < text.size() && i < 16; ++i)
        words[i / 2] |= static_cast<std::uint16_t>(static_cast<unsigned char>(text[i]) << (i % 2 ? 0 : 8));
    return words;
}

} // namespace

TEST_CASE("a service still loading is not served, listed or written to, and hides nobody", "[site][churn]") {
    SimProcess real(scenario("tank-zero.yaml"));
    Client client;
    REQUIRE(eventually([&] { return level(client, 100) == 400; }));

    SimProcess loading(scenario("tank-loading.yaml"), false); // GetItems and GetValue answer 10 minutes late
    REQUIRE(
        eventually([&] { return !linesOf(loading.logFile(), "READ com.victronenergy.tank.aload").empty(); }));
    // The loading service sorts first and would win instance 0 if it were indexed there.
    CHECK(throughout([&] { return level(client, 100) == 400; }, std::chrono::milliseconds(1000)));
    CHECK(level(client, 53) == -10);
    CHECK(tanks(client) == std::vector<Entry>{{100, kTankType, 0, 1}});
    REQUIRE(client.writeMultiple(100, 3010, text8("renamed")).error == 0);
    CHECK(real.setLines().size() == 1);
    CHECK(loading.setLines().empty());
}

TEST_CASE("a service restarting under reads answers exception 10 until loaded and never zeros",
          "[site][churn]") {
    Client client;
    std::set<int> seen;
    {
        SimProcess real(scenario("tank-zero.yaml"));
        REQUIRE(eventually([&] { return level(client, 100) == 400; }));
    }
    SimProcess back(scenario("tank-zero-slow.yaml"), false); // reads answered 1.5 s late
    CHECK(eventually(
        [&] {
            auto l = level(client, 100);
            seen.insert(l);
            return l == 400;
        },
        std::chrono::seconds(15)));
    // It did answer late (the simulator writes its REPLY line after sending the reply: wait for it).
    CHECK(eventually([&] { return !linesOf(back.logFile(), "REPLY com.victronenergy.tank.zreal").empty(); },
                     std::chrono::seconds(5)));
    CHECK(seen.count(-10) == 1);                                                   // away, then loading
    for (int l : seen)
        CHECK((l == 400 || l == -10));
}

TEST_CASE("a service whose every read failed is loaded again and served at its own unit", "[site][churn]") {
    SimProcess failing(scenario("tank-failing.yaml"), false); // every read fails for its first 2.5 s
    Client client;
    CHECK(eventually([&] { return level(client, 54) == 330; }, std::chrono::seconds(15)));
    CHECK(!linesOf(env("VMD_SERVER_LOG"), "com.victronenergy.tank.failing: every read failed").empty());
    CHECK(tanks(client) == std::vector<Entry>{{54, kTankType, 54, 1}});
}

TEST_CASE("a service without a valid /DeviceInstance is not served as instance 0", "[site][churn]") {
    SimProcess real(scenario("tank-zero.yaml"));
    Client client;
    REQUIRE(eventually([&] { return level(client, 100) == 400; }));
    SimProcess bad(scenario("tank-bad-instances.yaml"));
    const auto log = env("VMD_SERVER_LOG");
    REQUIRE(eventually([&] {
        return !linesOf(log, "service online: com.victronenergy.tank.a_empty").empty() &&
               !linesOf(log, "service online: com.victronenergy.tank.b_huge").empty() &&
               !linesOf(log, "service online: com.victronenergy.tank.c_none").empty();
    }));
    CHECK(level(client, 100) == 400); // the real instance 0, not one of the three
    CHECK(level(client, 0) == 400);
    CHECK(tanks(client) == std::vector<Entry>{{100, kTankType, 0, 1}});
    CHECK(!linesOf(log, "com.victronenergy.tank.b_huge: /DeviceInstance 4294967296 is out of range").empty());
    CHECK(!linesOf(log, "com.victronenergy.tank.c_none, but not served: no valid /DeviceInstance").empty());
}

TEST_CASE("a late reply from a name's previous owner does not land on its new owner", "[site][churn]") {
    // The first owner answers GetItems 3 s late and hands the name over after 1.5 s to the second,
    // which is queued for it: one NameOwnerChanged from the first to the second.
    SimProcess first(scenario("tank-handover-old.yaml"), false);
    Client client;
    REQUIRE(eventually(
        [&] { return !linesOf(first.logFile(), "READ com.victronenergy.tank.handover").empty(); }));
    SimProcess second(scenario("tank-handover-new.yaml"), false);
    REQUIRE(eventually([&] { return !linesOf(first.logFile(), "RELEASED").empty(); }));
    CHECK(eventually([&] { return level(client, 55) == 770; }));
    REQUIRE(eventually(
        [&] { return !linesOf(first.logFile(), "REPLY com.victronenergy.tank.handover").empty(); }));
    CHECK(throughout([&] { return level(client, 55) == 770; }, std::chrono::milliseconds(1000)));
}

namespace {
/// One bus connection that owns two tank names and answers each name with its own values, as a
/// process that tells its names apart by a message's destination does. Its signals cannot say which
/// name they are for.
class TwoNameProcess {
  public:
    using Items = std::map<std::string, std::map<std::string, sdbus::Variant>>;
    TwoNameProcess() : connection_(sdbus::createSessionBusConnectionWithAddress(env("VMD_BUS"))) {
        root_ = sdbus::createObject(*connection_, "/");
        root_->registerMethod("GetItems").onInterface("com.victronenergy.BusItem").implementedAs([this] {
            const auto& v = values(*root_);
            Items items;
            items["/DeviceInstance"]["Value"] = sdbus::Variant(v.instance);
            items["/Level"]["Value"] = sdbus::Variant(v.level);
            return items;
        });
        root_->registerSignal("ItemsChanged")
            .onInterface("com.victronenergy.BusItem")
            .withParameters<Items>();
        root_->finishRegistration();
        level_ = sdbus::createObject(*connection_, "/Level");
        level_->registerMethod("GetValue").onInterface("com.victronenergy.BusItem").implementedAs([this] {
            return sdbus::Variant(values(*level_).level);
        });
        level_->registerSignal("PropertiesChanged")
            .onInterface("com.victronenergy.BusItem")
            .withParameters<std::map<std::string, sdbus::Variant>>();
        level_->finishRegistration();
        connection_->requestName(kA);
        connection_->requestName(kB);
    }
    /// Changes name A's level and signals it as a Venus service does: PropertiesChanged, ItemsChanged.
    void setLevelA(double level) {
        a_.level = level;
        std::map<std::string, sdbus::Variant> change{{"Value", sdbus::Variant(level)}};
        level_->emitSignal("PropertiesChanged")
            .onInterface("com.victronenergy.BusItem")
            .withArguments(change);
        Items items{{"/Level", change}};
        root_->emitSignal("ItemsChanged").onInterface("com.victronenergy.BusItem").withArguments(items);
    }
    /// Answers pending calls, then checks `condition`, until it holds or `timeout` passes.
    bool serveUntil(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        return eventually(
            [&] {
                while (connection_->processPendingRequest()) {
                }
                return condition();
            },
            timeout);
    }

  private:
    struct Values {
        std::int32_t instance;
        double level;
    };
    static constexpr const char* kA = "com.victronenergy.tank.twin_a";
    static constexpr const char* kB = "com.victronenergy.tank.twin_b";
    const Values& values(sdbus::IObject& object) const {
        return object.getCurrentlyProcessedMessage()->getDestination() == kB ? b_ : a_;
    }
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IObject> root_;
    std::unique_ptr<sdbus::IObject> level_;
    Values a_{56, 10.0};
    Values b_{57, 20.0};
};
} // namespace

TEST_CASE("signals from a connection that owns two names change only the service they belong to",
          "[site][churn]") {
    TwoNameProcess process;
    Client client;
    REQUIRE(process.serveUntil([&] { return level(client, 56) == 100 && level(client, 57) == 200; }));
    process.setLevelA(15.0);
    CHECK(process.serveUntil([&] { return level(client, 56) == 150; }));
    CHECK(process.serveUntil([&] { return level(client, 57) != 200; }, std::chrono::milliseconds(1000)) ==
          false);
    CHECK(level(client, 57) == 200);
}

namespace {
/// One tank (instance 59) whose values the test sends by signal in every D-Bus type, in both of
/// the emission styles of Venus services: ItemsChanged on "/" and PropertiesChanged on the path.
class TypedTank {
  public:
    using Properties = std::map<std::string, sdbus::Variant>;
    using Items = std::map<std::string, Properties>;
    TypedTank() : connection_(sdbus::createSessionBusConnectionWithAddress(env("VMD_BUS"))) {
        root_ = sdbus::createObject(*connection_, "/");
        root_->registerMethod("GetItems").onInterface(kInterface).implementedAs([] {
            return Items{{"/DeviceInstance", {{"Value", sdbus::Variant(std::int32_t{59})}}},
                         {"/FluidType", {{"Value", sdbus::Variant(std::uint32_t{1})}}},
                         {"/Level", {{"Value", sdbus::Variant(10.0)}}},
                         {"/CustomName", {{"Value", sdbus::Variant(std::string("typed"))}}}};
        });
        root_->registerSignal("ItemsChanged").onInterface(kInterface).withParameters<Items>();
        root_->finishRegistration();
        for (const char* path : {"/FluidType", "/Level", "/CustomName"}) {
            auto& object = objects_[path];
            object = sdbus::createObject(*connection_, path);
            object->registerSignal("PropertiesChanged").onInterface(kInterface).withParameters<Properties>();
            object->finishRegistration();
        }
        connection_->requestName("com.victronenergy.tank.typed");
    }
    /// Sends one value: by ItemsChanged (among an unmapped path whose value is a struct, and with
    /// Text before Value), or by PropertiesChanged.
    void send(const std::string& path, const sdbus::Variant& value, bool batched) {
        Properties change{{"Text", sdbus::Variant(std::string("text"))}, {"Value", value}};
        if (batched) {
            Items items{{"/Mgmt/Unmapped",
                         {{"Value", sdbus::Variant(sdbus::Struct<std::int32_t, std::string>(1, "x"))}}},
                        {path, change},
                        {"/Zzz/Unmapped", {{"Value", sdbus::Variant(std::vector<std::string>{"a", "b"})}}}};
            root_->emitSignal("ItemsChanged").onInterface(kInterface).withArguments(items);
        } else {
            objects_.at(path)->emitSignal("PropertiesChanged").onInterface(kInterface).withArguments(change);
        }
    }
    bool serveUntil(const std::function<bool()>& condition) {
        return eventually([&] {
            while (connection_->processPendingRequest()) {
            }
            return condition();
        });
    }

  private:
    static constexpr const char* kInterface = "com.victronenergy.BusItem";
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IObject> root_;
    std::map<std::string, std::unique_ptr<sdbus::IObject>> objects_;
};

int word(Client& client, int address) {
    auto r = client.read(59, address, 1);
    return r.error ? -r.exceptionCode() : r.words[0];
}
} // namespace

TEST_CASE("a value sent by signal in any D-Bus type reaches its register, in both emission styles",
          "[site][churn]") {
    TypedTank tank;
    Client client;
    REQUIRE(tank.serveUntil([&] { return word(client, 3003) == 1 && word(client, 3004) == 100; }));
    const std::vector<std::pair<sdbus::Variant, int>> values = {
        {sdbus::Variant(std::uint8_t{2}), 2},
        {sdbus::Variant(true), 1},
        {sdbus::Variant(std::int16_t{3}), 3},
        {sdbus::Variant(std::uint16_t{4}), 4},
        {sdbus::Variant(std::int32_t{5}), 5},
        {sdbus::Variant(std::uint32_t{6}), 6},
        {sdbus::Variant(std::int64_t{7}), 7},
        {sdbus::Variant(std::uint64_t{8}), 8},
        {sdbus::Variant(9.0), 9},
        {sdbus::Variant(false), 0},
        {sdbus::Variant(std::int32_t{11}), 11},
    };
    for (bool batched : {true, false})
        for (const auto& [value, expected] : values) {
            INFO((batched ? "ItemsChanged, " : "PropertiesChanged, ")
                 << value.peekValueType() << " " << expected);
            tank.send("/FluidType", value, batched);
            CHECK(tank.serveUntil([&, expected = expected] { return word(client, 3003) == expected; }));
        }
    for (bool batched : {true, false}) {
        INFO((batched ? "ItemsChanged" : "PropertiesChanged"));
        tank.send("/Level", sdbus::Variant(42.5), batched);
        CHECK(tank.serveUntil([&] { return word(client, 3004) == 425; }));
        tank.send("/Level", sdbus::Variant(std::vector<std::int32_t>{}), batched); // invalid: not available
        CHECK(tank.serveUntil([&] { return word(client, 3004) == 0; }));
        tank.send("/Level", sdbus::Variant(12.5), batched);
        CHECK(tank.serveUntil([&] { return word(client, 3004) == 125; }));
        tank.send("/Level", sdbus::Variant(sdbus::ObjectPath("/x")), batched); // no number: not available
        CHECK(tank.serveUntil([&] { return word(client, 3004) == 0; }));
        for (const std::string name : {"a longer name, 16", "short"}) { // a string replaces a string
            tank.send("/CustomName", sdbus::Variant(name), batched);
            CHECK(tank.serveUntil([&] { return client.read(59, 3010, 8).words == text8(name); }));
        }
    }
}

namespace {
/// The "writes ..." lines of the server log, in order.
std::vector<std::string> switchLines() {
    return linesOf(env("VMD_SERVER_LOG"), "] writes ");
}
bool logged(const std::string& text) {
    auto lines = switchLines();
    return !lines.empty() && lines.back().find(text) != std::string::npos;
}
} // namespace

TEST_CASE("nothing is logged as decided by the GX setting before the setting was read", "[site]") {
    auto lines = switchLines();
    REQUIRE(!lines.empty());
    CHECK(lines.front().find("disabled by") == std::string::npos);
    auto log = linesOf(env("VMD_SERVER_LOG"), "");
    auto online = std::find_if(log.begin(), log.end(), [](const std::string& line) {
        return line.find("service online: com.victronenergy.settings") != std::string::npos;
    });
    REQUIRE(online != log.end());
    for (const auto& line : lines)
        if (line.find("by the GX setting") != std::string::npos) // only once settings has loaded
            CHECK(std::find(log.begin(), log.end(), line) > online);
    CHECK(eventually([] {
        return logged(
            "writes enabled by the GX setting com.victronenergy.settings /Settings/ModbusServer/ReadWrite");
    }));
}

// The GX write switch on a site that starts without a settings service (gx-no-settings.yaml).
TEST_CASE("the GX write switch stays shut while the settings service is away or loading", "[.gxswitch]") {
    Client client;
    // A bus that has never had a settings service: not a GX device, writes allowed.
    CHECK(logged("writes enabled: no com.victronenergy.settings on this bus (not a GX device)"));
    CHECK(client.writeSingle(246, 22, 150).error == 0);
    {
        SimProcess settings(scenario("settings-readonly.yaml")); // ReadWrite = 0
        CHECK(eventually([&] { return client.writeSingle(246, 22, 151).exceptionCode() == 2; }));
        CHECK(logged("writes refused by the GX setting com.victronenergy.settings "
                     "/Settings/ModbusServer/ReadWrite = 0"));
    }
    // Settings left: the setting is unknown, and it was 0: the switch must not open by itself.
    REQUIRE(eventually(
        [&] { return !linesOf(env("VMD_SERVER_LOG"), "service left: com.victronenergy.settings").empty(); }));
    CHECK(client.writeSingle(246, 22, 152).exceptionCode() == 2);
    CHECK(logged(
        "writes refused: com.victronenergy.settings /Settings/ModbusServer/ReadWrite unknown: the settings "
        "service left the bus"));
    CHECK(throughout([&] { return client.writeSingle(246, 22, 153).exceptionCode() == 2; },
                     std::chrono::milliseconds(500)));
    {
        SimProcess settings(scenario("settings-slow.yaml"), false); // ReadWrite = 1, reads answered 3 s late
        REQUIRE(eventually(
            [&] { return !linesOf(settings.logFile(), "READ com.victronenergy.settings").empty(); }));
        CHECK(eventually([&] { return logged("the settings service is still loading"); }));
        CHECK(client.writeSingle(246, 22, 154).exceptionCode() == 2);
        CHECK(eventually([&] { return client.writeSingle(246, 22, 155).error == 0; }));
        CHECK(logged("writes enabled by the GX setting com.victronenergy.settings "
                     "/Settings/ModbusServer/ReadWrite = 1"));
    }
    REQUIRE(eventually([&] {
        return linesOf(env("VMD_SERVER_LOG"), "service left: com.victronenergy.settings").size() == 2;
    }));
    CHECK(client.writeSingle(246, 22, 156).exceptionCode() == 2);
    CHECK(logged("the settings service left the bus"));
    for (const auto& line : switchLines())
        CHECK(line.find("disabled by") == std::string::npos);
}

TEST_CASE("with --read-only the log says that --read-only refuses writes", "[.readonly]") {
    Client client;
    CHECK(logged("writes refused by --read-only"));
    CHECK(client.writeSingle(246, 22, 150).exceptionCode() == 2);
}
