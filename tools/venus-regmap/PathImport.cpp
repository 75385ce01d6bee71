#include "PathImport.h"

#include "Text.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace vmd::regmaptool {

std::string descriptionDigest(const std::string& description) {
    std::uint64_t hash = 0xcbf29ce484222325ULL; // FNV-1a
    for (char c : description) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    static const char* hex = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, hash >>= 4)
        out[static_cast<std::size_t>(i)] = hex[hash & 0xF];
    return out;
}

std::vector<ListedDigest> readPathListState(const std::string& file, Diagnostics& problems) {
    std::vector<ListedDigest> out;
    std::ifstream in(file);
    if (!in) return out;
    std::stringstream text;
    text << in.rdbuf();
    try {
        auto root = YAML::Load(text.str());
        auto list = root["listed"];
        if (!root.IsMap() || !list || !list.IsSequence()) {
            problems.push_back({file, 1, "'listed' must be a list (the file is written by `paths import`)"});
            return out;
        }
        for (const auto& node : list) {
            auto line = static_cast<unsigned>(node.Mark().line + 1);
            if (!node.IsMap() || !node["service"] || !node["path"] || !node["digest"]) {
                problems.push_back({file, line, "an entry needs service, path and digest"});
                continue;
            }
            out.push_back({node["service"].as<std::string>(), node["path"].as<std::string>(),
                           node["digest"].as<std::string>()});
        }
    } catch (const YAML::Exception& e) {
        problems.push_back({file, static_cast<unsigned>(e.mark.line + 1), "YAML syntax: " + e.msg});
    }
    return out;
}

std::string pathListStateText(const std::vector<ListedPath>& listed) {
    std::string out =
        "# What the D-Bus path list said when it was last imported (`venus-regmap paths import LIST`): each\n"
        "# listed service and path with a digest of the list's description, so that the next import reports\n"
        "# what was added, what is gone and which descriptions changed. Written by the import; do not edit.\n"
        "# The paths with our descriptions, units, enums and exclusions are in paths.yaml.\n"
        "listed:\n";
    for (const auto& p : listed)
        out += "  - {service: " + p.service + ", path: " + yamlQuote(p.path) +
               ", digest: " + yamlQuote(descriptionDigest(p.description)) + "}\n";
    return out;
}

namespace {

using Key = std::pair<std::string, std::string>;

/// Whether paths.yaml has the listed path: the path itself or, for a pattern, a path it stands for.
bool known(const PathList& paths, const ListedPath& listed) {
    for (std::string_view type : {std::string_view(listed.service), PathList::kGeneric}) {
        const auto* service = paths.service(type);
        if (!service) continue;
        for (const auto& p : service->paths)
            if (pathMatches(listed.path, p.path)) return true;
        if (listed.service == PathList::kGeneric) break;
    }
    return false;
}

std::string entryLine(const ListedPath& p) {
    auto description =
        p.description.empty() ? std::string("(the path list gives no description)") : p.description;
    std::string line = "      - {path: " + yamlQuote(p.path) + ", description: " + yamlQuote(description);
    if (!p.unit.empty()) line += ", unit: " + yamlQuote(p.unit);
    return line + "}\n";
}

std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto eol = text.find('\n', start);
        if (eol == std::string::npos) eol = text.size() - 1;
        lines.push_back(text.substr(start, eol - start + 1));
        start = eol + 1;
    }
    return lines;
}

bool blankOrComment(const std::string& line) {
    auto first = line.find_first_not_of(" \t\r\n");
    return first == std::string::npos || line[first] == '#';
}

/// paths.yaml with `additions` (per service, in list order) inserted after the last path of each service.
std::string insertPaths(const std::string& text, const PathList& paths,
                        const std::vector<std::pair<std::string, std::string>>& additions) {
    if (additions.empty()) return text;
    auto lines = splitLines(text);
    if (!lines.empty() && lines.back().back() != '\n') lines.back() += '\n';
    const auto& services = paths.services();
    std::map<std::size_t, std::string> insertBefore; // line index -> text
    std::vector<std::string> newServices;
    std::map<std::string, std::string> newServiceText;
    for (const auto& [service, line] : additions) {
        auto it =
            std::find_if(services.begin(), services.end(), [&](const auto& s) { return s.type == service; });
        if (it == services.end()) {
            if (!newServiceText.count(service)) newServices.push_back(service);
            newServiceText[service] += line;
            continue;
        }
        auto next = std::next(it);
        std::size_t at = next == services.end() ? lines.size() : next->line - 1;
        while (at > 0 && blankOrComment(lines[at - 1]))
            --at;
        insertBefore[at] += line;
    }
    std::string out;
    for (std::size_t i = 0; i <= lines.size(); ++i) {
        if (auto it = insertBefore.find(i); it != insertBefore.end()) out += it->second;
        if (i < lines.size()) out += lines[i];
    }
    for (const auto& service : newServices)
        out += "  - service: " + service +
               "\n    title: " + yamlQuote(service + " (added by the path-list import)") +
               "\n    units: \"the device's /DeviceInstance\"\n    paths:\n" + newServiceText[service];
    return out;
}

} // namespace

ImportResult mergePathList(const std::vector<ListedPath>& parsed, const std::vector<ListedDigest>& before,
                           const PathList& paths, const std::string& pathsText) {
    ImportResult result;
    std::set<Key> seen;
    for (const auto& p : parsed)
        if (seen.insert({p.service, p.path}).second) result.listed.push_back(p);
    std::map<Key, std::string> previous;
    for (const auto& d : before)
        previous[{d.service, d.path}] = d.digest;
    std::vector<std::pair<std::string, std::string>> additions;
    std::set<Key> addedToPaths;
    for (const auto& p : result.listed) {
        auto it = previous.find({p.service, p.path});
        if (it == previous.end()) {
            bool isNew = !known(paths, p);
            if (isNew && addedToPaths.insert({p.service, p.path}).second)
                additions.emplace_back(p.service, entryLine(p));
            result.added.push_back({p, isNew});
        } else if (it->second != descriptionDigest(p.description)) {
            result.changed.push_back(p);
        }
    }
    for (const auto& d : before)
        if (!seen.count({d.service, d.path})) result.gone.push_back(d);
    result.pathsText = insertPaths(pathsText, paths, additions);
    return result;
}

std::string importSummary(const ImportResult& result) {
    std::string out;
    std::size_t newInPaths = 0;
    if (!result.added.empty()) {
        out += "added to the list (" + std::to_string(result.added.size()) + "):\n";
        for (const auto& a : result.added) {
            out += "  " + a.listed.service + " " + a.listed.path +
                   (a.newInPaths
                        ? ": new in paths.yaml, not mapped until it has a register or an exclusion reason\n"
                        : ": paths.yaml has it already\n");
            newInPaths += a.newInPaths ? 1 : 0;
        }
    }
    if (!result.gone.empty()) {
        out += "gone from the list (" + std::to_string(result.gone.size()) + "), kept in paths.yaml:\n";
        for (const auto& g : result.gone)
            out += "  " + g.service + " " + g.path + "\n";
    }
    if (!result.changed.empty()) {
        out += "changed descriptions (" + std::to_string(result.changed.size()) +
               "), paths.yaml keeps its own:\n";
        for (const auto& c : result.changed)
            out += "  " + c.service + " " + c.path + ": " + yamlQuote(c.description) + "\n";
    }
    out += std::to_string(result.listed.size()) + " listed paths: " + std::to_string(result.added.size()) +
           " added (" + std::to_string(newInPaths) + " new in paths.yaml), " +
           std::to_string(result.gone.size()) + " gone, " + std::to_string(result.changed.size()) +
           " changed descriptions\n";
    return out;
}

} // namespace vmd::regmaptool
