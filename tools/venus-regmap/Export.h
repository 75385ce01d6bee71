#pragma once

#include "Sources.h"

#include "regmap/RegisterMap.h"

#include <string>

namespace vmd::regmaptool {

/// docs/registers.csv: one row per register, header
/// `service,path,address,type,scale,unit,access,range,description`.
[[nodiscard]] std::string registersCsv(const regmap::RegisterMap& map);

/// docs/registers.md: the unit-ID rule and table, the address plan, and one table per service.
[[nodiscard]] std::string registersMarkdown(const regmap::RegisterMap& map, const Sources& sources);

/// docs/registers.xlsx: sheets "Field list" and "Unit ID mapping". Returns an error text, empty on success.
[[nodiscard]] std::string writeRegistersXlsx(const regmap::RegisterMap& map, const std::string& file);

/// docs/coverage.md: every (service, path) of the path list with its registers, or why it has none.
/// A path with neither, or with both, is a problem.
[[nodiscard]] std::string coverageMarkdown(const regmap::RegisterMap& map, const Sources& sources,
                                           Diagnostics& problems);

} // namespace vmd::regmaptool
