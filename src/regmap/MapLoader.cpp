#include "regmap/MapLoader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace vmd::regmap {

std::string Diagnostic::format() const {
    return source + ":" + std::to_string(line) + ": " + message;
}

namespace {

std::string joinMessages(const std::vector<Diagnostic>& diagnostics) {
    std::string text;
    for (const auto& d : diagnostics) {
        if (!text.empty()) text += '\n';
        text += d.format();
    }
    return text;
}

struct TypeSpec {
    ModbusType type;
    std::uint16_t words;
};

std::optional<TypeSpec> parseType(const std::string& text) {
    static const std::map<std::string, TypeSpec> fixed = {
        {"int16", {ModbusType::Int16, 1}},   {"uint16", {ModbusType::Uint16, 1}},
        {"int32", {ModbusType::Int32, 2}},   {"uint32", {ModbusType::Uint32, 2}},
        {"uint64", {ModbusType::Uint64, 4}},
    };
    if (auto it = fixed.find(text); it != fixed.end()) return it->second;
    for (auto [prefix, type] :
         {std::pair{"string[", ModbusType::String}, {"reserved[", ModbusType::Reserved}}) {
        std::string_view p(prefix);
        if (text.size() > p.size() + 1 && text.compare(0, p.size(), p) == 0 && text.back() == ']') {
            unsigned n = 0;
            const char* first = text.data() + p.size();
            const char* last = text.data() + text.size() - 1;
            auto [ptr, ec] = std::from_chars(first, last, n);
            if (ec != std::errc() || ptr != last || n == 0 || n > 125) return std::nullopt;
            return TypeSpec{type, static_cast<std::uint16_t>(n)};
        }
    }
    return std::nullopt;
}

std::optional<Compute> parseCompute(const std::string& text) {
    static const std::map<std::string, Compute> names = {{"quotient", Compute::Quotient},
                                                         {"utc-time", Compute::UtcTime},
                                                         {"firmware-version", Compute::FirmwareVersion},
                                                         {"any-text", Compute::AnyText},
                                                         {"discovery", Compute::Discovery},
                                                         {"server-version", Compute::ServerVersion},
                                                         {"map-identity", Compute::MapIdentity}};
    auto it = names.find(text);
    return it == names.end() ? std::nullopt : std::optional(it->second);
}

const std::set<std::string> kRegisterKeys = {
    "address",     "service", "path",  "type",    "scale",  "unit",  "access",  "dbus-type",
    "description", "enum",    "range", "compute", "inputs", "value", "remarks", "failsafe"};
const std::string kDbusTypes = "ybnqiuxtds";

std::optional<Range> readRange(const YAML::Node& r, std::string& problem) {
    try {
        if (!r.IsSequence() || r.size() != 2) throw YAML::Exception(r.Mark(), "");
        Range range{r[0].as<double>(), r[1].as<double>()};
        if (range.min > range.max) problem = "range minimum is above its maximum";
        return range;
    } catch (const YAML::Exception&) {
        problem = "'range' must be [min, max] with two numbers";
        return std::nullopt;
    }
}

std::optional<Failsafe> readFailsafe(const YAML::Node& f, std::string& problem) {
    try {
        if (!f.IsMap() || !f["after"] || !f["value"] || f.size() != 2) throw YAML::Exception(f.Mark(), "");
        Failsafe failsafe{f["after"].as<double>(), f["value"].as<double>()};
        if (!(failsafe.afterSeconds > 0)) problem = "failsafe 'after' must be more than 0 seconds";
        return failsafe;
    } catch (const YAML::Exception&) {
        problem = "'failsafe' must be {after: SECONDS, value: V} with two numbers";
        return std::nullopt;
    }
}

} // namespace

namespace {

/// Whether `path` can be called on D-Bus: '/' and segments of [A-Za-z0-9_] between single slashes (an
/// output slot segment "#N" stands for one such identifier). A path that cannot be called would never
/// be read from a service that is read path by path, and a write to it could never be sent.
bool isObjectPath(const std::string& path) {
    if (path == "/") return true;
    if (path.size() < 2 || path.front() != '/' || path.back() == '/') return false;
    bool slotSegment = false;
    for (std::size_t i = 1; i < path.size(); ++i) {
        const char c = path[i];
        if (c == '/') {
            if (path[i - 1] == '/' || (slotSegment && path[i - 1] == '#')) return false;
            slotSegment = false;
        } else if (c == '#' && path[i - 1] == '/') {
            slotSegment = true;
        } else if (slotSegment ? !std::isdigit(static_cast<unsigned char>(c))
                               : !(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
            return false;
        }
    }
    return !(slotSegment && path.back() == '#');
}

constexpr const char* kObjectPathRule =
    "is not a D-Bus object path (segments of A-Z, a-z, 0-9 and _ between single slashes)";

} // namespace

MapError::MapError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(joinMessages(diagnostics)), diagnostics_(std::move(diagnostics)) {}

std::vector<std::string> expandAlternatives(const std::string& path) {
    auto open = path.find('{');
    if (open == std::string::npos) return {path};
    auto close = path.find('}', open);
    if (close == std::string::npos) return {path};
    std::vector<std::string> result;
    std::string head = path.substr(0, open);
    std::string tail = path.substr(close + 1);
    std::stringstream alternatives(path.substr(open + 1, close - open - 1));
    std::string alternative;
    while (std::getline(alternatives, alternative, ','))
        for (auto& rest : expandAlternatives(tail))
            result.push_back(head + alternative + rest);
    return result;
}

void MapLoader::error(const std::string& source, unsigned line, std::string message) {
    diagnostics_.push_back({source, line, std::move(message)});
}

void MapLoader::addFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        error(path, 0, "cannot open the file");
        return;
    }
    std::stringstream text;
    text << in.rdbuf();
    add(text.str(), path);
}

std::uint32_t fnv1a32(std::string_view text, std::uint32_t hash) {
    for (char c : text)
        hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
    return hash;
}

void MapLoader::add(const std::string& yamlText, const std::string& src) {
    identity_ = fnv1a32(yamlText, identity_);
    if (!addLineByLine(yamlText, src)) addDocument(yamlText, src);
}

unsigned MapLoader::lineOf(const YAML::Node& node) const {
    return static_cast<unsigned>(node.Mark().line + 1) + lineOffset_;
}

bool MapLoader::addLineByLine(const std::string& text, const std::string& src) {
    // The generated map holds one register per line. Parsing each line on its own keeps yaml-cpp's
    // node tree small: the tree of the whole shipped map would take some 20 MB at start-up.
    // Anything else (a hand-written overlay, say) goes through the whole-document parser.
    struct Item {
        std::string section;
        unsigned line;
        std::string text;
    };
    std::vector<Item> items;
    std::set<std::string> sections;
    std::string section;
    unsigned number = 0;
    for (std::size_t at = 0; at < text.size();) {
        auto end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + at, end - at);
        at = end + 1;
        ++number;
        auto first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos || line[first] == '#') continue;
        auto last = line.find_last_not_of(" \t\r");
        if (first == 0) { // a top-level key: "registers:", "unit-ids:" or "amend:", nothing after it
            if (line[last] != ':' || line.find_first_of(": #") != last) return false;
            section = std::string(line.substr(0, last));
            if (section != "registers" && section != "unit-ids" && section != "amend") return false;
            if (!sections.insert(section).second) return false;
        } else if (!section.empty() && line.substr(first, 3) == "- {" && line[last] == '}') {
            items.push_back({section, number, std::string(line)});
        } else {
            return false;
        }
    }
    if (!sections.count("registers")) return false;
    for (const auto& item : items) {
        YAML::Node node;
        try {
            node = YAML::Load(item.text);
        } catch (const YAML::Exception& e) {
            error(src, item.line, "YAML syntax: " + e.msg);
            continue;
        }
        lineOffset_ = item.line - 1;
        const auto& element = node[0];
        if (item.section == "registers")
            addRegister(element, src);
        else if (item.section == "unit-ids")
            addUnitRow(element, src);
        else
            addAmendment(element, src);
        lineOffset_ = 0;
    }
    return true;
}

void MapLoader::addDocument(const std::string& yamlText, const std::string& src) {
    YAML::Node root;
    try {
        root = YAML::Load(yamlText);
    } catch (const YAML::Exception& e) {
        error(src, static_cast<unsigned>(e.mark.line + 1), "YAML syntax: " + e.msg);
        return;
    }
    if (!root.IsMap()) {
        error(src, 1, "the map must be a YAML mapping with the keys 'registers' and 'unit-ids'");
        return;
    }
    std::set<std::string> topKeys;
    for (const auto& item : root) {
        auto key = item.first.as<std::string>();
        if (!topKeys.insert(key).second) error(src, lineOf(item.first), "duplicate key '" + key + "'");
        if (key != "registers" && key != "unit-ids" && key != "amend")
            error(src, lineOf(item.first),
                  "unknown key '" + key + "' (expected 'registers', 'unit-ids' or 'amend')");
    }

    if (auto units = root["unit-ids"]) {
        if (!units.IsSequence())
            error(src, lineOf(units), "'unit-ids' must be a list");
        else
            for (const auto& row : units)
                addUnitRow(row, src);
    }

    if (auto amend = root["amend"]) {
        if (!amend.IsSequence())
            error(src, lineOf(amend), "'amend' must be a list");
        else
            for (const auto& node : amend)
                addAmendment(node, src);
    }
    auto registers = root["registers"];
    if (!registers) {
        if (!root["unit-ids"] && !root["amend"]) error(src, 1, "missing key 'registers'");
        return;
    }
    if (!registers.IsSequence()) {
        error(src, lineOf(registers), "'registers' must be a list");
        return;
    }
    for (const auto& node : registers)
        addRegister(node, src);
}

void MapLoader::addUnitRow(const YAML::Node& row, const std::string& src) {
    unsigned line = lineOf(row);
    try {
        auto unit = row["unit"].as<int>();
        auto instance = row["instance"].as<long long>();
        if (unit < 0 || unit > 255)
            error(src, line, "unit " + std::to_string(unit) + " is not 0..255");
        else if (instance < 0)
            error(src, line, "instance must not be negative");
        else {
            UnitMapping m{static_cast<UnitId>(unit), static_cast<DeviceInstance>(instance),
                          row["remark"] ? row["remark"].as<std::string>() : ""};
            unitOrigins_.push_back({m, Diagnostic{src, line, {}}});
        }
    } catch (const YAML::Exception&) {
        error(src, line, "a unit-ids row needs integer 'unit' and 'instance'");
    }
}

void MapLoader::addRegister(const YAML::Node& node, const std::string& src) {
    unsigned line = lineOf(node);
    if (!node.IsMap()) {
        error(src, line, "a register must be a mapping");
        return;
    }
    Pending p;
    p.reg.line = line;
    p.reg.source = src;
    bool ok = true;
    auto fail = [&](const YAML::Node& at, const std::string& message) {
        error(src, at ? lineOf(at) : line, message);
        ok = false;
    };
    std::set<std::string> seen;
    for (const auto& item : node) {
        auto key = item.first.as<std::string>();
        if (!seen.insert(key).second) fail(item.first, "duplicate key '" + key + "'");
        if (!kRegisterKeys.count(key)) fail(item.first, "unknown key '" + key + "'");
    }
    auto scalar = [&](const char* key, bool required) -> std::optional<std::string> {
        auto v = node[key];
        if (!v) {
            if (required) fail(node, std::string("missing field '") + key + "'");
            return std::nullopt;
        }
        if (!v.IsScalar()) {
            fail(v, std::string("field '") + key + "' must be a scalar");
            return std::nullopt;
        }
        return v.Scalar();
    };

    auto address = scalar("address", true);
    if (address) {
        long value = -1;
        auto [ptr, ec] = std::from_chars(address->data(), address->data() + address->size(), value);
        if (ec != std::errc() || ptr != address->data() + address->size() || value < 0 || value > 65535)
            fail(node["address"], "address '" + *address + "' is not an integer 0..65535");
        else
            p.reg.address = static_cast<RegisterAddress>(value);
    }
    if (auto service = scalar("service", true)) p.service = *service;
    if (auto type = scalar("type", true)) {
        if (auto spec = parseType(*type)) {
            p.reg.type = spec->type;
            p.reg.words = spec->words;
        } else {
            fail(node["type"], "unknown type '" + *type +
                                   "' (int16, uint16, int32, uint32, uint64, string[N], reserved[N])");
        }
    }
    if (auto access = scalar("access", true)) {
        if (*access == "R")
            p.reg.access = Access::Read;
        else if (*access == "W" || *access == "RW")
            p.reg.access = Access::ReadWrite;
        else
            fail(node["access"], "access '" + *access + "' is not R or W");
    }
    if (auto scale = scalar("scale", false)) {
        try {
            p.reg.scale = node["scale"].as<double>();
            if (p.reg.scale == 0 || !std::isfinite(p.reg.scale))
                fail(node["scale"], "scale must not be zero");
        } catch (const YAML::Exception&) {
            fail(node["scale"], "scale '" + *scale + "' is not a number");
        }
    }
    if (auto compute = scalar("compute", false)) {
        if (auto c = parseCompute(*compute))
            p.reg.compute = *c;
        else
            fail(node["compute"], "unknown compute '" + *compute +
                                      "' (quotient, utc-time, firmware-version, any-text, discovery, "
                                      "server-version, map-identity)");
    }
    if (auto path = scalar("path", false)) {
        p.paths = expandAlternatives(*path);
        for (const auto& candidate : p.paths)
            if (candidate.empty() || candidate[0] != '/')
                fail(node["path"], "path '" + candidate + "' does not start with '/'");
            else if (!isObjectPath(candidate))
                fail(node["path"], "path '" + candidate + "' " + kObjectPathRule);
    } else if (p.reg.type != ModbusType::Reserved && p.reg.compute == Compute::None && node["type"]) {
        fail(node, "missing field 'path'");
    }
    if (auto inputs = node["inputs"]) {
        if (!inputs.IsSequence())
            fail(inputs, "'inputs' must be a list of paths");
        else
            for (const auto& in : inputs) {
                p.inputs.push_back(in.as<std::string>());
                if (!isObjectPath(p.inputs.back()))
                    fail(in, "input '" + p.inputs.back() + "' " + kObjectPathRule);
            }
    }
    if (auto value = scalar("value", false)) {
        try {
            p.reg.computeValue = node["value"].as<double>();
        } catch (const YAML::Exception&) {
            fail(node["value"], "value '" + *value + "' is not a number");
        }
    }
    if (auto dbusType = scalar("dbus-type", false)) {
        if (dbusType->size() != 1 || kDbusTypes.find((*dbusType)[0]) == std::string::npos)
            fail(node["dbus-type"], "dbus-type '" + *dbusType + "' is not one of " + kDbusTypes);
        else
            p.reg.dbusType = (*dbusType)[0];
    } else if (p.reg.type == ModbusType::String) {
        p.reg.dbusType = 's';
    }
    if (auto unit = scalar("unit", false)) p.reg.unit = *unit;
    if (auto d = scalar("description", false)) p.reg.description = *d;
    if (auto r = scalar("remarks", false)) p.reg.remarks = *r;
    if (auto f = node["failsafe"]) {
        std::string problem;
        p.reg.failsafe = readFailsafe(f, problem);
        if (!problem.empty()) fail(f, problem);
    }
    if (auto e = node["enum"]) {
        if (!e.IsMap())
            fail(e, "'enum' must map values to texts");
        else
            for (const auto& item : e) {
                try {
                    p.reg.enumTexts.push_back({item.first.as<std::int64_t>(), item.second.as<std::string>()});
                } catch (const YAML::Exception&) {
                    fail(item.first, "enum key '" + item.first.Scalar() + "' is not an integer");
                }
            }
    }
    if (auto r = node["range"]) {
        std::string problem;
        p.reg.range = readRange(r, problem);
        if (!problem.empty()) fail(r, problem);
    }
    if (ok) {
        auto needInputs = [&](std::size_t n) {
            if (p.inputs.size() != n)
                fail(node, "compute '" + std::string(node["compute"].Scalar()) + "' needs " +
                               std::to_string(n) + " inputs");
        };
        switch (p.reg.compute) {
        case Compute::Quotient:
            needInputs(2);
            break;
        case Compute::FirmwareVersion:
            needInputs(1);
            break;
        case Compute::AnyText:
            if (p.inputs.empty()) needInputs(1);
            break;
        default:
            break;
        }
        if (p.reg.compute != Compute::None && p.reg.writable())
            fail(node, "a computed register cannot be written");
        if (p.reg.writable() && p.reg.type != ModbusType::Reserved && p.reg.compute == Compute::None &&
            !node["dbus-type"] && p.reg.type != ModbusType::String)
            fail(node, "a writable register needs 'dbus-type'");
        if (p.reg.failsafe &&
            (!p.reg.writable() || p.reg.type == ModbusType::Reserved || p.reg.type == ModbusType::String))
            fail(node["failsafe"], "a failsafe needs a writable number register");
        if (p.reg.address + std::uint32_t{p.reg.words} > 65536u)
            fail(node, "register runs past address 65535");
    }
    if (ok) pending_.push_back(std::move(p));
}

void MapLoader::addAmendment(const YAML::Node& node, const std::string& src) {
    const unsigned line = lineOf(node);
    if (!node.IsMap() || !node["address"]) {
        error(src, line, "an amendment needs 'address' and the fields it changes (failsafe, range)");
        return;
    }
    Amendment a{0, {}, {}, src, line};
    try {
        auto address = node["address"].as<long>();
        if (address < 0 || address > 65535) throw YAML::Exception(node.Mark(), "");
        a.address = static_cast<RegisterAddress>(address);
    } catch (const YAML::Exception&) {
        error(src, line, "amendment address '" + node["address"].Scalar() + "' is not an integer 0..65535");
        return;
    }
    for (const auto& item : node) {
        auto key = item.first.as<std::string>();
        std::string problem;
        if (key == "address") continue;
        if (key == "failsafe")
            a.failsafe = readFailsafe(item.second, problem);
        else if (key == "range")
            a.range = readRange(item.second, problem);
        else
            problem = "an amendment may change 'failsafe' and 'range' only, not '" + key + "'";
        if (!problem.empty()) error(src, lineOf(item.first), problem);
    }
    amendments_.push_back(std::move(a));
}

RegisterMap MapLoader::build() {
    for (const auto& a : amendments_) {
        auto it = std::find_if(pending_.begin(), pending_.end(),
                               [&](const Pending& p) { return p.reg.address == a.address; });
        if (it == pending_.end()) {
            error(a.source, a.line, "amendment: no register starts at address " + std::to_string(a.address));
            continue;
        }
        auto& reg = it->reg;
        if (a.range) reg.range = a.range;
        if (a.failsafe) {
            if (!reg.writable() || reg.type == ModbusType::Reserved || reg.type == ModbusType::String)
                error(a.source, a.line,
                      "register " + std::to_string(a.address) + " (" + reg.source + ":" +
                          std::to_string(reg.line) + ") is not a writable number register: no failsafe");
            reg.failsafe = a.failsafe;
        }
    }

    // Overlaps: sort by address, compare each with its predecessor.
    std::vector<const Pending*> order;
    for (const auto& p : pending_)
        order.push_back(&p);
    std::stable_sort(order.begin(), order.end(),
                     [](const Pending* a, const Pending* b) { return a->reg.address < b->reg.address; });
    for (std::size_t i = 1; i < order.size(); ++i) {
        const auto& prev = order[i - 1]->reg;
        const auto& cur = order[i]->reg;
        if (cur.address < prev.end())
            error(cur.source, cur.line,
                  "register " + std::to_string(cur.address) + " overlaps register " +
                      std::to_string(prev.address) + " (" + order[i - 1]->service + ", " + prev.source + ":" +
                      std::to_string(prev.line) + ")");
    }
    std::map<int, Diagnostic> unitSeen;
    for (const auto& [mapping, origin] : unitOrigins_) {
        auto [it, inserted] = unitSeen.emplace(mapping.unit, origin);
        if (!inserted)
            error(origin.source, origin.line,
                  "unit " + std::to_string(mapping.unit) + " is already mapped at " + it->second.source +
                      ":" + std::to_string(it->second.line));
        else
            units_.push_back(mapping);
    }
    if (!diagnostics_.empty()) throw MapError(diagnostics_);

    std::vector<std::string> services;
    std::vector<std::string> paths;
    std::map<std::string, PathId> pathIds;
    auto intern = [&](const std::string& path) {
        auto [it, inserted] = pathIds.emplace(path, static_cast<PathId>(paths.size()));
        if (inserted) paths.push_back(path);
        return it->second;
    };
    std::vector<Register> registers;
    for (auto& p : pending_) {
        auto it = std::find(services.begin(), services.end(), p.service);
        if (it == services.end()) it = services.insert(services.end(), p.service);
        p.reg.service = static_cast<ServiceTypeId>(it - services.begin());
        for (const auto& path : p.paths)
            p.reg.paths.push_back(intern(path));
        for (const auto& path : p.inputs)
            p.reg.inputs.push_back(intern(path));
        registers.push_back(std::move(p.reg));
    }
    return RegisterMap(std::move(registers), std::move(services), std::move(paths), std::move(units_),
                       identity_);
}

RegisterMap loadMapFile(const std::string& path, const std::vector<std::string>& overlays) {
    MapLoader loader;
    loader.addFile(path);
    for (const auto& overlay : overlays)
        loader.addFile(overlay);
    return loader.build();
}

} // namespace vmd::regmap
