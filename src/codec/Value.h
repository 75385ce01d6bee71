#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace vmd::codec {

/// A D-Bus value as the mirror keeps it. `std::monostate` is "invalid" (the empty array on the bus).
using Value = std::variant<std::monostate, std::int64_t, std::uint64_t, double, bool, std::string>;

[[nodiscard]] inline bool isValid(const Value& v) {
    return !std::holds_alternative<std::monostate>(v);
}

/// A value to send on D-Bus together with the exact D-Bus type letter to send it as.
struct TypedValue {
    char dbusType = 'd';
    Value value;
};

/// Numbers as decimal text, strings as they are, invalid as "".
[[nodiscard]] std::string toText(const Value& v);

} // namespace vmd::codec
