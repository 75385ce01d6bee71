#pragma once

#include "Sources.h"

#include <string>
#include <vector>

namespace vmd::regmaptool {

struct ValidationReport {
    Diagnostics problems; ///< make the map unusable or wrong: exit 2
    Diagnostics notes;    ///< information, such as holes inside a service's block
    std::string summary;  ///< one line when the map loaded
};

/// Holes of at most this many words between two registers of one service (with no other register in
/// between) count as holes inside a block and are reported as notes.
inline constexpr unsigned kHoleLimit = 50;

/// Loads `files` together (the first is the map, the others overlays, as the server does) and checks
/// what the loader does not: D-Bus types against Modbus types, enum keys and ranges against the type,
/// computed registers, the unit table, and holes inside blocks.
[[nodiscard]] ValidationReport validateMaps(const std::vector<std::string>& files);

} // namespace vmd::regmaptool
