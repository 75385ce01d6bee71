// Modbus semantics (DESIGN section 4) through the pure request handler, no sockets and no bus.
#include "modbus/RequestHandler.h"
#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace vmd;
using modbus::ExceptionCode;
using Bytes = std::vector<std::uint8_t>;

namespace {

const char* kMap = R"(unit-ids:
  - {unit: 100, instance: 0}
  - {unit: 246, instance: 257}
registers:
  - {address: 3, service: vebus, path: /Ac/ActiveIn/L1/V, type: uint16, scale: 10, access: R}
  - {address: 4, service: vebus, path: /Ac/ActiveIn/L1/I, type: int16, scale: 10, access: R}
  - {address: 5, service: vebus, path: /Mode, type: uint16, dbus-type: u, access: W, enum: {1: Charger only, 2: Inverter only, 3: On, 4: Off}}
  - {address: 6, service: vebus, path: /Hub4/L1/AcPowerSetpoint, type: int16, dbus-type: d, access: W}
  - {address: 7, service: vebus, type: "reserved[2]", access: R}
  - {address: 9, service: vebus, type: "reserved[1]", access: W}
  - {address: 10, service: vebus, path: /Hub4/L1/AcPowerSetpoint, type: int32, dbus-type: d, access: W}
  - {address: 20, service: vebus, path: /Limit, type: int16, scale: 10, dbus-type: d, access: W, range: [-100, 100]}
  - {address: 800, service: system, path: /Serial, type: "string[3]", access: R}
  - {address: 803, service: system, path: "/Ac/{Grid,Genset}/L1/Power", type: int16, access: R}
  - {address: 804, service: settings, path: /Settings/CGwacs/AcPowerSetPoint, type: int16, dbus-type: d, access: W}
  - {address: 805, service: hub4, path: /Overrides/Setpoint, type: int32, dbus-type: d, access: W}
  - {address: 830, service: system, type: uint64, access: R, compute: utc-time}
  - {address: 834, service: system, type: uint32, access: R, compute: firmware-version, inputs: [/FirmwareVersion]}
  - {address: 777, service: solarcharger, type: int16, scale: 10, access: R, compute: quotient, inputs: [/Yield/Power, /Pv/V]}
  - {address: 4700, service: pump, path: /State, type: uint16, access: R}
  - {address: 4701, service: settings, path: /Settings/Pump0/AutoStartEnabled, type: uint16, dbus-type: i, access: W}
  - {address: 39500, service: system, type: uint16, access: R, compute: server-version, value: 0}
  - {address: 39501, service: system, type: uint16, access: R, compute: server-version, value: 1}
  - {address: 39502, service: system, type: uint16, access: R, compute: server-version, value: 2}
  - {address: 39503, service: system, type: uint32, access: R, compute: map-identity}
  - {address: 3214, service: genset, type: uint16, access: R, compute: any-text, inputs: [/Error/0/Id, /Error/1/Id], value: 65280}
)";

regmap::RegisterMap loadMap() {
    regmap::MapLoader loader;
    loader.add(kMap, "handler-test.yaml");
    return loader.build();
}

struct Site {
    regmap::RegisterMap map = loadMap();
    core::ServiceIndex index{map};

    Site() {
        auto& vebus = service("com.victronenergy.vebus.ttyO1", 257);
        set(vebus, "/Ac/ActiveIn/L1/V", 230.4);
        set(vebus, "/Ac/ActiveIn/L1/I", -3.25);
        set(vebus, "/Mode", std::uint64_t{3});
        set(vebus, "/Hub4/L1/AcPowerSetpoint", -2000.0);
        auto& system = service("com.victronenergy.system", 0);
        set(system, "/Serial", std::string("HQ2207"));
        set(system, "/Ac/Genset/L1/Power", 1500.0); // /Ac/Grid/L1/Power absent: the alternative serves
        set(system, "/FirmwareVersion", std::int64_t{0x036012});
        auto& settings = index.add("com.victronenergy.settings"); // no /DeviceInstance: instance 0
        set(settings, "/Settings/CGwacs/AcPowerSetPoint", 50.0);
        auto& solar = service("com.victronenergy.solarcharger.ttyO0", 256);
        set(solar, "/Yield/Power", 480.0);
        set(solar, "/Pv/V", 96.0);
        auto& genset = service("com.victronenergy.genset.socketcan_can0", 0);
        set(genset, "/Error/0/Id", std::string(""));
        set(genset, "/Error/1/Id", std::string("dse:e-42"));
        index.reindex();
    }
    core::ServiceState& service(const std::string& name, regmap::DeviceInstance instance) {
        auto& s = index.add(name);
        s.instance = instance;
        s.hasInstance = true;
        return s;
    }
    void set(core::ServiceState& s, const std::string& path, codec::Value v) {
        s.values[*map.pathId(path)] = std::move(v);
    }
};

Bytes read(std::uint16_t address, std::uint16_t quantity, std::uint8_t fc = 3) {
    return {fc, static_cast<std::uint8_t>(address >> 8), static_cast<std::uint8_t>(address),
            static_cast<std::uint8_t>(quantity >> 8), static_cast<std::uint8_t>(quantity)};
}

Bytes writeMultiple(std::uint16_t address, const std::vector<std::uint16_t>& words) {
    Bytes pdu{16, static_cast<std::uint8_t>(address >> 8), static_cast<std::uint8_t>(address),
              0,  static_cast<std::uint8_t>(words.size()), static_cast<std::uint8_t>(2 * words.size())};
    for (auto w : words) {
        pdu.push_back(static_cast<std::uint8_t>(w >> 8));
        pdu.push_back(static_cast<std::uint8_t>(w));
    }
    return pdu;
}

std::vector<std::uint16_t> words(const modbus::Reply& reply) {
    std::vector<std::uint16_t> out;
    for (std::size_t i = 2; i + 1 < reply.size; i += 2)
        out.push_back(static_cast<std::uint16_t>((reply.bytes[i] << 8) | reply.bytes[i + 1]));
    return out;
}

struct Fixture {
    Site site;
    modbus::RequestHandler handler{site.index, {codec::NotAvailable::Zero, false, {1, 2, 3}}};
    modbus::Outcome run(std::uint8_t unit, const Bytes& pdu) { return handler.handle(unit, pdu, 1764201600); }
    ExceptionCode code(std::uint8_t unit, const Bytes& pdu) { return run(unit, pdu).reply.exception(); }
    modbus::Outcome handleAs(std::uint8_t unit, const Bytes& pdu, std::int64_t now,
                             const modbus::AccessPolicy& access) {
        return handler.handle(unit, pdu, now, access);
    }
};

using W = std::vector<std::uint16_t>;

} // namespace

TEST_CASE_METHOD(Fixture, "a read at the VE.Bus unit returns scaled values", "[handler]") {
    auto out = run(246, read(3, 3));
    REQUIRE(!out.reply.isException());
    CHECK(out.reply.bytes[0] == 3);
    CHECK(out.reply.bytes[1] == 6);
    CHECK(words(out.reply) == W{2304, 0xFFDF, 3}); // -3.25 A x 10 rounds away from zero to -33
}

TEST_CASE_METHOD(Fixture, "function 4 reads the same register space as function 3", "[handler]") {
    CHECK(words(run(246, read(3, 2, 4)).reply) == words(run(246, read(3, 2, 3)).reply));
    CHECK(run(246, read(3, 2, 4)).reply.bytes[0] == 4);
}

TEST_CASE_METHOD(Fixture, "a device instance equal to the unit is found before the unit table", "[handler]") {
    CHECK(!run(246, read(3, 1))
               .reply.isException()); // instance 257 does not fit a unit byte: 246 via the table
    auto& other = site.service("com.victronenergy.vebus.ttyS4", 246); // a Multi whose instance is 246
    site.set(other, "/Ac/ActiveIn/L1/V", 240.0);
    site.index.reindex();
    CHECK(words(run(246, read(3, 1)).reply) == W{2400});
}

TEST_CASE_METHOD(Fixture, "unit 100 and unit 0 serve system, settings and hub4 at instance 0 in one block",
                 "[handler]") {
    auto& hub4 = site.index.add("com.victronenergy.hub4");
    site.set(hub4, "/Overrides/Setpoint", -150.0);
    site.index.reindex();
    for (std::uint8_t unit : {std::uint8_t{0}, std::uint8_t{100}}) {
        auto out = run(unit, read(800, 7));
        REQUIRE(!out.reply.isException());
        CHECK(words(out.reply) == W{0x4851, 0x3232, 0x3037, 1500, 50, 0xFFFF, 0xFF6A});
    }
}

TEST_CASE_METHOD(Fixture, "a read may start inside a multi-word register and end inside another",
                 "[handler]") {
    CHECK(words(run(100, read(801, 2)).reply) == W{0x3232, 0x3037});
    CHECK(words(run(246, read(11, 1)).reply) == W{0xF830}); // low word of -2000
    CHECK(words(run(246, read(9, 2)).reply) == W{0xFFFF, 0xFFFF});
}

TEST_CASE_METHOD(Fixture, "reserved words read 0xFFFF", "[handler]") {
    CHECK(words(run(246, read(7, 3)).reply) == W{0xFFFF, 0xFFFF, 0xFFFF});
}

TEST_CASE_METHOD(Fixture, "a missing path reads as not available", "[handler]") {
    CHECK(words(run(246, read(20, 1)).reply) == W{0});
    modbus::RequestHandler maxHandler(site.index, {codec::NotAvailable::Max, false});
    CHECK(words(maxHandler.handle(246, read(20, 1), 0).reply) == W{0x7FFF});
}

TEST_CASE_METHOD(Fixture, "computed registers: PV current, clock, firmware version, error summary",
                 "[handler]") {
    CHECK(code(247, read(777, 1)) == ExceptionCode::GatewayPathUnavailable); // none at unit 247 yet
    site.index.find("com.victronenergy.solarcharger.ttyO0")->instance = 247;
    site.index.reindex();
    CHECK(words(run(247, read(777, 1)).reply) == W{50}); // 480 W / 96 V = 5.0 A
    CHECK(words(run(100, read(830, 4)).reply) == W{0, 0, 0x6927, 0x9480});
    CHECK(words(run(100, read(834, 2)).reply) == W{0x0360, 0x0012});
    CHECK(words(run(0, read(3214, 1)).reply) == W{65280});
    site.set(*site.index.find("com.victronenergy.genset.socketcan_can0"), "/Error/1/Id", std::string(""));
    CHECK(words(run(0, read(3214, 1)).reply) == W{0});
}

TEST_CASE_METHOD(Fixture, "a service absent for part of a block reads as not available there", "[handler]") {
    // settings (804) present, hub4 (805..806) absent at unit 100.
    auto out = run(100, read(803, 4));
    REQUIRE(!out.reply.isException());
    CHECK(words(out.reply) == W{1500, 50, 0, 0});
}

TEST_CASE_METHOD(Fixture, "a block whose first register's service is absent is exception 10 whatever follows",
                 "[handler]") {
    // A discovery probe of the pump group (4700 pump, 4701 settings) must not find a pump that is not
    // there, although the settings service answers for 4701.
    for (std::uint8_t unit : {std::uint8_t{0}, std::uint8_t{100}}) {
        CHECK(code(unit, read(4700, 2)) == ExceptionCode::GatewayPathUnavailable);
        CHECK(code(unit, read(4700, 1)) == ExceptionCode::GatewayPathUnavailable);
        CHECK(!run(unit, read(4701, 1)).reply.isException()); // settings itself is there
    }
    auto& pump = site.index.add("com.victronenergy.pump.startstop0");
    site.set(pump, "/State", std::uint64_t{1});
    site.index.reindex();
    CHECK(words(run(100, read(4700, 2)).reply) == W{1, 0});
}

TEST_CASE_METHOD(Fixture, "the version registers hold the server's version and the map's identity",
                 "[handler]") {
    auto id = site.map.identity();
    for (std::uint8_t unit : {std::uint8_t{0}, std::uint8_t{100}})
        CHECK(words(run(unit, read(39500, 5)).reply) ==
              W{1, 2, 3, static_cast<std::uint16_t>(id >> 16), static_cast<std::uint16_t>(id & 0xFFFF)});
    CHECK(words(run(100, read(39504, 1)).reply) == W{static_cast<std::uint16_t>(id & 0xFFFF)});
}

TEST_CASE("the map identity is FNV-1a of the map text and changes whenever the text changes", "[handler]") {
    CHECK(regmap::fnv1a32("") == 0x811C9DC5u); // the published FNV-1a test vectors
    CHECK(regmap::fnv1a32("a") == 0xE40C292Cu);
    CHECK(regmap::fnv1a32("foobar") == 0xBF9CF968u);
    auto identityOf = [](const std::string& text) {
        regmap::MapLoader loader;
        loader.add(text, "map.yaml");
        return loader.build().identity();
    };
    std::string text = kMap;
    CHECK(identityOf(text) == regmap::fnv1a32(text));
    CHECK(identityOf(text) == identityOf(text));
    CHECK(identityOf(text + "# a comment\n") != identityOf(text));
    std::string moved = text;
    moved.replace(moved.find("scale: 10, access: R}"), 21, "scale: 100, access: R}");
    CHECK(identityOf(moved) != identityOf(text));
}

namespace {

/// The objects of a Read Device Identification reply: (id, text), after checking its header.
std::vector<std::pair<int, std::string>> objectsOf(const modbus::Reply& reply, std::uint8_t code) {
    std::vector<std::pair<int, std::string>> objects;
    REQUIRE(reply.size >= 7);
    CHECK(reply.bytes[0] == 43);
    CHECK(reply.bytes[1] == 14);
    CHECK(reply.bytes[2] == code);
    CHECK(reply.bytes[3] == 0x83); // basic, regular and extended; stream and individual access
    CHECK(reply.bytes[4] == 0);    // no More Follows: everything fits
    CHECK(reply.bytes[5] == 0);
    std::size_t at = 7;
    for (int k = 0; k < reply.bytes[6]; ++k) {
        REQUIRE(at + 2 <= reply.size);
        int id = reply.bytes[at];
        std::size_t length = reply.bytes[at + 1];
        REQUIRE(at + 2 + length <= reply.size);
        objects.emplace_back(id,
                             std::string(reply.bytes.begin() + static_cast<std::ptrdiff_t>(at + 2),
                                         reply.bytes.begin() + static_cast<std::ptrdiff_t>(at + 2 + length)));
        at += 2 + length;
    }
    CHECK(at == reply.size);
    return objects;
}

std::vector<int> idsOf(const std::vector<std::pair<int, std::string>>& objects) {
    std::vector<int> ids;
    for (const auto& o : objects)
        ids.push_back(o.first);
    return ids;
}

} // namespace

TEST_CASE_METHOD(Fixture, "FC 43/14 streams the basic, regular and extended identification objects",
                 "[handler]") {
    auto basic = objectsOf(run(100, {43, 14, 1, 0}).reply, 1);
    REQUIRE(idsOf(basic) == std::vector<int>{0, 1, 2});
    CHECK(basic[0].second == "venus-modbusd developers");
    CHECK(basic[1].second == "venus-modbusd");
    CHECK(basic[2].second == "1.2.3"); // MajorMinorRevision: the server's version
    CHECK(idsOf(objectsOf(run(100, {43, 14, 2, 0}).reply, 2)) == std::vector<int>{0, 1, 2, 3, 4, 5});
    auto extended = objectsOf(run(100, {43, 14, 3, 0}).reply, 3);
    REQUIRE(idsOf(extended) == std::vector<int>{0, 1, 2, 3, 4, 5, 0x80});
    char identity[32];
    std::snprintf(identity, sizeof identity, "register map 0x%08X",
                  static_cast<unsigned>(site.map.identity()));
    CHECK(extended[6].second == identity);
    // A stream starts at the object asked for, and restarts at 0 when the category has no such object.
    CHECK(idsOf(objectsOf(run(100, {43, 14, 1, 2}).reply, 1)) == std::vector<int>{2});
    CHECK(idsOf(objectsOf(run(100, {43, 14, 3, 0x80}).reply, 3)) == std::vector<int>{0x80});
    CHECK(idsOf(objectsOf(run(100, {43, 14, 1, 0x04}).reply, 1)) == std::vector<int>{0, 1, 2});
    CHECK(idsOf(objectsOf(run(100, {43, 14, 2, 0x77}).reply, 2)) == std::vector<int>{0, 1, 2, 3, 4, 5});
}

TEST_CASE_METHOD(Fixture, "FC 43/14: objects that do not fit one reply are announced with More Follows",
                 "[handler]") {
    modbus::HandlerOptions options;
    options.identity.productName = std::string(120, 'P');
    options.identity.modelName = std::string(150, 'M');
    modbus::RequestHandler longNames(site.index, options);
    auto first = longNames.handle(100, Bytes{43, 14, 2, 0}, 0).reply;
    REQUIRE(first.size > 7);
    CHECK(first.bytes[4] == 0xFF); // More Follows
    CHECK(first.bytes[5] == 0x05); // Next Object Id: ModelName did not fit after ProductName
    CHECK(first.bytes[6] == 5);    // objects 0..4
    CHECK(first.size <= modbus::kMaxPduSize);
    auto rest = longNames.handle(100, Bytes{43, 14, 2, 0x05}, 0).reply; // the client asks again from there
    CHECK(rest.bytes[4] == 0);
    CHECK(rest.bytes[6] == 1);
    CHECK(rest.bytes[7] == 0x05);
    CHECK(rest.bytes[8] == 150);
    // A single object longer than a reply can hold is cut to fit.
    options.identity.modelName = std::string(300, 'M');
    modbus::RequestHandler huge(site.index, options);
    auto cut = huge.handle(100, Bytes{43, 14, 4, 0x05}, 0).reply;
    CHECK(cut.size == modbus::kMaxPduSize);
    CHECK(cut.bytes[8] == modbus::kMaxPduSize - 9);
}

TEST_CASE_METHOD(Fixture, "FC 43/14 individual access returns one object, exception 2 for an unknown one",
                 "[handler]") {
    auto one = objectsOf(run(246, {43, 14, 4, 0x04}).reply, 4);
    CHECK(one == std::vector<std::pair<int, std::string>>{{4, "venus-modbusd"}});
    CHECK(idsOf(objectsOf(run(0, {43, 14, 4, 0x80}).reply, 4)) == std::vector<int>{0x80});
    CHECK(code(100, {43, 14, 4, 0x06}) == ExceptionCode::IllegalDataAddress);
    CHECK(code(100, {43, 14, 4, 0x81}) == ExceptionCode::IllegalDataAddress);
    CHECK(code(100, {43, 14, 4, 0xFF}) == ExceptionCode::IllegalDataAddress);
}

TEST_CASE_METHOD(Fixture,
                 "FC 43/14: a bad read device id code or length is exception 3, a unit without "
                 "services exception 10",
                 "[handler]") {
    CHECK(code(100, {43, 14, 0, 0}) == ExceptionCode::IllegalDataValue);
    CHECK(code(100, {43, 14, 5, 0}) == ExceptionCode::IllegalDataValue);
    CHECK(code(100, {43, 14, 0xFF, 0}) == ExceptionCode::IllegalDataValue);
    CHECK(code(100, {43, 14, 1}) == ExceptionCode::IllegalDataValue);
    CHECK(code(100, {43, 14, 1, 0, 0}) == ExceptionCode::IllegalDataValue);
    CHECK(code(100, {43}) == ExceptionCode::IllegalDataValue);
    CHECK(run(100, {43, 14, 0, 0}).reply.bytes[0] == 0xAB);
    CHECK(code(1, {43, 14, 1, 0}) == ExceptionCode::GatewayPathUnavailable); // no service at unit 1
    CHECK(!run(246, {43, 14, 1, 0}).reply.isException());                    // the Multi's unit answers
}

TEST_CASE_METHOD(Fixture, "exception 1: an unknown function code", "[handler]") {
    CHECK(code(246, {1, 0, 3, 0, 1}) == ExceptionCode::IllegalFunction);
    CHECK(code(246, {43, 13, 0, 0}) == ExceptionCode::IllegalFunction); // MEI 13 (CANopen): not served
    CHECK(run(246, {5, 0, 1, 0xFF, 0}).reply.bytes[0] == 0x85);
}

TEST_CASE_METHOD(Fixture, "exception 2: an address outside every register, or a hole in the block",
                 "[handler]") {
    CHECK(code(246, read(0, 1)) == ExceptionCode::IllegalDataAddress);
    CHECK(code(246, read(12, 1)) == ExceptionCode::IllegalDataAddress);    // right after the int32 at 10
    CHECK(code(246, read(3, 10)) == ExceptionCode::IllegalDataAddress);    // 12 is a hole
    CHECK(code(246, read(65535, 2)) == ExceptionCode::IllegalDataAddress); // wraps past 65535
    CHECK(code(5, read(0, 1)) == ExceptionCode::IllegalDataAddress);       // address checked before the unit
}

TEST_CASE_METHOD(Fixture, "exception 3: quantities 0 and above 125, and malformed lengths", "[handler]") {
    CHECK(code(246, read(3, 0)) == ExceptionCode::IllegalDataValue);
    CHECK(code(246, read(3, 126)) == ExceptionCode::IllegalDataValue);
    CHECK(code(246, {3, 0, 3, 0}) == ExceptionCode::IllegalDataValue);
    CHECK(code(246, {6, 0, 5}) == ExceptionCode::IllegalDataValue);
    auto bad = writeMultiple(5, {3});
    bad[5] = 4; // byte count does not match the quantity
    CHECK(code(246, bad) == ExceptionCode::IllegalDataValue);
    CHECK(code(246, writeMultiple(5, std::vector<std::uint16_t>(124, 0))) == ExceptionCode::IllegalDataValue);
    auto zero = writeMultiple(5, {});
    CHECK(code(246, zero) == ExceptionCode::IllegalDataValue);
}

TEST_CASE_METHOD(Fixture, "exception 10: no service of any register's type at the unit", "[handler]") {
    CHECK(code(1, read(3, 1)) == ExceptionCode::GatewayPathUnavailable);
    CHECK(code(245, read(800, 3)) == ExceptionCode::GatewayPathUnavailable);
    CHECK(code(1, {6, 0, 5, 0, 3}) == ExceptionCode::GatewayPathUnavailable);
}

TEST_CASE_METHOD(Fixture, "a single-register write becomes one SetValue of the path's type", "[handler]") {
    auto out = run(246, {6, 0, 5, 0, 2});
    REQUIRE(!out.reply.isException());
    REQUIRE(out.writes.size() == 1);
    CHECK(out.writes[0].service == "com.victronenergy.vebus.ttyO1");
    CHECK(out.writes[0].path == "/Mode");
    CHECK(out.writes[0].value.dbusType == 'u');
    CHECK(std::get<std::uint64_t>(out.writes[0].value.value) == 2);
    CHECK(Bytes(out.reply.bytes.begin(), out.reply.bytes.begin() + static_cast<long>(out.reply.size)) ==
          Bytes{6, 0, 5, 0, 2});
}

TEST_CASE_METHOD(Fixture, "a multi-register write validates everything and lists writes in address order",
                 "[handler]") {
    auto out = run(246, writeMultiple(5, {3, 0xFC18}));
    REQUIRE(!out.reply.isException());
    REQUIRE(out.writes.size() == 2);
    CHECK(out.writes[0].path == "/Mode");
    CHECK(out.writes[1].path == "/Hub4/L1/AcPowerSetpoint");
    CHECK(std::get<double>(out.writes[1].value.value) == -1000.0);
    CHECK(out.reply.size == 5);
    CHECK(out.reply.bytes[4] == 2);
}

TEST_CASE_METHOD(Fixture, "a write to a read-only register, or in read-only mode, is exception 2",
                 "[handler]") {
    CHECK(code(246, {6, 0, 3, 0, 1}) == ExceptionCode::IllegalDataAddress);
    CHECK(code(246, writeMultiple(5, {3, 0, 0})) == ExceptionCode::IllegalDataAddress); // runs into 7
    CHECK(run(246, writeMultiple(4, {0, 3})).writes.empty());
    handler.setReadOnly(true);
    CHECK(code(246, {6, 0, 5, 0, 3}) == ExceptionCode::IllegalDataAddress);
}

TEST_CASE_METHOD(Fixture, "a value outside the range or the enum is exception 3 and nothing is written",
                 "[handler]") {
    CHECK(code(246, {6, 0, 5, 0, 9}) == ExceptionCode::IllegalDataValue);
    auto out = run(246, writeMultiple(5, {3, 0, 0, 0, 0xFFFF, 0xFFFF, 0, 0, 0}));
    CHECK(out.reply.exception() == ExceptionCode::IllegalDataAddress);           // 7 is read-only reserved
    CHECK(code(246, {6, 0, 20, 0x03, 0xE9}) == ExceptionCode::IllegalDataValue); // 100.1 > 100
    CHECK(run(246, {6, 0, 20, 0x03, 0xE8}).writes.size() == 1);                  // 100.0
    out = run(246, writeMultiple(5, {9, 0}));
    CHECK(out.reply.exception() == ExceptionCode::IllegalDataValue);
    CHECK(out.writes.empty());
}

TEST_CASE_METHOD(Fixture, "a writable reserved word is accepted and dropped", "[handler]") {
    auto out = run(246, writeMultiple(9, {0x1234, 0xFFFF, 0xF830}));
    REQUIRE(!out.reply.isException());
    REQUIRE(out.writes.size() == 1);
    CHECK(std::get<double>(out.writes[0].value.value) == -2000.0);
}

TEST_CASE_METHOD(Fixture, "a partial write of a 32-bit register is merged with its current value",
                 "[handler]") {
    // Current -2000 = 0xFFFF F830; writing the low word 0xFC18 gives 0xFFFF FC18 = -1000.
    auto out = run(246, {6, 0, 11, 0xFC, 0x18});
    REQUIRE(out.writes.size() == 1);
    CHECK(std::get<double>(out.writes[0].value.value) == -1000.0);
}

TEST_CASE_METHOD(Fixture, "a write reaches the service at instance 0 through unit 100", "[handler]") {
    auto out = run(100, {6, 0x03, 0x24, 0xFF, 0x38}); // 804 <- -200
    REQUIRE(out.writes.size() == 1);
    CHECK(out.writes[0].service == "com.victronenergy.settings");
    CHECK(std::get<double>(out.writes[0].value.value) == -200.0);
}

TEST_CASE_METHOD(Fixture, "function 23 writes first, then reads", "[handler]") {
    Bytes pdu{23, 0, 3, 0, 3, 0, 5, 0, 1, 2, 0, 4};
    auto out = run(246, pdu);
    REQUIRE(!out.reply.isException());
    REQUIRE(out.writes.size() == 1);
    CHECK(out.readAfterWrite);
    CHECK(out.readAddress == 3);
    CHECK(out.readQuantity == 3);
    pdu[8] = 0; // write quantity 0
    CHECK(code(246, pdu) == ExceptionCode::IllegalDataValue);
}

// The access policy (DESIGN section 3): one value per request, from the connection's TLS role and
// --write-allow; the daemon-wide read-only switch applies on top.
TEST_CASE_METHOD(Fixture, "a role's write ranges: inside writes, outside or across the edge is exception 1",
                 "[handler][access]") {
    auto ess = modbus::AccessPolicy::writeRanges({{5, 6}, {804, 804}});
    auto inside = handleAs(246, writeMultiple(5, {3, 0xFC18}), 0, ess);
    CHECK(!inside.reply.isException());
    CHECK(inside.writes.size() == 2);
    CHECK(handleAs(100, {6, 0x03, 0x24, 0xFF, 0x38}, 0, ess).writes.size() == 1);
    for (const Bytes& pdu :
         {Bytes{6, 0, 20, 0x03, 0xE8}, writeMultiple(6, {0, 0}), writeMultiple(4, {0, 3})}) {
        auto out = handleAs(246, pdu, 0, ess);
        CHECK(out.reply.exception() == ExceptionCode::IllegalFunction);
        CHECK(out.writes.empty());
    }
    // Function 23: the write part decides; the read part may be anywhere.
    auto fc23 = handleAs(246, {23, 0, 3, 0, 3, 0, 20, 0, 1, 2, 0, 4}, 0, ess);
    CHECK(fc23.reply.exception() == ExceptionCode::IllegalFunction);
    CHECK(!fc23.readAfterWrite);
    // Reads stay open to every role.
    CHECK(words(handleAs(246, read(3, 2), 0, ess).reply) == W{2304, 0xFFDF});
}

TEST_CASE_METHOD(Fixture, "a read role writes nothing (exception 1) and reads everything",
                 "[handler][access]") {
    auto viewer = modbus::AccessPolicy::readOnly();
    auto out = handleAs(246, {6, 0, 5, 0, 2}, 0, viewer);
    CHECK(out.reply.exception() == ExceptionCode::IllegalFunction);
    CHECK(out.writes.empty());
    // Even at an address that is no register: the role is decided first.
    CHECK(handleAs(246, {6, 0, 1, 0, 2}, 0, viewer).reply.exception() == ExceptionCode::IllegalFunction);
    CHECK(!handleAs(246, read(3, 1), 0, viewer).reply.isException());
}

TEST_CASE_METHOD(Fixture, "write-allow and read-only in the policy keep exception 2, and a bad value keeps 3",
                 "[handler][access]") {
    modbus::AccessPolicy outside;
    outside.addressMayWrite = false;
    auto out = handleAs(246, {6, 0, 5, 0, 2}, 0, outside);
    CHECK(out.reply.exception() == ExceptionCode::IllegalDataAddress);
    CHECK(out.writes.empty());
    CHECK(handleAs(246, {6, 0, 5, 0, 9}, 0, outside).reply.exception() == ExceptionCode::IllegalDataValue);
    auto fc23 = handleAs(246, {23, 0, 3, 0, 3, 0, 5, 0, 1, 2, 0, 4}, 0, outside);
    CHECK(fc23.reply.exception() == ExceptionCode::IllegalDataAddress);
    CHECK(!fc23.readAfterWrite);
    // A role that may write, under the daemon-wide read-only switch: exception 2 as before roles.
    handler.setReadOnly(true);
    auto admin = modbus::AccessPolicy{};
    CHECK(handleAs(246, {6, 0, 5, 0, 2}, 0, admin).reply.exception() == ExceptionCode::IllegalDataAddress);
    // Outside the role and read-only: the role answers first.
    CHECK(handleAs(246, {6, 0, 5, 0, 2}, 0, modbus::AccessPolicy::readOnly()).reply.exception() ==
          ExceptionCode::IllegalFunction);
}

TEST_CASE("write ranges parse FIRST-LAST or one register, and refuse anything else", "[access]") {
    CHECK(modbus::parseWriteRange("2700-2722") == modbus::WriteRange{2700, 2722});
    CHECK(modbus::parseWriteRange("37") == modbus::WriteRange{37, 37});
    for (const char* bad : {"", "-", "2722-2700", "1-65536", "a-b", "12-", "-12", "1 - 2", "0x10"})
        CHECK(!modbus::parseWriteRange(bad));
    auto policy = modbus::AccessPolicy::writeRanges({{2700, 2722}, {37, 41}});
    CHECK(policy.describe() == "write 2700-2722 37-41");
    CHECK(policy.roleMayWrite(2722, 1));
    CHECK(!policy.roleMayWrite(2722, 2));
    CHECK(!policy.roleMayWrite(65535, 1));
    CHECK(policy.roleMayWrite(37, 5));
}

// The quantity limits on the accepting side (issue 22, test gaps; the refusing side is tested above):
// the largest quantities the protocol allows are served whole. A map of 126 readable registers
// (1000-1125) and 124 writable ones (2000-2123), so that one more is refused for its quantity, not
// for its addresses.
TEST_CASE("the largest quantities are served: read 125 (FC 3, 4), write 123 (FC 16), FC 23 121 and 125",
          "[handler]") {
    std::string text = "unit-ids:\n  - {unit: 246, instance: 257}\nregisters:\n";
    for (int i = 0; i < 126; ++i)
        text += "  - {address: " + std::to_string(1000 + i) + ", service: vebus, path: /R/" +
                std::to_string(i) + ", type: uint16, access: R}\n";
    for (int i = 0; i < 124; ++i)
        text += "  - {address: " + std::to_string(2000 + i) + ", service: vebus, path: /W/" +
                std::to_string(i) + ", type: uint16, dbus-type: i, access: W}\n";
    regmap::MapLoader loader;
    loader.add(text, "limits.yaml");
    const auto map = loader.build();
    core::ServiceIndex index{map};
    auto& vebus = index.add("com.victronenergy.vebus.ttyO1");
    vebus.instance = 257;
    vebus.hasInstance = true;
    for (int i = 0; i < 126; ++i)
        vebus.values[*map.pathId("/R/" + std::to_string(i))] = std::uint64_t(3 * i + 1);
    index.reindex();
    modbus::RequestHandler handler{index, {codec::NotAvailable::Zero, false, {1, 2, 3}}};
    auto run = [&](const Bytes& pdu) { return handler.handle(246, pdu, 0); };
    W expected;
    for (std::uint16_t i = 0; i < 125; ++i)
        expected.push_back(static_cast<std::uint16_t>(3 * i + 1));

    for (std::uint8_t fc : {std::uint8_t{3}, std::uint8_t{4}}) {
        INFO("function " << int(fc));
        auto out = run(read(1000, 125, fc));
        REQUIRE(!out.reply.isException());
        CHECK(out.reply.bytes[0] == fc);
        CHECK(out.reply.bytes[1] == 250);
        CHECK(out.reply.size == 252);
        CHECK(words(out.reply) == expected);
        CHECK(run(read(1000, 126, fc)).reply.exception() == ExceptionCode::IllegalDataValue);
    }

    W values;
    for (std::uint16_t i = 0; i < 124; ++i)
        values.push_back(static_cast<std::uint16_t>(500 + i));
    auto out = run(writeMultiple(2000, W(values.begin(), values.begin() + 123)));
    REQUIRE(!out.reply.isException());
    REQUIRE(out.writes.size() == 123);
    for (std::size_t i = 0; i < 123; ++i) {
        CHECK(out.writes[i].path == "/W/" + std::to_string(i));
        CHECK(std::get<std::int64_t>(out.writes[i].value.value) == 500 + static_cast<std::int64_t>(i));
    }
    CHECK(Bytes(out.reply.bytes.begin(), out.reply.bytes.begin() + static_cast<long>(out.reply.size)) ==
          Bytes{16, 0x07, 0xD0, 0, 123});
    out = run(writeMultiple(2000, values));
    CHECK(out.reply.exception() == ExceptionCode::IllegalDataValue);
    CHECK(out.writes.empty());

    // FC 23: read 125 at 1000, write 121 at 2000; one more of either is exception 3.
    auto fc23 = [&](std::uint16_t readQuantity, std::uint16_t writeQuantity) {
        Bytes pdu{23,
                  0x03,
                  0xE8,
                  0,
                  static_cast<std::uint8_t>(readQuantity),
                  0x07,
                  0xD0,
                  0,
                  static_cast<std::uint8_t>(writeQuantity),
                  static_cast<std::uint8_t>(2 * writeQuantity)};
        for (std::uint16_t i = 0; i < writeQuantity; ++i) {
            pdu.push_back(static_cast<std::uint8_t>(values[i] >> 8));
            pdu.push_back(static_cast<std::uint8_t>(values[i]));
        }
        return run(pdu);
    };
    out = fc23(125, 121);
    REQUIRE(!out.reply.isException());
    REQUIRE(out.writes.size() == 121);
    CHECK(out.writes.back().path == "/W/120");
    CHECK(std::get<std::int64_t>(out.writes.back().value.value) == 620);
    REQUIRE(out.readAfterWrite);
    CHECK(out.readAddress == 1000);
    CHECK(out.readQuantity == 125);
    modbus::Reply reply;
    handler.read(246, 23, out.readAddress, out.readQuantity, 0, reply);
    REQUIRE(!reply.isException());
    CHECK(reply.bytes[1] == 250);
    CHECK(words(reply) == expected);
    CHECK(fc23(126, 121).reply.exception() == ExceptionCode::IllegalDataValue);
    out = fc23(125, 122);
    CHECK(out.reply.exception() == ExceptionCode::IllegalDataValue);
    CHECK(out.writes.empty());
}
