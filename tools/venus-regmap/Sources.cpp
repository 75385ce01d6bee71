#include "Sources.h"

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace vmd::regmaptool {

void PathList::add(ServiceEntry service) {
    auto serviceIndex = services_.size();
    for (std::size_t i = 0; i < service.paths.size(); ++i)
        index_.emplace(std::pair{service.type, service.paths[i].path}, std::pair{serviceIndex, i});
    services_.push_back(std::move(service));
}

const ServiceEntry* PathList::service(std::string_view type) const {
    for (const auto& s : services_)
        if (s.type == type) return &s;
    return nullptr;
}

const PathEntry* PathList::find(std::string_view service, std::string_view path) const {
    for (auto type : {service, kGeneric}) {
        auto it = index_.find(std::pair{std::string(type), std::string(path)});
        if (it != index_.end()) return &services_[it->second.first].paths[it->second.second];
    }
    return nullptr;
}

namespace {

unsigned lineOf(const YAML::Node& node) {
    return static_cast<unsigned>(node.Mark().line + 1);
}

/// Reads and parses one YAML file; a null node (and a diagnostic) when it cannot.
YAML::Node loadYaml(const std::string& file, Diagnostics& problems) {
    std::ifstream in(file);
    if (!in) {
        problems.push_back({file, 0, "cannot open the file"});
        return {};
    }
    std::stringstream text;
    text << in.rdbuf();
    try {
        auto root = YAML::Load(text.str());
        if (!root.IsMap()) {
            problems.push_back({file, 1, "the file must be a YAML mapping"});
            return {};
        }
        return root;
    } catch (const YAML::Exception& e) {
        problems.push_back({file, static_cast<unsigned>(e.mark.line + 1), "YAML syntax: " + e.msg});
        return {};
    }
}

/// Reports keys of `node` outside `allowed`.
void checkKeys(const YAML::Node& node, const std::set<std::string>& allowed, const std::string& file,
               Diagnostics& problems) {
    for (const auto& item : node) {
        auto key = item.first.as<std::string>();
        if (!allowed.count(key)) problems.push_back({file, lineOf(item.first), "unknown key '" + key + "'"});
    }
}

std::optional<std::vector<regmap::EnumText>> readEnum(const YAML::Node& node, const std::string& file,
                                                      Diagnostics& problems) {
    if (!node) return std::nullopt;
    std::vector<regmap::EnumText> items;
    if (!node.IsMap()) {
        problems.push_back({file, lineOf(node), "'enum' must map values to texts"});
        return items;
    }
    for (const auto& item : node) {
        try {
            items.push_back({item.first.as<std::int64_t>(), item.second.as<std::string>()});
        } catch (const YAML::Exception&) {
            problems.push_back(
                {file, lineOf(item.first), "enum key '" + item.first.Scalar() + "' is not an integer"});
        }
    }
    return items;
}

std::string text(const YAML::Node& node, const char* key) {
    auto v = node[key];
    return v && v.IsScalar() ? v.Scalar() : std::string();
}

void readPaths(const std::string& file, Sources& sources, Diagnostics& problems) {
    auto root = loadYaml(file, problems);
    if (!root) return;
    checkKeys(root, {"services"}, file, problems);
    auto services = root["services"];
    if (!services || !services.IsSequence()) {
        problems.push_back({file, 1, "'services' must be a list"});
        return;
    }
    std::set<std::string> seenServices;
    for (const auto& node : services) {
        ServiceEntry service;
        service.source = file;
        service.line = lineOf(node);
        checkKeys(node, {"service", "title", "units", "paths"}, file, problems);
        service.type = text(node, "service");
        service.title = text(node, "title");
        service.units = text(node, "units");
        if (service.type.empty())
            problems.push_back({file, service.line, "a service needs 'service' (its type)"});
        if (!seenServices.insert(service.type).second)
            problems.push_back({file, service.line, "service '" + service.type + "' is listed twice"});
        std::set<std::string> seenPaths;
        auto paths = node["paths"];
        if (!paths || !paths.IsSequence()) {
            problems.push_back({file, service.line, "service '" + service.type + "' needs a list 'paths'"});
            continue;
        }
        for (const auto& p : paths) {
            PathEntry entry;
            entry.source = file;
            entry.line = lineOf(p);
            if (!p.IsMap()) {
                problems.push_back({file, entry.line, "a path entry must be a mapping"});
                continue;
            }
            checkKeys(
                p, {"path", "description", "unit", "enum", "bitmask", "access", "kind", "length", "exclude"},
                file, problems);
            entry.path = text(p, "path");
            entry.description = text(p, "description");
            entry.unit = text(p, "unit");
            entry.kind = p["kind"] ? text(p, "kind") : "number";
            entry.exclude = text(p, "exclude");
            if (auto e = readEnum(p["enum"], file, problems)) entry.enumTexts = std::move(*e);
            try {
                entry.bitmask = p["bitmask"] && p["bitmask"].as<bool>();
                entry.length = p["length"] ? p["length"].as<unsigned>() : 0;
            } catch (const YAML::Exception&) {
                problems.push_back({file, entry.line, "'bitmask' must be true/false and 'length' a number"});
            }
            auto access = text(p, "access");
            if (!access.empty() && access != "R" && access != "W")
                problems.push_back({file, entry.line, "access '" + access + "' is not R or W"});
            entry.writable = access == "W";
            if (entry.path.empty() || entry.path[0] != '/')
                problems.push_back({file, entry.line, "a path entry needs 'path' starting with '/'"});
            if (entry.description.empty())
                problems.push_back({file, entry.line, "path '" + entry.path + "' needs a description"});
            if (entry.kind != "number" && entry.kind != "text" && entry.kind != "array")
                problems.push_back(
                    {file, entry.line, "kind '" + entry.kind + "' is not number, text or array"});
            if (entry.kind == "array" && entry.exclude.empty())
                problems.push_back(
                    {file, entry.line,
                     "array-valued path '" + entry.path + "' needs 'exclude' (no register holds it)"});
            if (!seenPaths.insert(entry.path).second)
                problems.push_back({file, entry.line,
                                    "path '" + entry.path + "' is listed twice in '" + service.type + "'"});
            service.paths.push_back(std::move(entry));
        }
        sources.paths.add(std::move(service));
    }
}

std::optional<double> number(const YAML::Node& node, const char* key, const std::string& file,
                             Diagnostics& problems) {
    auto v = node[key];
    if (!v) return std::nullopt;
    try {
        return v.as<double>();
    } catch (const YAML::Exception&) {
        problems.push_back({file, lineOf(v), std::string("'") + key + "' is not a number"});
        return std::nullopt;
    }
}

void readAssignments(const YAML::Node& list, const std::string& file, std::vector<Assignment>& out,
                     Diagnostics& problems) {
    if (!list || !list.IsSequence()) {
        problems.push_back({file, 1, "'registers' must be a list"});
        return;
    }
    for (const auto& node : list) {
        Assignment a;
        a.source = file;
        a.line = lineOf(node);
        if (!node.IsMap()) {
            problems.push_back({file, a.line, "a register must be a mapping"});
            continue;
        }
        checkKeys(node,
                  {"address", "service", "path", "type", "scale", "dbus-type", "access", "compute", "inputs",
                   "value", "range", "unit", "enum", "published-enum", "description", "remarks", "checked"},
                  file, problems);
        try {
            a.address = node["address"].as<unsigned>();
        } catch (const YAML::Exception&) {
            problems.push_back({file, a.line, "a register needs an integer 'address'"});
        }
        a.service = text(node, "service");
        a.path = text(node, "path");
        a.type = text(node, "type");
        a.scale = number(node, "scale", file, problems);
        a.dbusType = text(node, "dbus-type");
        a.access = text(node, "access");
        a.compute = text(node, "compute");
        a.value = number(node, "value", file, problems);
        a.remarks = text(node, "remarks");
        a.checked = text(node, "checked");
        if (node["unit"]) a.unit = text(node, "unit");
        if (node["description"]) a.description = text(node, "description");
        a.enumTexts = readEnum(node["enum"], file, problems);
        a.publishedEnum = readEnum(node["published-enum"], file, problems);
        if (auto inputs = node["inputs"]) {
            if (!inputs.IsSequence())
                problems.push_back({file, a.line, "'inputs' must be a list of paths"});
            else
                for (const auto& in : inputs)
                    a.inputs.push_back(in.as<std::string>());
        }
        if (auto r = node["range"]) {
            try {
                if (!r.IsSequence() || r.size() != 2) throw YAML::Exception(r.Mark(), "");
                a.range = regmap::Range{r[0].as<double>(), r[1].as<double>()};
            } catch (const YAML::Exception&) {
                problems.push_back({file, a.line, "'range' must be [min, max] with two numbers"});
            }
        }
        if (a.service.empty()) problems.push_back({file, a.line, "a register needs 'service'"});
        if (a.type.empty()) problems.push_back({file, a.line, "a register needs 'type'"});
        if (a.access != "R" && a.access != "W")
            problems.push_back({file, a.line, "access '" + a.access + "' is not R or W"});
        out.push_back(std::move(a));
    }
}

void readRegisters(const std::string& file, std::vector<Assignment>& out, std::vector<Block>* blocks,
                   Diagnostics& problems) {
    auto root = loadYaml(file, problems);
    if (!root) return;
    checkKeys(root,
              blocks ? std::set<std::string>{"blocks", "registers"} : std::set<std::string>{"registers"},
              file, problems);
    readAssignments(root["registers"], file, out, problems);
    if (!blocks) return;
    auto list = root["blocks"];
    if (!list || !list.IsSequence()) {
        problems.push_back({file, 1, "'blocks' must be a list"});
        return;
    }
    for (const auto& node : list) {
        Block b;
        b.source = file;
        b.line = lineOf(node);
        checkKeys(node, {"service", "first", "last"}, file, problems);
        b.service = text(node, "service");
        try {
            b.first = node["first"].as<unsigned>();
            b.last = node["last"].as<unsigned>();
        } catch (const YAML::Exception&) {
            problems.push_back({file, b.line, "a block needs integer 'first' and 'last'"});
        }
        blocks->push_back(std::move(b));
    }
}

void readUnits(const std::string& file, Sources& sources, Diagnostics& problems) {
    auto root = loadYaml(file, problems);
    if (!root) return;
    checkKeys(root, {"unit-ids"}, file, problems);
    auto list = root["unit-ids"];
    if (!list || !list.IsSequence()) {
        problems.push_back({file, 1, "'unit-ids' must be a list"});
        return;
    }
    for (const auto& node : list) {
        UnitRow row;
        row.source = file;
        row.line = lineOf(node);
        checkKeys(node, {"unit", "instance", "remark"}, file, problems);
        try {
            row.unit = node["unit"].as<unsigned>();
            row.instance = node["instance"].as<unsigned long>();
        } catch (const YAML::Exception&) {
            problems.push_back({file, row.line, "a unit-ids row needs integer 'unit' and 'instance'"});
        }
        row.remark = text(node, "remark");
        sources.units.push_back(std::move(row));
    }
}

} // namespace

Sources readSources(const std::string& dir, Diagnostics& problems) {
    Sources sources;
    auto file = [&](const char* name) { return dir + "/" + name; };
    readPaths(file(kPathsFile), sources, problems);
    readRegisters(file(kPublishedFile), sources.published, nullptr, problems);
    readRegisters(file(kExtensionsFile), sources.extensions, &sources.blocks, problems);
    if (std::filesystem::exists(file(kServerFile))) // optional: the server's own blocks
        readRegisters(file(kServerFile), sources.server, nullptr, problems);
    readUnits(file(kUnitIdsFile), sources, problems);
    return sources;
}

} // namespace vmd::regmaptool
