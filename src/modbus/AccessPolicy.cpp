#include "modbus/AccessPolicy.h"

#include <charconv>

namespace vmd::modbus {

namespace {

std::optional<std::uint16_t> registerNumber(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

} // namespace

std::optional<WriteRange> parseWriteRange(std::string_view text) {
    const auto dash = text.find('-');
    auto first = registerNumber(text.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : registerNumber(text.substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    return WriteRange{*first, *last};
}

bool AccessPolicy::roleMayWrite(std::uint16_t address, std::uint16_t quantity) const {
    switch (writes) {
    case Writes::All:
        return true;
    case Writes::None:
        return false;
    case Writes::Ranges:
        break;
    }
    const std::uint32_t end = std::uint32_t{address} + quantity; // exclusive
    for (const auto& range : ranges)
        if (address >= range.first && end <= std::uint32_t{range.last} + 1) return true;
    return false;
}

std::string AccessPolicy::describe() const {
    switch (writes) {
    case Writes::All:
        return "write";
    case Writes::None:
        return "read";
    case Writes::Ranges:
        break;
    }
    std::string text = "write";
    for (const auto& r : ranges) { // appended piece by piece: GCC 12 at -O3 misreads `"-" + to_string()`
        text += ' ';
        text += std::to_string(r.first);
        if (r.last != r.first) {
            text += '-';
            text += std::to_string(r.last);
        }
    }
    return text;
}

} // namespace vmd::modbus
