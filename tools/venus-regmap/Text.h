#pragma once

#include "regmap/Types.h"

#include <string>
#include <string_view>
#include <vector>

namespace vmd::regmaptool {

/// A number as the map writes it: integers without a decimal point, others in their shortest exact form.
[[nodiscard]] std::string formatNumber(double value);

/// A YAML double-quoted scalar.
[[nodiscard]] std::string yamlQuote(std::string_view text);

/// One CSV field, quoted when it holds a comma, a quote or a line break.
[[nodiscard]] std::string csvField(std::string_view text);

/// Text for a Markdown table cell: '|' escaped, line breaks as spaces.
[[nodiscard]] std::string markdownCell(std::string_view text);

/// "0=Off;1=On" (values in ascending order).
[[nodiscard]] std::string enumText(const std::vector<regmap::EnumText>& items);

/// The Modbus type with its size, as the map spells it: "uint16", "string[8]", "reserved[2]".
[[nodiscard]] std::string typeName(const regmap::Register& reg);

/// The smallest and largest raw register value of a number type (reserved and strings: 0, 0).
struct RawLimits {
    double min;
    double max;
};
[[nodiscard]] RawLimits rawLimits(regmap::ModbusType type);

/// Writes `text` to `path`; false (and errno set) when it cannot.
[[nodiscard]] bool writeFile(const std::string& path, const std::string& text);

} // namespace vmd::regmaptool
