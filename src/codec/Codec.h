#pragma once

#include "codec/Value.h"
#include "regmap/Types.h"

#include <cstdint>
#include <span>
#include <string>

namespace vmd::codec {

/// What a register holds when its value is missing or invalid (DESIGN section 4).
enum class NotAvailable : std::uint8_t {
    Zero, ///< every word 0, as GX devices answer
    Max,  ///< the type's maximum: 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFF... (strings stay 0)
};

/// Writes the `reg.words` words that represent `value` in register `reg`.
/// Scaling rounds half away from zero; numbers beyond the type saturate at MIN or MAX-1
/// (MAX is kept for "not available"); NaN and non-numeric values are not available.
void encode(const Value& value, const regmap::Register& reg, NotAvailable na, std::span<std::uint16_t> out);

/// The "not available" words of a register.
void encodeNotAvailable(const regmap::Register& reg, NotAvailable na, std::span<std::uint16_t> out);

/// Why a write cannot be turned into a D-Bus value.
enum class DecodeError : std::uint8_t {
    None,
    OutOfRange,  ///< outside `range`, not an enum value, or does not fit the path's D-Bus type
    NotWritable, ///< a register kind that carries no value (reserved)
};

struct Decoded {
    DecodeError error = DecodeError::None;
    TypedValue value;
};

/// Turns the full word image of a register (reg.words words) into the value to send:
/// register / scale, as the register's D-Bus type; validated against range, enum and type limits.
[[nodiscard]] Decoded decode(const regmap::Register& reg, std::span<const std::uint16_t> words);

/// The engineering value of a register's full word image (reg.words words), as a client shows it:
/// register / scale as a double for numbers, the text for strings, invalid for reserved registers.
/// Unlike decode() nothing is validated (a read shows what the server holds).
[[nodiscard]] Value toEngineering(const regmap::Register& reg, std::span<const std::uint16_t> words);

/// Text in Latin-1 bytes (UTF-8 input; characters outside Latin-1 become '?').
[[nodiscard]] std::string utf8ToLatin1(const std::string& text);
[[nodiscard]] std::string latin1ToUtf8(const std::string& bytes);

} // namespace vmd::codec
