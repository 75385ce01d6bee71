#pragma once

#include "Sources.h"

#include <string>
#include <string_view>
#include <vector>

namespace vmd::regmaptool {

/// One path line of Victron's published D-Bus path list.
struct ListedPath {
    std::string service;     ///< the service type ("system", "battery"; "generic" for every device)
    std::string path;        ///< as listed, placeholders kept: /Pv/x/V, /Error/n/Id, /Devices/#/..., /Ac/Lx/*
    std::string description; ///< the text after the path on its line (arrow removed), whitespace folded
    std::string unit;        ///< the unit its description names ("in seconds" -> "s"), or empty
    unsigned line = 0;
};

/// Reads the path list format (the wiki page "dbus" of venus, as text):
///  - a line `com.victronenergy.TYPE [...]` (or `NAME is com.victronenergy.TYPE`) starts a section of
///    service TYPE; header lines that follow each other add services to one section (grid and genset);
///    a text after TYPE that is a path is a path of that section. `Generic paths` starts the section of
///    the paths every service has.
///  - a path line starts with `/` (or with `Word/` and holds an arrow): `/Path <- description`; the
///    arrow may be <-, <--, <=, ->, : or absent. Components are words or placeholders: x, n, #, Lx,
///    L*, [A-B] (a range of numbers), * and ... (every path below).
///  - every other line is prose and ignored, as are path lines followed by `,` or `)` (prose that begins
///    with a path) and `GetMin`/`GetMax` (D-Bus methods of an item).
/// A line that starts with `/` and is not a well-formed path (an empty component, a bad range, a
/// character no path has) is a problem at FILE:LINE, and so is a path line before the first section.
[[nodiscard]] std::vector<ListedPath> parsePathList(std::string_view text, const std::string& file,
                                                    Diagnostics& problems);

/// The unit a description names: "(W)", "in Watts", "in seconds", "degrees Celsius", "kWh", "m3" ...
/// in the spelling paths.yaml uses ("W", "s", "°C"); empty when it names none.
[[nodiscard]] std::string unitOf(std::string_view description);

/// Whether `pattern` (a listed path with placeholders) stands for the concrete `path`: x, n and # match
/// a number, Lx and L* a phase (L1...), [A-B] a number from A to B, * and ... one or more components.
[[nodiscard]] bool pathMatches(std::string_view pattern, std::string_view path);

} // namespace vmd::regmaptool
