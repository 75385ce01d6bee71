#pragma once

#include "Sources.h"

#include <string>

namespace vmd::regmaptool {

/// The first address of our own registers and the server's reserved discovery block below it.
inline constexpr unsigned kExtensionStart = 40000;
inline constexpr unsigned kDiscoveryFirst = 39000;
inline constexpr unsigned kDiscoveryLast = 39999;

/// Words a Modbus type spelled as in the map occupies (int16 -> 1, string[8] -> 8); 0 when unknown.
[[nodiscard]] unsigned typeWords(const std::string& type);

/// Builds register-maps/victron.yaml from the sources: addresses, types, scales and access from the
/// assignments, descriptions, units and enum texts from the path list. Checks that the sources agree
/// with each other (every path known, not excluded, writable where written, in its block) and that the
/// result loads; each problem goes to `problems` with the source file and line it comes from.
[[nodiscard]] std::string generateMap(const Sources& sources, Diagnostics& problems);

} // namespace vmd::regmaptool
