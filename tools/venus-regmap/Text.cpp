#include "Text.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>

namespace vmd::regmaptool {

std::string formatNumber(double value) {
    if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) < 1e15)
        return std::to_string(static_cast<std::int64_t>(value));
    std::array<char, 64> buffer{};
    auto [end, ec] =
        std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
    if (ec != std::errc()) return "0";
    return std::string(buffer.data(), end);
}

std::string yamlQuote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

std::string csvField(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + '"';
}

std::string markdownCell(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n' || c == '\r')
            out += ' ';
        else
            out += c;
    }
    return out;
}

std::string enumText(const std::vector<regmap::EnumText>& items) {
    auto sorted = items;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.value < b.value; });
    std::string out;
    for (const auto& item : sorted) {
        if (!out.empty()) out += ';';
        out += std::to_string(item.value) + '=' + item.text;
    }
    return out;
}

std::string typeName(const regmap::Register& reg) {
    std::string name = regmap::toString(reg.type);
    if (reg.type == regmap::ModbusType::String || reg.type == regmap::ModbusType::Reserved)
        name += "[" + std::to_string(reg.words) + "]";
    return name;
}

RawLimits rawLimits(regmap::ModbusType type) {
    switch (type) {
    case regmap::ModbusType::Int16:
        return {-32768.0, 32767.0};
    case regmap::ModbusType::Uint16:
        return {0.0, 65535.0};
    case regmap::ModbusType::Int32:
        return {-2147483648.0, 2147483647.0};
    case regmap::ModbusType::Uint32:
        return {0.0, 4294967295.0};
    case regmap::ModbusType::Uint64:
        return {0.0, 18446744073709551615.0};
    case regmap::ModbusType::String:
    case regmap::ModbusType::Reserved:
        break;
    }
    return {0.0, 0.0};
}

bool writeFile(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << text;
    out.close();
    return static_cast<bool>(out);
}

} // namespace vmd::regmaptool
