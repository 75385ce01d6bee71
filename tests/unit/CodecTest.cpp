// One test per row of the semantics table (DESIGN section 4) that concerns values.
#include "codec/Codec.h"

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <vector>

using namespace vmd;
using codec::NotAvailable;
using regmap::ModbusType;

namespace {

regmap::Register reg(ModbusType type, double scale = 1, std::uint16_t words = 0, char dbusType = 'd') {
    regmap::Register r;
    r.type = type;
    r.scale = scale;
    r.dbusType = dbusType;
    r.words = words                                                       ? words
              : (type == ModbusType::Int32 || type == ModbusType::Uint32) ? 2
              : type == ModbusType::Uint64                                ? 4
                                                                          : 1;
    return r;
}

std::vector<std::uint16_t> enc(const codec::Value& v, const regmap::Register& r,
                               NotAvailable na = NotAvailable::Zero) {
    std::vector<std::uint16_t> out(r.words);
    codec::encode(v, r, na, out);
    return out;
}

using W = std::vector<std::uint16_t>;

} // namespace

TEST_CASE("scaling multiplies by the scale and rounds half away from zero", "[codec]") {
    CHECK(enc(34.5, reg(ModbusType::Int16)) == W{35});
    CHECK(enc(-2.5, reg(ModbusType::Int16)) == W{0xFFFD}); // -3
    CHECK(enc(57.94, reg(ModbusType::Uint16, 10)) == W{579});
    CHECK(enc(57.95, reg(ModbusType::Uint16, 100)) == W{5795});
    CHECK(enc(std::int64_t{-1000}, reg(ModbusType::Int16, 0.1)) == W{0xFF9C}); // -100
    CHECK(enc(std::uint64_t{100}, reg(ModbusType::Uint16, 0.01)) == W{1});
    CHECK(enc(std::int64_t{100}, reg(ModbusType::Uint16, -10)) == W{0}); // negative result saturates at 0
    CHECK(enc(std::int64_t{-100}, reg(ModbusType::Int16, -10)) == W{1000});
}

// The value a GX screen shows, times the published scale, read as a GX device reads it: the GX computes
// round(value x scale) in double precision (C round, halves away from zero). Each expected word below is
// that product written out by hand, for every scale the published list uses (1, 10, 100, 1000, 10000,
// 10000000, 0.1, 0.01, -1, -10), halves of both signs. On x86 an extended-precision product keeps the
// binary error of the decimal input (4700.65 is 4700.6499999...) and rounds the other way.
TEST_CASE("a decimal half reads as a GX device reads it, with every published scale, on every CPU",
          "[codec]") {
    auto i16 = [](double scale) { return reg(ModbusType::Int16, scale); };
    auto i32 = [](double scale) { return reg(ModbusType::Int32, scale); };
    auto u16 = [](double scale) { return reg(ModbusType::Uint16, scale); };
    CHECK(enc(34.5, i16(1)) == W{35});
    CHECK(enc(-34.5, i16(1)) == W{0xFFDD}); // -35
    CHECK(enc(4700.65, i32(10)) == W{0, 47007});
    CHECK(enc(-4700.65, i32(10)) == W{0xFFFF, 0x4861}); // -47007
    CHECK(enc(4700.65, u16(10)) == W{47007});           // the case
    CHECK(enc(0.15, i16(10)) == W{2});
    CHECK(enc(0.35, i16(10)) == W{4});
    CHECK(enc(1.15, i16(10)) == W{12});
    CHECK(enc(-1.45, i16(10)) == W{0xFFF1}); // -15
    CHECK(enc(2.675, i16(100)) == W{268});
    CHECK(enc(-2.675, i16(100)) == W{0xFEF4}); // -268
    // 1.005 x 100 is 100.49999999999999 in double: a GX reads 100, not the decimal 100.5 -> 101.
    CHECK(enc(1.005, i16(100)) == W{100});
    CHECK(enc(1.0005, i16(1000)) == W{1001});
    CHECK(enc(-1.0005, i16(1000)) == W{0xFC17}); // -1001
    CHECK(enc(1.23455, i16(10000)) == W{12346});
    CHECK(enc(-1.23455, i32(10000)) == W{0xFFFF, 0xCFC6});        // -12346
    CHECK(enc(12.34567895, i32(10000000)) == W{0x075B, 0xCD16});  // 123456790
    CHECK(enc(-12.34567895, i32(10000000)) == W{0xF8A4, 0x32EA}); // -123456790
    CHECK(enc(std::int64_t{25}, i16(0.1)) == W{3});
    CHECK(enc(-35.0, i16(0.1)) == W{0xFFFC}); // -4
    CHECK(enc(4705.0, u16(0.1)) == W{471});
    CHECK(enc(std::int64_t{150}, i16(0.01)) == W{2});
    CHECK(enc(-250.0, i16(0.01)) == W{0xFFFD}); // -3
    CHECK(enc(2.5, i16(-1)) == W{0xFFFD});      // -3
    CHECK(enc(-2.5, i16(-1)) == W{3});
    CHECK(enc(1.15, i16(-10)) == W{0xFFF4}); // -12
    CHECK(enc(-4700.65, i32(-10)) == W{0, 47007});
}

TEST_CASE("values beyond a 16-bit type saturate at MIN or MAX-1 for every source type", "[codec]") {
    auto i16 = reg(ModbusType::Int16);
    auto u16 = reg(ModbusType::Uint16);
    CHECK(enc(1e9, i16) == W{0x7FFE});
    CHECK(enc(-1e9, i16) == W{0x8000});
    CHECK(enc(std::int64_t{40000}, i16) == W{0x7FFE});
    CHECK(enc(std::int64_t{-40000}, i16) == W{0x8000});
    CHECK(enc(std::uint64_t{70000}, u16) == W{0xFFFE});
    CHECK(enc(std::int64_t{-220}, u16) == W{0}); // the GX device wraps to 65316; we saturate
    CHECK(enc(-220.0, u16) == W{0});
    CHECK(enc(65535.0, u16) == W{0xFFFE});              // MAX stays free for "not available"
    CHECK(enc(std::uint64_t{65534}, u16) == W{0xFFFE}); // MAX-1 itself is a value
}

TEST_CASE("values beyond a 32- or 64-bit type saturate too, doubles included", "[codec]") {
    CHECK(enc(1e12, reg(ModbusType::Int32)) == W{0x7FFF, 0xFFFE});
    CHECK(enc(-1e12, reg(ModbusType::Int32)) == W{0x8000, 0x0000});
    CHECK(enc(1e12, reg(ModbusType::Uint32)) == W{0xFFFF, 0xFFFE});
    CHECK(enc(std::int64_t{-5}, reg(ModbusType::Uint32)) == W{0, 0});
    CHECK(enc(std::numeric_limits<std::uint64_t>::max(), reg(ModbusType::Uint64)) ==
          W{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE});
    CHECK(enc(1e30, reg(ModbusType::Uint64)) == W{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE});
}

TEST_CASE("32- and 64-bit values put the high word first", "[codec]") {
    CHECK(enc(-34.08662, reg(ModbusType::Int32, 10000000)) == W{0xEBAE, 0xCB68}); // GPS latitude
    CHECK(enc(std::uint64_t{0x12345678}, reg(ModbusType::Uint32)) == W{0x1234, 0x5678});
    CHECK(enc(std::uint64_t{1764201600}, reg(ModbusType::Uint64)) == W{0, 0, 0x6927, 0x9480});
    CHECK(enc(std::int64_t{9007199254740993}, reg(ModbusType::Uint64)) ==
          W{0x0020, 0, 0, 1}); // exact beyond 2^53
}

TEST_CASE("strings take two bytes a register, high byte first, zero padded and truncated", "[codec]") {
    auto s7 = reg(ModbusType::String, 1, 7, 's');
    CHECK(enc(std::string("1234567"), s7) == W{0x3132, 0x3334, 0x3536, 0x3700, 0, 0, 0});
    auto s2 = reg(ModbusType::String, 1, 2, 's');
    CHECK(enc(std::string("HQ2207ABCDE"), s2) == W{0x4851, 0x3232});
    CHECK(enc(std::int64_t{42}, s2) == W{0x3432, 0}); // a number becomes its decimal text
    // Latin-1 on the wire: 'ä' is one byte 0xE4 and does not disturb its neighbour.
    CHECK(enc(std::string("a\xC3\xA4"), s2) == W{0x61E4, 0});
    CHECK(enc(std::string("\xE2\x82\xAC"), s2) == W{0x3F00, 0}); // the euro sign is not Latin-1
}

TEST_CASE("a missing or invalid value reads as zero by default and as the type's MAX on request", "[codec]") {
    codec::Value invalid;
    CHECK(enc(invalid, reg(ModbusType::Int16)) == W{0});
    CHECK(enc(invalid, reg(ModbusType::Uint32)) == W{0, 0});
    CHECK(enc(invalid, reg(ModbusType::Int16), NotAvailable::Max) == W{0x7FFF});
    CHECK(enc(invalid, reg(ModbusType::Uint16), NotAvailable::Max) == W{0xFFFF});
    CHECK(enc(invalid, reg(ModbusType::Int32), NotAvailable::Max) == W{0x7FFF, 0xFFFF});
    CHECK(enc(invalid, reg(ModbusType::Uint32), NotAvailable::Max) == W{0xFFFF, 0xFFFF});
    CHECK(enc(invalid, reg(ModbusType::Uint64), NotAvailable::Max) == W{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF});
    CHECK(enc(invalid, reg(ModbusType::String, 1, 2, 's'), NotAvailable::Max) == W{0, 0});
    CHECK(enc(std::nan(""), reg(ModbusType::Int16)) == W{0});
    CHECK(enc(std::string("text"), reg(ModbusType::Uint16), NotAvailable::Max) == W{0xFFFF});
}

TEST_CASE("reserved registers read 0xFFFF in every word", "[codec]") {
    CHECK(enc(codec::Value{}, reg(ModbusType::Reserved, 1, 3)) == W{0xFFFF, 0xFFFF, 0xFFFF});
    CHECK(enc(12.0, reg(ModbusType::Reserved, 1, 1), NotAvailable::Max) == W{0xFFFF});
}

TEST_CASE("a boolean reads as 0 or 1 whatever the scale", "[codec]") {
    CHECK(enc(true, reg(ModbusType::Uint16, 10)) == W{1});
    CHECK(enc(false, reg(ModbusType::Uint16, 10)) == W{0});
}

TEST_CASE("a write divides by the scale and is sent as the path's D-Bus type", "[codec]") {
    auto d = reg(ModbusType::Uint16, 10, 0, 'd');
    auto decoded = codec::decode(d, W{579});
    REQUIRE(decoded.error == codec::DecodeError::None);
    CHECK(decoded.value.dbusType == 'd');
    CHECK(std::get<double>(decoded.value.value) == Approx(57.9));

    auto i = reg(ModbusType::Int16, 1, 0, 'i');
    decoded = codec::decode(i, W{0xFC18}); // two's complement -1000
    CHECK(decoded.value.dbusType == 'i');
    CHECK(std::get<std::int64_t>(decoded.value.value) == -1000);

    auto u = reg(ModbusType::Uint16, 1, 0, 'u');
    decoded = codec::decode(u, W{3});
    CHECK(decoded.value.dbusType == 'u');
    CHECK(std::get<std::uint64_t>(decoded.value.value) == 3);

    auto i32 = reg(ModbusType::Int32, 1, 0, 'd');
    decoded = codec::decode(i32, W{0xFFFF, 0xF830}); // -2000
    CHECK(std::get<double>(decoded.value.value) == -2000.0);

    auto scaled = reg(ModbusType::Int16, 0.01, 0, 'd');
    decoded = codec::decode(scaled, W{0xFFFF});
    CHECK(std::get<double>(decoded.value.value) == -100.0);
}

TEST_CASE("a written value outside the range, the enum or the D-Bus type is refused", "[codec]") {
    auto r = reg(ModbusType::Int16, 1, 0, 'd');
    r.range = regmap::Range{-1000, 1000};
    CHECK(codec::decode(r, W{1000}).error == codec::DecodeError::None);
    CHECK(codec::decode(r, W{1001}).error == codec::DecodeError::OutOfRange);
    CHECK(codec::decode(r, W{0xFC17}).error == codec::DecodeError::OutOfRange); // -1001

    auto e = reg(ModbusType::Uint16, 1, 0, 'u');
    e.enumTexts = {{1, "Charger only"}, {2, "Inverter only"}, {3, "On"}, {4, "Off"}};
    CHECK(codec::decode(e, W{3}).error == codec::DecodeError::None);
    CHECK(codec::decode(e, W{5}).error == codec::DecodeError::OutOfRange);

    auto y = reg(ModbusType::Uint16, 1, 0, 'y');
    CHECK(codec::decode(y, W{255}).error == codec::DecodeError::None);
    CHECK(codec::decode(y, W{256}).error == codec::DecodeError::OutOfRange);
    auto n = reg(ModbusType::Int32, 1, 0, 'n');
    CHECK(codec::decode(n, W{0, 40000}).error == codec::DecodeError::OutOfRange);
    auto b = reg(ModbusType::Uint16, 1, 0, 'b');
    CHECK(codec::decode(b, W{1}).value.dbusType == 'b');
    CHECK(codec::decode(b, W{2}).error == codec::DecodeError::OutOfRange);
    CHECK(codec::decode(reg(ModbusType::Reserved, 1, 1), W{1}).error == codec::DecodeError::NotWritable);
}

TEST_CASE("a written string is cut at the first NUL and sent as UTF-8", "[codec]") {
    auto s = reg(ModbusType::String, 1, 3, 's');
    auto decoded = codec::decode(s, W{0x4869, 0x0000, 0x4142});
    CHECK(decoded.value.dbusType == 's');
    CHECK(std::get<std::string>(decoded.value.value) == "Hi");
    decoded = codec::decode(s, W{0x61E4, 0x6200, 0});
    CHECK(std::get<std::string>(decoded.value.value) == "a\xC3\xA4"
                                                        "b");
}

TEST_CASE("a read shows register / scale with the type's sign, and strings as text, unvalidated", "[codec]") {
    using codec::toEngineering;
    CHECK(std::get<double>(toEngineering(reg(ModbusType::Int16, 10), W{0xFF3B})) == Approx(-19.7));
    CHECK(std::get<double>(toEngineering(reg(ModbusType::Uint16, 10), W{0xFF3B})) == Approx(6533.9));
    CHECK(std::get<double>(toEngineering(reg(ModbusType::Int32, 1), W{0xFFFF, 0xFED4})) == -300.0);
    CHECK(std::get<double>(toEngineering(reg(ModbusType::Uint32, 100), W{0x0001, 0x0000})) == Approx(655.36));
    CHECK(std::get<std::string>(toEngineering(reg(ModbusType::String, 1, 3), W{0x4869, 0x2100, 0x4142})) ==
          "Hi!");
    CHECK_FALSE(codec::isValid(toEngineering(reg(ModbusType::Reserved), W{0xFFFF})));
    // decode() refuses what is outside the enum; a read shows it all the same.
    auto withEnum = reg(ModbusType::Uint16);
    withEnum.enumTexts = {{1, "On"}, {4, "Off"}};
    CHECK(codec::decode(withEnum, W{7}).error == codec::DecodeError::OutOfRange);
    CHECK(std::get<double>(toEngineering(withEnum, W{7})) == 7.0);
}
