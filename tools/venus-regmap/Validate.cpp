#include "Validate.h"

#include "Generate.h"
#include "Text.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace vmd::regmaptool {

namespace {

unsigned lineOf(const YAML::Node& node) {
    return static_cast<unsigned>(node.Mark().line + 1);
}

std::optional<regmap::ModbusType> typeOf(const std::string& type) {
    static const std::map<std::string, regmap::ModbusType> fixed = {{"int16", regmap::ModbusType::Int16},
                                                                    {"uint16", regmap::ModbusType::Uint16},
                                                                    {"int32", regmap::ModbusType::Int32},
                                                                    {"uint32", regmap::ModbusType::Uint32},
                                                                    {"uint64", regmap::ModbusType::Uint64}};
    if (auto it = fixed.find(type); it != fixed.end()) return it->second;
    if (typeWords(type) == 0) return std::nullopt;
    return type.rfind("string[", 0) == 0 ? regmap::ModbusType::String : regmap::ModbusType::Reserved;
}

bool isNumber(regmap::ModbusType t) {
    return t != regmap::ModbusType::String && t != regmap::ModbusType::Reserved;
}

/// Does value x scale fit the raw range of the type?
bool fits(double value, double scale, regmap::ModbusType type) {
    auto limits = rawLimits(type);
    double raw = std::round(value * scale);
    return raw >= limits.min && raw <= limits.max;
}

std::string scalar(const YAML::Node& node, const char* key) {
    auto v = node[key];
    return v && v.IsScalar() ? v.Scalar() : std::string();
}

/// The checks on one register that the loader leaves out.
void checkRegister(const YAML::Node& node, const std::string& file, Diagnostics& problems) {
    unsigned line = lineOf(node);
    auto problem = [&](const std::string& message) { problems.push_back({file, line, message}); };
    auto typeText = scalar(node, "type");
    auto type = typeOf(typeText);
    if (!type) return; // the loader reports it
    double scale = 1;
    try {
        if (node["scale"]) scale = node["scale"].as<double>();
    } catch (const YAML::Exception&) {
        return; // the loader reports it
    }
    auto dbusType = scalar(node, "dbus-type");
    auto compute = scalar(node, "compute");
    bool string = *type == regmap::ModbusType::String;
    bool reserved = *type == regmap::ModbusType::Reserved;
    if (dbusType == "s" && !string) problem("dbus-type 's' (string) on a " + typeText + " register");
    if (string && !dbusType.empty() && dbusType != "s")
        problem("a string register needs dbus-type 's', not '" + dbusType + "'");
    if ((string || reserved) && node["scale"] && scale != 1)
        problem("a " + typeText + " register cannot have a scale (" + formatNumber(scale) + ")");
    if (reserved && node["path"]) problem("a reserved register has no path");
    if (auto e = node["enum"]; e && e.IsMap()) {
        if (!isNumber(*type))
            problem("a " + typeText + " register cannot have enum texts");
        else
            for (const auto& item : e) {
                try {
                    auto key = item.first.as<std::int64_t>();
                    if (!fits(static_cast<double>(key), scale, *type))
                        problems.push_back({file, lineOf(item.first),
                                            "enum value " + std::to_string(key) + " does not fit " +
                                                typeText + " with scale " + formatNumber(scale)});
                } catch (const YAML::Exception&) {
                    // the loader reports it
                }
            }
    }
    if (auto r = node["range"]; r && r.IsSequence() && r.size() == 2) {
        try {
            double lo = r[0].as<double>(), hi = r[1].as<double>();
            if (!isNumber(*type))
                problem("a " + typeText + " register cannot have a range");
            else if (!fits(lo, scale, *type) || !fits(hi, scale, *type))
                problem("range [" + formatNumber(lo) + ", " + formatNumber(hi) + "] does not fit " +
                        typeText + " with scale " + formatNumber(scale));
        } catch (const YAML::Exception&) {
        }
    }
    if (!compute.empty()) {
        std::string need = compute == "utc-time"                                        ? "uint64"
                           : compute == "firmware-version" || compute == "map-identity" ? "uint32"
                           : compute == "server-version"                                ? "uint16"
                                                                                        : "";
        if (!need.empty() && typeText != need)
            problem("compute '" + compute + "' needs type " + need + ", not " + typeText);
        if (need.empty() && (!isNumber(*type) || *type == regmap::ModbusType::Uint64))
            problem("compute '" + compute + "' needs a 16- or 32-bit number type, not " + typeText);
    }
}

struct UnitOrigin {
    std::string file;
    unsigned line;
    unsigned unit;
};

void checkUnits(const YAML::Node& list, const std::string& file,
                std::map<unsigned long, UnitOrigin>& byInstance, Diagnostics& problems) {
    if (!list || !list.IsSequence()) return;
    for (const auto& row : list) {
        unsigned line = lineOf(row);
        long long unit = 0, instance = 0;
        try {
            unit = row["unit"].as<long long>();
            instance = row["instance"].as<long long>();
        } catch (const YAML::Exception&) {
            continue; // the loader reports it
        }
        if (unit == 0)
            problems.push_back({file, line, "unit 0 always stands for instance 0; it takes no row"});
        else if (unit > 247)
            problems.push_back(
                {file, line, "unit " + std::to_string(unit) + " is outside the Modbus unit IDs 1..247"});
        if (unit == instance)
            problems.push_back(
                {file, line, "unit " + std::to_string(unit) + " maps to itself: the row has no effect"});
        if (instance < 0 || unit < 0 || unit > 255) continue;
        auto [it, inserted] = byInstance.emplace(static_cast<unsigned long>(instance),
                                                 UnitOrigin{file, line, static_cast<unsigned>(unit)});
        if (!inserted && it->second.unit != static_cast<unsigned>(unit))
            problems.push_back({file, line,
                                "instance " + std::to_string(instance) + " is already reached through unit " +
                                    std::to_string(it->second.unit) + " (" + it->second.file + ":" +
                                    std::to_string(it->second.line) + ")"});
    }
}

} // namespace

ValidationReport validateMaps(const std::vector<std::string>& files) {
    ValidationReport report;
    regmap::MapLoader loader;
    std::map<unsigned long, UnitOrigin> byInstance;
    for (const auto& file : files) {
        loader.addFile(file);
        std::ifstream in(file);
        if (!in) continue; // the loader reports it
        std::stringstream text;
        text << in.rdbuf();
        YAML::Node root;
        try {
            root = YAML::Load(text.str());
        } catch (const YAML::Exception&) {
            continue; // the loader reports it
        }
        if (!root.IsMap()) continue;
        if (auto regs = root["registers"]; regs && regs.IsSequence())
            for (const auto& node : regs)
                if (node.IsMap()) checkRegister(node, file, report.problems);
        checkUnits(root["unit-ids"], file, byInstance, report.problems);
    }
    std::optional<regmap::RegisterMap> map;
    try {
        map.emplace(loader.build());
    } catch (const regmap::MapError& e) {
        report.problems.insert(report.problems.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
    auto order = [](const regmap::Diagnostic& a, const regmap::Diagnostic& b) {
        return a.source != b.source ? a.source < b.source : a.line < b.line;
    };
    std::stable_sort(report.problems.begin(), report.problems.end(), order);
    if (!map) return report;

    const auto& regs = map->registers();
    unsigned words = 0;
    for (std::size_t i = 0; i < regs.size(); ++i) {
        words += regs[i].words;
        if (i + 1 == regs.size()) break;
        const auto& a = regs[i];
        const auto& b = regs[i + 1];
        if (a.service == b.service && b.address > a.end() && b.address - a.end() <= kHoleLimit)
            report.notes.push_back({b.source, b.line,
                                    "note: words " + std::to_string(a.end()) + ".." +
                                        std::to_string(b.address - 1) + " are a hole inside the " +
                                        map->serviceTypes()[a.service] +
                                        " block (a read across them gets exception 2)"});
    }
    std::stable_sort(report.notes.begin(), report.notes.end(), order);
    report.summary = std::to_string(regs.size()) + " registers (" + std::to_string(words) + " words) of " +
                     std::to_string(map->serviceTypes().size()) + " service types, " +
                     std::to_string(map->unitMappings().size()) + " unit-ID rows";
    return report;
}

} // namespace vmd::regmaptool
