#include "codec/Codec.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace vmd::codec {

using regmap::ModbusType;
using regmap::Register;

std::string toText(const Value& v) {
    struct Visitor {
        std::string operator()(std::monostate) const { return {}; }
        std::string operator()(std::int64_t x) const { return std::to_string(x); }
        std::string operator()(std::uint64_t x) const { return std::to_string(x); }
        std::string operator()(bool x) const { return x ? "1" : "0"; }
        std::string operator()(double x) const {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.15g", x);
            return buf;
        }
        std::string operator()(const std::string& x) const { return x; }
    };
    return std::visit(Visitor{}, v);
}

namespace {

// A register's integer range. Everything here is exact: 64-bit integers, and doubles only for products
// that are compared against powers of two. No `long double`: its width differs between CPUs (80 bits on
// x86, 64 on ARM), and the GX device computes in double.
struct Limits {
    std::int64_t min;
    std::uint64_t max;
};

Limits limitsOf(ModbusType type) {
    switch (type) {
    case ModbusType::Int16:
        return {-32768, 32767};
    case ModbusType::Uint16:
        return {0, 65535};
    case ModbusType::Int32:
        return {-2147483648LL, 2147483647};
    case ModbusType::Uint32:
        return {0, 4294967295ULL};
    case ModbusType::Uint64:
        return {0, std::numeric_limits<std::uint64_t>::max()};
    default:
        return {0, 0};
    }
}

void putWords(std::uint64_t bits, std::span<std::uint16_t> out) {
    // High word first.
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<std::uint16_t>(bits >> (16 * (out.size() - 1 - i)));
}

std::uint64_t getWords(std::span<const std::uint16_t> words) {
    std::uint64_t bits = 0;
    for (auto w : words)
        bits = (bits << 16) | w;
    return bits;
}

/// The register's bits of an integer, saturated at [min, max - 1] (MAX stays free for "not available").
std::uint64_t saturate(std::int64_t v, const Limits& limits) {
    if (v < limits.min) v = limits.min;
    if (v >= 0 && static_cast<std::uint64_t>(v) >= limits.max) return limits.max - 1;
    return static_cast<std::uint64_t>(v);
}

std::uint64_t saturate(std::uint64_t v, const Limits& limits) {
    return v >= limits.max ? limits.max - 1 : v;
}

std::uint64_t saturate(double v, const Limits& limits) {
    constexpr double kTwo63 = 9223372036854775808.0;
    if (v <= static_cast<double>(limits.min)) return static_cast<std::uint64_t>(limits.min);
    // max + 1 is a power of two, exact in double (2^64 for uint64): anything at or above max saturates.
    double top = static_cast<double>(limits.max / 2 + 1) * 2.0;
    if (v >= top - 1.0) return limits.max - 1;
    if (v < 0) return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
    return v < kTwo63 ? static_cast<std::uint64_t>(static_cast<std::int64_t>(v))
                      : static_cast<std::uint64_t>(v);
}

/// round(value x scale) as the GX device computes it: in double, C `round` (halves away from zero).
/// Integers with scale 1 stay exact (64-bit values beyond 2^53).
std::optional<std::uint64_t> scaledBits(const Value& v, double scale, const Limits& limits) {
    if (auto p = std::get_if<std::int64_t>(&v))
        return scale == 1 ? saturate(*p, limits)
                          : saturate(std::round(static_cast<double>(*p) * scale), limits);
    if (auto p = std::get_if<std::uint64_t>(&v))
        return scale == 1 ? saturate(*p, limits)
                          : saturate(std::round(static_cast<double>(*p) * scale), limits);
    if (auto p = std::get_if<double>(&v)) {
        if (std::isnan(*p)) return std::nullopt;
        return saturate(std::round(*p * scale), limits);
    }
    return std::nullopt;
}

void encodeString(const std::string& text, std::span<std::uint16_t> out) {
    auto bytes = utf8ToLatin1(text);
    for (std::size_t i = 0; i < out.size(); ++i) {
        auto hi = 2 * i < bytes.size() ? static_cast<unsigned char>(bytes[2 * i]) : 0u;
        auto lo = 2 * i + 1 < bytes.size() ? static_cast<unsigned char>(bytes[2 * i + 1]) : 0u;
        out[i] = static_cast<std::uint16_t>((hi << 8) | lo);
    }
}

} // namespace

void encodeNotAvailable(const Register& reg, NotAvailable na, std::span<std::uint16_t> out) {
    if (reg.type == ModbusType::Reserved) {
        std::fill(out.begin(), out.end(), 0xFFFF);
        return;
    }
    std::fill(out.begin(), out.end(), 0);
    if (na == NotAvailable::Zero || reg.type == ModbusType::String) return;
    switch (reg.type) {
    case ModbusType::Int16:
        out[0] = 0x7FFF;
        break;
    case ModbusType::Int32:
        out[0] = 0x7FFF;
        out[1] = 0xFFFF;
        break;
    default:
        std::fill(out.begin(), out.end(), 0xFFFF);
        break;
    }
}

void encode(const Value& value, const Register& reg, NotAvailable na, std::span<std::uint16_t> out) {
    if (reg.type == ModbusType::Reserved || !isValid(value)) return encodeNotAvailable(reg, na, out);
    if (reg.type == ModbusType::String) {
        encodeString(toText(value), out);
        return;
    }
    auto limits = limitsOf(reg.type);
    std::uint64_t bits;
    if (auto b = std::get_if<bool>(&value)) {
        bits = *b ? 1 : 0; // a flag: scale does not apply
    } else if (auto scaled = scaledBits(value, reg.scale, limits)) {
        bits = *scaled;
    } else {
        return encodeNotAvailable(reg, na, out); // a string or NaN in a number register
    }
    putWords(bits, out);
}

namespace {

/// A D-Bus integer type's range as [min, end): both bounds are exact in double (powers of two).
struct DbusLimits {
    double min;
    double end;
};

std::optional<DbusLimits> dbusLimits(char type) {
    switch (type) {
    case 'y':
        return DbusLimits{0, 256};
    case 'b':
        return DbusLimits{0, 2};
    case 'n':
        return DbusLimits{-32768, 32768};
    case 'q':
        return DbusLimits{0, 65536};
    case 'i':
        return DbusLimits{-2147483648.0, 2147483648.0};
    case 'u':
        return DbusLimits{0, 4294967296.0};
    case 'x':
        return DbusLimits{-9223372036854775808.0, 9223372036854775808.0};
    case 't':
        return DbusLimits{0, 18446744073709551616.0};
    default:
        return std::nullopt;
    }
}

/// The text of a string register: Latin-1 bytes, high byte first, up to the first NUL.
std::string textOf(std::span<const std::uint16_t> words) {
    std::string bytes;
    for (auto w : words) {
        bytes.push_back(static_cast<char>(w >> 8));
        bytes.push_back(static_cast<char>(w & 0xFF));
    }
    bytes.resize(std::min(bytes.size(), bytes.find('\0')));
    return latin1ToUtf8(bytes);
}

/// register / scale of a number register, with the type's sign.
double engineeringOf(const Register& reg, std::span<const std::uint16_t> words) {
    auto bits = getWords(words);
    // register / scale in double, as the GX device computes it.
    double raw;
    switch (reg.type) {
    case ModbusType::Int16:
        raw = static_cast<std::int16_t>(bits);
        break;
    case ModbusType::Int32:
        raw = static_cast<std::int32_t>(bits);
        break;
    default:
        raw = static_cast<double>(bits);
        break;
    }
    return raw / reg.scale;
}

} // namespace

Value toEngineering(const Register& reg, std::span<const std::uint16_t> words) {
    if (reg.type == ModbusType::Reserved) return {};
    if (reg.type == ModbusType::String) return textOf(words);
    return engineeringOf(reg, words);
}

Decoded decode(const Register& reg, std::span<const std::uint16_t> words) {
    if (reg.type == ModbusType::Reserved) return {DecodeError::NotWritable, {}};
    if (reg.type == ModbusType::String) return {DecodeError::None, {'s', textOf(words)}};
    double engineering = engineeringOf(reg, words);
    if (reg.range && (engineering < reg.range->min || engineering > reg.range->max))
        return {DecodeError::OutOfRange, {}};
    if (!reg.range && !reg.enumTexts.empty() &&
        std::none_of(reg.enumTexts.begin(), reg.enumTexts.end(),
                     [&](const auto& e) { return static_cast<double>(e.value) == engineering; }))
        return {DecodeError::OutOfRange, {}};

    if (reg.dbusType == 'd') return {DecodeError::None, {'d', engineering}};
    auto limits = dbusLimits(reg.dbusType);
    if (!limits) return {DecodeError::OutOfRange, {}}; // 's' on a number register: nothing sensible to send
    // A 64-bit register written at scale 1 stays exact beyond 2^53.
    if (reg.scale == 1 && reg.type == ModbusType::Uint64 && reg.dbusType == 't')
        return {DecodeError::None, {'t', Value{getWords(words)}}};
    double rounded = std::round(engineering);
    if (rounded < limits->min || rounded >= limits->end) return {DecodeError::OutOfRange, {}};
    switch (reg.dbusType) {
    case 'b':
        return {DecodeError::None, {'b', rounded != 0}};
    case 'n':
    case 'i':
    case 'x':
        return {DecodeError::None, {reg.dbusType, static_cast<std::int64_t>(rounded)}};
    default:
        return {DecodeError::None, {reg.dbusType, static_cast<std::uint64_t>(rounded)}};
    }
}

std::string utf8ToLatin1(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        auto c = static_cast<unsigned char>(text[i]);
        unsigned codePoint;
        std::size_t length;
        if (c < 0x80)
            codePoint = c, length = 1;
        else if ((c & 0xE0) == 0xC0)
            codePoint = c & 0x1Fu, length = 2;
        else if ((c & 0xF0) == 0xE0)
            codePoint = c & 0x0Fu, length = 3;
        else if ((c & 0xF8) == 0xF0)
            codePoint = c & 0x07u, length = 4;
        else
            codePoint = '?', length = 1;
        if (i + length > text.size()) {
            out.push_back('?');
            break;
        }
        for (std::size_t k = 1; k < length; ++k)
            codePoint = (codePoint << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3Fu);
        out.push_back(codePoint <= 0xFF ? static_cast<char>(codePoint) : '?');
        i += length;
    }
    return out;
}

std::string latin1ToUtf8(const std::string& bytes) {
    std::string out;
    for (char ch : bytes) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x80)
            out.push_back(ch);
        else {
            out.push_back(static_cast<char>(0xC0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
        }
    }
    return out;
}

} // namespace vmd::codec
