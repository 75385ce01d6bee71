#include "PathListParser.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

namespace vmd::regmaptool {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

/// Whitespace runs folded to one space.
std::string fold(std::string_view s) {
    std::string out;
    bool space = false;
    for (char c : trim(s)) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = true;
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

bool isPathChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '/' || c == '#' || c == '*' ||
           c == '.' || c == '[' || c == ']' || c == '-';
}

bool isNumber(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(),
                                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

/// Checks one component; empty when it is well formed, else why not.
std::string componentProblem(std::string_view c) {
    if (c.empty()) return "an empty component";
    if (c == "*" || c == "..." || c == "#") return {};
    if (c.front() == '[') {
        auto dash = c.find('-');
        if (c.back() != ']' || dash == std::string_view::npos)
            return "'" + std::string(c) + "' is not a range [A-B]";
        auto a = c.substr(1, dash - 1);
        auto b = c.substr(dash + 1, c.size() - dash - 2);
        if (!isNumber(a) || !isNumber(b) || a.size() > 6 || b.size() > 6 ||
            std::stoul(std::string(a)) > std::stoul(std::string(b)))
            return "'" + std::string(c) + "' is not a range [A-B] of numbers with A <= B";
        return {};
    }
    for (char ch : c)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || (ch == '*' && c == "L*") ||
              (ch == '-' && c.size() > 1)))
            return "'" + std::string(c) + "' holds '" + std::string(1, ch) + "'";
    return {};
}

/// Empty when `path` (with its leading '/') is well formed, else why not.
std::string pathProblem(std::string_view path) {
    if (path.size() < 2 || path.front() != '/') return "a path starts with '/' and has a name";
    std::string_view rest = path.substr(1);
    while (true) {
        auto slash = rest.find('/');
        auto c = rest.substr(0, slash);
        if (auto p = componentProblem(c); !p.empty()) return p;
        if (slash == std::string_view::npos) return {};
        rest = rest.substr(slash + 1);
    }
}

// The structure of a line is read by hand, not with std::regex: its matcher recurses once per
// character, so a long line of bad input would overflow the stack.

/// "com.victronenergy.TYPE REST", "NAME is com.victronenergy.TYPE", "NAME makes a com.victronenergy.TYPE
/// service": true, with TYPE and what follows it.
bool matchHeader(std::string_view line, std::string& type, std::string& rest) {
    static constexpr std::string_view kPrefix = "com.victronenergy.";
    auto at = line.find(kPrefix);
    if (at == std::string_view::npos) return false;
    if (at != 0) {
        auto space = line.find(' ');
        auto lead = line.substr(space == std::string_view::npos ? 0 : space, at - std::min(at, space));
        if (space == std::string_view::npos || space == 0 ||
            (lead != " is " && lead != " makes a " && lead != " makes an "))
            return false;
    }
    auto start = at + kPrefix.size();
    auto end = start;
    while (end < line.size() && (std::islower(static_cast<unsigned char>(line[end])) ||
                                 std::isdigit(static_cast<unsigned char>(line[end])) || line[end] == '_'))
        ++end;
    if (end == start) return false;
    type = std::string(line.substr(start, end - start));
    rest = std::string(line.substr(end));
    return true;
}

/// An entry of the index at the top of the page, "- vebus (inverter/charger)": the name.
std::string indexEntry(std::string_view line) {
    if (!line.starts_with("- ")) return {};
    auto name = line.substr(2);
    auto end = name.find(' ');
    auto word = name.substr(0, end);
    if (word.empty() || !std::islower(static_cast<unsigned char>(word.front()))) return {};
    for (char c : word)
        if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)))
            return {};
    if (end != std::string_view::npos) {
        auto note = name.substr(end);
        if (!note.starts_with(" (") || !note.ends_with(")")) return {};
    }
    return std::string(word);
}

/// The length of the arrow that starts `tail` (<-, <--, <=, <—-, ->, -->, or ':'), 0 when none, with the
/// blanks after it.
std::size_t arrowLength(std::string_view tail) {
    static constexpr std::string_view kEmDash = "\xE2\x80\x94";
    std::size_t n = 0;
    if (tail.starts_with(":")) {
        n = 1;
    } else if (tail.starts_with("<")) {
        n = 1;
        if (tail.substr(1).starts_with(kEmDash)) n += kEmDash.size();
        auto body = n;
        while (n < tail.size() && (tail[n] == '-' || tail[n] == '='))
            ++n;
        if (n == 1 && body == 1) return 0;
    } else if (tail.starts_with("-")) {
        while (n < tail.size() && tail[n] == '-')
            ++n;
        if (n == tail.size() || tail[n] != '>') return 0;
        ++n;
    } else {
        return 0;
    }
    while (n < tail.size() && std::isspace(static_cast<unsigned char>(tail[n])))
        ++n;
    return n;
}

struct Section {
    std::vector<std::string> services;
    std::string prefix; ///< "/Notifications" for `com.victronenergy.platform/Notifications/`
    bool lastWasHeader = false;
};

enum class LineKind : std::uint8_t { Prose, Path, Malformed };

/// Splits a line into a path token and the rest when it is a path line.
LineKind splitPathLine(std::string_view line, const Section& section, std::string& path, std::string& rest) {
    std::size_t end = 0;
    while (end < line.size() && isPathChar(line[end]))
        ++end;
    auto token = line.substr(0, end);
    auto after = line.substr(end);
    if (token.empty()) return LineKind::Prose;
    if (!after.empty() && after.front() != ' ' && after.front() != '\t' && after.front() != ':' &&
        after.front() != '<') {
        // "/Ac/PowerMeasurementType, further below)." is prose that begins with a path.
        if (token.front() != '/' || after.front() == ',' || after.front() == ')' || after.front() == ';')
            return LineKind::Prose;
        path = std::string(token) + after.front();
        return LineKind::Malformed;
    }
    auto tail = trim(after);
    auto arrow = arrowLength(tail);
    bool hasArrow = arrow > 0;
    if (token.front() == '/') {
        path = std::string(token);
    } else {
        if (!std::isupper(static_cast<unsigned char>(token.front())) && token.front() != '[')
            return LineKind::Prose;
        bool relative = !section.prefix.empty();
        if (relative && !hasArrow) return LineKind::Prose;
        if (!relative && token.find('/') == std::string_view::npos) return LineKind::Prose;
        if (!relative && !hasArrow && !tail.empty()) return LineKind::Prose;
        path = (relative ? section.prefix : std::string()) + "/" + std::string(token);
    }
    rest = std::string(tail.substr(arrow));
    return LineKind::Path;
}

} // namespace

std::vector<ListedPath> parsePathList(std::string_view text, const std::string& file, Diagnostics& problems) {
    std::vector<ListedPath> out;
    Section section;
    std::set<std::string> indexNames; // section headings the page's index names
    bool continued = false;           // the line before ended with '&': this one finishes it
    unsigned number = 0;
    auto addPath = [&](std::string path, std::string_view rest, unsigned line) {
        auto first = trim(rest).substr(0, std::min<std::size_t>(trim(rest).size(), 6));
        if (first.starts_with("GetMin") || first.starts_with("GetMax")) return; // D-Bus methods, not paths
        while (path.size() > 1 && path.back() == '/')
            path.pop_back();
        if (auto p = pathProblem(path); !p.empty()) {
            problems.push_back({file, line, "malformed path '" + path + "': " + p});
            return;
        }
        if (section.services.empty()) {
            problems.push_back(
                {file, line,
                 "path '" + path + "' before the first service section (com.victronenergy.TYPE)"});
            return;
        }
        auto description = fold(rest);
        for (const auto& service : section.services)
            out.push_back({service, path, description, unitOf(description), line});
    };
    while (!text.empty()) {
        auto eol = text.find('\n');
        auto raw = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        ++number;
        auto line = trim(raw);
        bool continuation = continued;
        continued = !line.empty() && line.back() == '&';
        std::string lower(line);
        if (!lower.empty()) lower[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[0])));
        if (auto entry = indexEntry(line); !entry.empty()) indexNames.insert(entry);
        if (line == "Generic paths" || indexNames.count(lower)) {
            // A heading: "Generic paths", or a single word the index names ("Heatpump", "motordrive").
            section = {{line == "Generic paths" ? std::string(PathList::kGeneric) : lower}, {}, true};
            continue;
        }
        if (std::string type, restText; matchHeader(line, type, restText)) {
            if (!section.lastWasHeader) section.services.clear();
            section.prefix.clear();
            section.lastWasHeader = true;
            if (std::find(section.services.begin(), section.services.end(), type) == section.services.end())
                section.services.push_back(type);
            auto rest = trim(restText);
            if (rest.starts_with("/")) {
                section.prefix = std::string(rest);
                while (!section.prefix.empty() && section.prefix.back() == '/')
                    section.prefix.pop_back();
            } else if (!rest.empty() && rest.find(' ') == std::string_view::npos &&
                       rest.find('/') != std::string_view::npos) {
                Section only{{type}, {}, true};
                std::swap(section, only);
                addPath("/" + std::string(rest), {},
                        number); // "com.victronenergy.platform Gui/RunningVersion"
                std::swap(section, only);
            }
            continue;
        }
        std::string path, rest;
        auto kind = line.empty() || continuation ? LineKind::Prose : splitPathLine(line, section, path, rest);
        if (kind == LineKind::Malformed) {
            problems.push_back(
                {file, number,
                 "malformed path '" + path +
                     "...': a path holds only letters, digits, '_' and the placeholders x, n, #, [A-B], *"});
            section.lastWasHeader = false;
            continue;
        }
        if (kind == LineKind::Prose) {
            if (!line.empty()) section.lastWasHeader = false;
            continue;
        }
        section.lastWasHeader = false;
        addPath(path, rest, number);
    }
    return out;
}

std::string unitOf(std::string_view description) {
    struct Rule {
        const char* pattern;
        const char* unit;
    };
    static const std::vector<std::pair<std::regex, std::string>> rules = [] {
        const Rule table[] = {
            {R"(^V DC\b)", "V DC"},
            {R"(^V AC\b)", "V AC"},
            {R"(^A DC\b)", "A DC"},
            {R"(^A AC\b)", "A AC"},
            {R"(^(W|V|A|VA|Hz|kWh|Ah|RPM)(\s*[,;-]|$))", "$1"},
            {R"((^|\s)(\(|\[)(in )?(W|Watts?)(\)|\])|\bin Watts?\b)", "W"},
            {R"((^|\s)(\(|\[)(in )?(A|Amps?)(\)|\])|\bin Amps?\b)", "A"},
            {R"((^|\s)(\(|\[)(in )?(V|Volts?)(\)|\])|\bin Volts?\b)", "V"},
            {R"((^|\s)(\(|\[)(in )?(s|seconds)(\)|\])|\bin seconds\b)", "s"},
            {R"(\bin hours\b|\[h\])", "h"},
            {R"(\bin minutes\b|\[min\])", "min"},
            {R"(\bdegrees? Cel[cs]ius\b|°C)", "°C"},
            {R"(\bkWh\b)", "kWh"},
            {R"(\bAh\b)", "Ah"},
            {R"(\bm3\b)", "m3"},
            {R"(\bHz\b)", "Hz"},
            {R"(\d%|\bin %|\(%\)|\[%\])", "%"},
        };
        std::vector<std::pair<std::regex, std::string>> out;
        for (const auto& r : table)
            out.emplace_back(std::regex(r.pattern), r.unit);
        return out;
    }();
    std::string text(description.substr(0, std::min<std::size_t>(description.size(), 512)));
    for (const auto& [re, unit] : rules) {
        std::smatch m;
        if (std::regex_search(text, m, re)) return unit == "$1" ? m[1].str() : unit;
    }
    return {};
}

bool pathMatches(std::string_view pattern, std::string_view path) {
    auto split = [](std::string_view s) {
        std::vector<std::string_view> parts;
        if (!s.empty() && s.front() == '/') s.remove_prefix(1);
        while (true) {
            auto slash = s.find('/');
            parts.push_back(s.substr(0, slash));
            if (slash == std::string_view::npos) break;
            s = s.substr(slash + 1);
        }
        return parts;
    };
    auto want = split(pattern);
    auto have = split(path);
    for (std::size_t i = 0; i < want.size(); ++i) {
        auto w = want[i];
        if (w == "*" || w == "...") return have.size() > i; // everything below
        if (i >= have.size()) return false;
        auto h = have[i];
        if (w == h) continue; // paths.yaml may keep a placeholder as it is listed
        if (w == "x" || w == "n" || w == "#") {
            if (!isNumber(h)) return false;
        } else if (w == "Lx" || w == "L*") {
            if (h.size() < 2 || h[0] != 'L' || !isNumber(h.substr(1))) return false;
        } else if (w.size() > 2 && w.front() == '[') {
            auto dash = w.find('-');
            if (!isNumber(h) || h.size() > 6) return false;
            auto v = std::stoul(std::string(h));
            if (v < std::stoul(std::string(w.substr(1, dash - 1))) ||
                v > std::stoul(std::string(w.substr(dash + 1, w.size() - dash - 2))))
                return false;
        } else if (w != h) {
            return false;
        }
    }
    return want.size() == have.size();
}

} // namespace vmd::regmaptool
