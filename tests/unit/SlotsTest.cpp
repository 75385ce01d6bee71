// Slot paths (regmap/Slots.h): `/SwitchableOutput/#k/State` is the output identifier that holds slot k
// of a service (core/SlotAssignment: natural order at first, then the next free slot, kept for good);
// reads and writes through the pure handler and the ServiceIndex, and the state file's text.
#include "regmap/Slots.h"
#include "app/SlotStateFile.h"
#include "core/ServiceIndex.h"
#include "core/SlotAssignment.h"
#include "modbus/RequestHandler.h"
#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

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
    std::shared_ptr<core::SlotAssignment> slots = std::make_shared<core::SlotAssignment>();
    core::ServiceIndex index{map, slots};
    modbus::RequestHandler handler{index, {}};
    core::ServiceState* io = nullptr;

    SlotSite() {
        start();
        // Published in the order dbus-switch adds them: not the slot order.
        publish("/SwitchableOutput/relay_1/State", std::int64_t{0});
        publish("/SwitchableOutput/relay_1/Settings/CustomName", std::string("Relay 1"));
        publish("/SwitchableOutput/pwm_1/State", std::int64_t{1});
        publish("/SwitchableOutput/pwm_1/Dimming", std::int64_t{40});
        loaded();
    }
    /// The service (re)starts, as the BusMirror sees it: a new state, loading, then served.
    void start() {
        io = &index.addLoading("com.victronenergy.switch.ttyUSB0");
        io->instance = 1;
        io->hasInstance = true;
    }
    void loaded() {
        io->ready = true;
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

TEST_CASE("a service's first identifiers take the slots in natural order", "[slots]") {
    SlotSite site;
    CHECK(text(site.read(100, 4)) == "pwm_1");
    CHECK(site.read(104, 2) == std::vector<std::uint16_t>{1, 40});
    CHECK(text(site.read(110, 4)) == "relay_1");
    CHECK(site.read(114, 2) == std::vector<std::uint16_t>{0, 0}); // a relay has no /Dimming: not available
    CHECK(site.read(120, 6) == std::vector<std::uint16_t>(6, 0)); // no third output: not available
    CHECK(site.index.slotSummary(*site.io) == "/SwitchableOutput/ 1=pwm_1 2=relay_1");
}

TEST_CASE("a new identifier that sorts first takes the next free slot; the others keep theirs", "[slots]") {
    SlotSite site;
    site.publish("/SwitchableOutput/output_1/State", std::int64_t{1});
    CHECK(text(site.read(100, 4)) == "pwm_1");
    CHECK(site.read(104, 2) == std::vector<std::uint16_t>{1, 40});
    CHECK(text(site.read(110, 4)) == "relay_1");
    CHECK(text(site.read(120, 4)) == "output_1");
    CHECK(site.read(124, 1) == std::vector<std::uint16_t>{1});
    auto relay = site.write(114, 1); // slot 2 still switches relay_1
    REQUIRE(relay.writes.size() == 1);
    CHECK(relay.writes[0].path == "/SwitchableOutput/relay_1/State");
    site.publish("/SwitchableOutput/relay_1/State", std::int64_t{1}); // a change of an older output
    CHECK(site.read(114, 1) == std::vector<std::uint16_t>{1});
    CHECK(site.index.slotSummary(*site.io) == "/SwitchableOutput/ 1=pwm_1 2=relay_1 3=output_1");
}

TEST_CASE("a restarted service keeps its slots; a gone output's slot reads not available and refuses "
          "writes (exception 2) until the same identifier returns",
          "[slots]") {
    SlotSite site;
    site.publish("/SwitchableOutput/output_1/State", std::int64_t{1});
    // The service restarts without pwm_1 and with a new output that sorts first.
    site.start();
    site.publish("/SwitchableOutput/relay_1/State", std::int64_t{1});
    site.publish("/SwitchableOutput/output_1/State", std::int64_t{0});
    site.publish("/SwitchableOutput/aux_1/State", std::int64_t{1});
    site.loaded();
    CHECK(site.index.slotSummary(*site.io) == "/SwitchableOutput/ 1=(pwm_1) 2=relay_1 3=output_1 4=aux_1");
    CHECK(site.read(100, 6) == std::vector<std::uint16_t>(6, 0)); // slot 1: identifier, State, Dimming
    CHECK(text(site.read(110, 4)) == "relay_1");
    CHECK(site.read(114, 1) == std::vector<std::uint16_t>{1});
    auto gone = site.write(104, 1);
    CHECK(gone.reply.exception() == ExceptionCode::IllegalDataAddress);
    CHECK(gone.writes.empty());
    CHECK(site.index.writeTarget(*site.io, *site.map.pathId("/SwitchableOutput/#1/State")).state ==
          core::SlotTarget::State::Vacated);
    // pwm_1 comes back (a change signal while running): its own slot again, values and writes.
    site.publish("/SwitchableOutput/pwm_1/Dimming", std::int64_t{55});
    CHECK(text(site.read(100, 4)) == "pwm_1");
    CHECK(site.read(105, 1) == std::vector<std::uint16_t>{55});
    auto back = site.write(105, 60);
    REQUIRE(back.writes.size() == 1);
    CHECK(back.writes[0].path == "/SwitchableOutput/pwm_1/Dimming");
    CHECK(site.index.slotSummary(*site.io) == "/SwitchableOutput/ 1=pwm_1 2=relay_1 3=output_1 4=aux_1");
}

TEST_CASE("slots belong to the service's type and instance, not to its bus name", "[slots]") {
    SlotSite site;
    site.publish("/SwitchableOutput/output_1/State", std::int64_t{1});
    // The same device behind another bus name (another USB port): same instance, same slots.
    auto& moved = site.index.addLoading("com.victronenergy.switch.ttyUSB1");
    moved.instance = 1;
    moved.hasInstance = true;
    site.index.remove("com.victronenergy.switch.ttyUSB0");
    for (const char* id : {"output_1", "relay_1", "pwm_1"})
        CHECK(site.index.applySlotValue(moved, std::string("/SwitchableOutput/") + id + "/State",
                                        std::int64_t{0}));
    moved.ready = true;
    site.index.reindex();
    CHECK(site.index.slotSummary(moved) == "/SwitchableOutput/ 1=pwm_1 2=relay_1 3=output_1");
    CHECK(core::ServiceIndex::slotOwner(moved) == "switch:1");
    // Another instance has slots of its own.
    auto& other = site.index.add("com.victronenergy.switch.ttyUSB2");
    other.instance = 2;
    other.hasInstance = true;
    CHECK(site.index.applySlotValue(other, "/SwitchableOutput/relay_1/State", std::int64_t{0}));
    site.index.reindex();
    CHECK(site.index.slotSummary(other) == "/SwitchableOutput/ 1=relay_1");
    // A service without an instance is known by its bus name.
    core::ServiceState system;
    system.name = "com.victronenergy.system";
    CHECK(core::ServiceIndex::slotOwner(system) == "com.victronenergy.system");
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

TEST_CASE("a write to a slot no output ever held is exception 10, a value out of range exception 3; nothing "
          "is sent",
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

TEST_CASE("a reload carries the outputs and their slots over, projected onto the new map's slots",
          "[slots]") {
    SlotSite site;
    auto other = slotMap();
    auto rebuilt = site.index.rebuiltFor(other);
    auto* io = rebuilt->find("com.victronenergy.switch.ttyUSB0");
    REQUIRE(io);
    CHECK(rebuilt->slotSummary(*io) == "/SwitchableOutput/ 1=pwm_1 2=relay_1");
    CHECK(std::get<std::int64_t>(io->value(*other.pathId("/SwitchableOutput/#1/Dimming"))) == 40);
    CHECK(rebuilt->writePath(*io, *other.pathId("/SwitchableOutput/#2/State")) ==
          "/SwitchableOutput/relay_1/State");
    // A new output after the reload takes the next free slot of the same assignment.
    CHECK(rebuilt->applySlotValue(*io, "/SwitchableOutput/output_1/State", std::int64_t{1}));
    CHECK(rebuilt->slotSummary(*io) == "/SwitchableOutput/ 1=pwm_1 2=relay_1 3=output_1");
    CHECK(site.slots->slotOf("switch:1", "/SwitchableOutput/", "output_1") == 3);
}

TEST_CASE("the slot assignment: the lowest free slot, kept for good, per owner and family", "[slots]") {
    core::SlotAssignment a;
    int changes = 0;
    a.onChange = [&] { ++changes; };
    CHECK(a.assign("switch:1", "/SwitchableOutput/", "relay_1") == 1);
    CHECK(a.assign("switch:1", "/SwitchableOutput/", "relay_2") == 2);
    CHECK(a.assign("switch:1", "/SwitchableOutput/", "output_1") == 3); // sorts first, comes last
    CHECK(a.assign("switch:1", "/SwitchableOutput/", "relay_1") == 1);  // known: no change
    CHECK(changes == 3);
    CHECK(a.generation() == 3);
    CHECK(a.assign("switch:2", "/SwitchableOutput/", "output_1") == 1);
    CHECK(a.assign("switch:1", "/Other/", "output_1") == 1);
    CHECK(a.slotOf("switch:1", "/SwitchableOutput/", "relay_2") == 2);
    CHECK(a.slotOf("switch:1", "/SwitchableOutput/", "relay_9") == 0);
    REQUIRE(a.idAt("switch:1", "/SwitchableOutput/", 3));
    CHECK(*a.idAt("switch:1", "/SwitchableOutput/", 3) == "output_1");
    CHECK_FALSE(a.idAt("switch:1", "/SwitchableOutput/", 4));
    CHECK(a.owners() == 2);
    // A gap left by a file edited by hand is filled first.
    auto gap = core::SlotAssignment::fromText("switch:1 /S/ 1 a\nswitch:1 /S/ 3 c\n");
    REQUIRE(gap.problems.empty());
    CHECK(gap.assignment.assign("switch:1", "/S/", "d") == 2);
    CHECK(gap.assignment.assign("switch:1", "/S/", "e") == 4);
    // Bounded: an owner inventing identifiers runs out of slots, and nothing more is recorded.
    core::SlotAssignment full;
    for (unsigned i = 1; i <= core::SlotAssignment::kMaxSlots; ++i)
        REQUIRE(full.assign("x", "/S/", "id" + std::to_string(i)) == i);
    CHECK(full.assign("x", "/S/", "one_more") == 0);
    CHECK(full.slots("x", "/S/").size() == core::SlotAssignment::kMaxSlots);
}

TEST_CASE("the slot assignment reads back what it wrote, odd identifiers included", "[slots]") {
    core::SlotAssignment a;
    a.assign("switch:1", "/SwitchableOutput/", "relay_1");
    a.assign("switch:1", "/SwitchableOutput/", "a b%c");
    a.assign("com.victronenergy.switch.x", "/SwitchableOutput/", "0");
    a.assign("switch:1", "/SwitchableOutput/", "tab\tend");
    auto text = a.toText();
    CHECK(text.rfind("# ", 0) == 0);
    CHECK(text.find("switch:1 /SwitchableOutput/ 2 a%20b%25c\n") != std::string::npos);
    auto back = core::SlotAssignment::fromText(text);
    CHECK(back.problems.empty());
    CHECK(back.assignment.toText() == text);
    CHECK(back.assignment.slotOf("switch:1", "/SwitchableOutput/", "a b%c") == 2);
    CHECK(back.assignment.slotOf("switch:1", "/SwitchableOutput/", "tab\tend") == 3);
    CHECK(back.assignment.generation() == 0); // read, not changed
    CHECK(core::SlotAssignment::fromText("").assignment.empty());
}

TEST_CASE("a corrupt slot state: each bad line is named by number and left out, the others kept", "[slots]") {
    auto parsed =
        core::SlotAssignment::fromText("# comment\n"
                                       "switch:1 /SwitchableOutput/ 1 relay_1\n"
                                       "\n"
                                       "switch:1 /SwitchableOutput/ two relay_2\n"
                                       "switch:1 /SwitchableOutput/ 3\n"
                                       "switch:1 /SwitchableOutput/ 1 pwm_1\n"
                                       "switch:1 /SwitchableOutput/ 4 relay_1\n"
                                       "switch:1 /SwitchableOutput/ 0 zero\n"
                                       "switch:1 /SwitchableOutput/ 257 big\n"
                                       "switch:1 /SwitchableOutput/ 5 bad%2\n"
                                       "\x01\x02garbage\n"
                                       "switch:1 /SwitchableOutput/ 2 relay_2\r\n"
                                       "switch:1 /SwitchableOutput/ 6 half"); // no newline at the end
    std::vector<std::string> expected{
        "4: slot 'two' is not a number in 1..256",
        "5: expected OWNER FAMILY SLOT IDENTIFIER, found 3 fields",
        "6: slot 1 or identifier 'pwm_1' of switch:1 /SwitchableOutput/ is given by an earlier line",
        "7: slot 4 or identifier 'relay_1' of switch:1 /SwitchableOutput/ is given by an earlier line",
        "8: slot '0' is not a number in 1..256",
        "9: slot '257' is not a number in 1..256",
        "10: a '%' not followed by two hex digits",
        "11: expected OWNER FAMILY SLOT IDENTIFIER, found 1 fields",
    };
    CHECK(parsed.problems == expected);
    const auto& kept = parsed.assignment.slots("switch:1", "/SwitchableOutput/");
    CHECK(kept == std::map<unsigned, std::string>{{1, "relay_1"}, {2, "relay_2"}, {6, "half"}});
}

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "vmd-slots.XXXXXX").string();
        REQUIRE(::mkdtemp(templ.data()));
        path = templ;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    [[nodiscard]] std::string file() const { return (path / "output-slots").string(); }
    [[nodiscard]] std::string read() const {
        std::ifstream in(file());
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }
};

} // namespace

TEST_CASE(
    "the state file: missing is empty, written atomically only on a change, read back on the next start",
    "[slots]") {
    TempDir dir;
    app::SlotStateFile file(dir.path.string());
    CHECK(file.path() == dir.file());
    auto slots = file.load(); // no file yet
    CHECK(slots->empty());
    file.save(*slots); // nothing changed: nothing written
    CHECK_FALSE(std::filesystem::exists(dir.file()));
    slots->assign("switch:1", "/SwitchableOutput/", "relay_1");
    slots->assign("switch:1", "/SwitchableOutput/", "output_1");
    file.save(*slots);
    CHECK(dir.read() == slots->toText());
    CHECK_FALSE(std::filesystem::exists(dir.file() + ".new"));
    std::filesystem::remove(dir.file());
    file.save(*slots); // unchanged since the last save: not written again
    CHECK_FALSE(std::filesystem::exists(dir.file()));
    slots->assign("switch:1", "/SwitchableOutput/", "aux_1");
    file.save(*slots);

    app::SlotStateFile restarted(dir.path.string()); // the daemon starts again
    auto again = restarted.load();
    CHECK(again->toText() == slots->toText());
    CHECK(again->slotOf("switch:1", "/SwitchableOutput/", "aux_1") == 3);
}

TEST_CASE("a corrupt state file starts with the lines that parse, and is replaced at the next change",
          "[slots]") {
    TempDir dir;
    {
        std::ofstream out(dir.file());
        out << "switch:1 /SwitchableOutput/ 2 relay_1\nnot a line of ours\n";
    }
    app::SlotStateFile file(dir.path.string());
    auto slots = file.load();
    CHECK(slots->slotOf("switch:1", "/SwitchableOutput/", "relay_1") == 2);
    CHECK(slots->assign("switch:1", "/SwitchableOutput/", "pwm_1") == 1);
    file.save(*slots);
    CHECK(dir.read() == "# venus-modbusd output slots: OWNER FAMILY SLOT IDENTIFIER\n"
                        "switch:1 /SwitchableOutput/ 1 pwm_1\n"
                        "switch:1 /SwitchableOutput/ 2 relay_1\n");
}

TEST_CASE("no state directory: the slots are kept while running only, and nothing is written", "[slots]") {
    TempDir dir;
    app::SlotStateFile none("");
    CHECK(none.path().empty());
    auto slots = none.load();
    slots->assign("switch:1", "/SwitchableOutput/", "relay_1");
    none.save(*slots);
    app::SlotStateFile missing((dir.path / "absent").string());
    CHECK(missing.path().empty());
    missing.save(*slots);
    CHECK_FALSE(std::filesystem::exists(dir.path / "absent"));
}
