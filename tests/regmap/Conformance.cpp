// Checks the shipped map against the published register list: every row of attributes.csv must be
// served at its address with the same type, scale, path(s), D-Bus type and access; every value its
// fourth column documents ("0=Off;1=On", ranges "51-52=...") must be in the register's enum with the
// published meaning, and a write of it is not refused; reserved words stay reserved; the computed registers
// use their rule; the unit table matches unitid2di.csv.
//
//   regmap-conformance REFERENCE_DIR MAP_FILE
//
// Exit status: 0 all agree, 1 a difference (each printed as FILE:LINE: message), 2 bad arguments,
// 77 the reference is not there (the test is skipped; with CI=true it fails with 1 instead).
#include "codec/Codec.h"
#include "regmap/MapLoader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using vmd::regmap::Compute;
using vmd::regmap::ModbusType;
using vmd::regmap::Register;
using vmd::regmap::RegisterMap;

std::vector<std::string> split(const std::string& line, char sep) {
    std::vector<std::string> fields;
    std::stringstream in(line);
    std::string field;
    while (std::getline(in, field, sep))
        fields.push_back(field);
    if (!line.empty() && line.back() == sep) fields.emplace_back();
    return fields;
}

std::string trim(const std::string& text) {
    auto first = text.find_first_not_of(" \t\r");
    auto last = text.find_last_not_of(" \t\r");
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

std::string typeText(const Register& reg) {
    std::string name = vmd::regmap::toString(reg.type);
    if (reg.type == ModbusType::String || reg.type == ModbusType::Reserved)
        name += "[" + std::to_string(reg.words) + "]";
    return name;
}

class Checker {
  public:
    Checker(const RegisterMap& map, std::string file) : map_(map), file_(std::move(file)) {}

    void row(unsigned line, const std::vector<std::string>& f) {
        ++rows_;
        where_ = file_ + ":" + std::to_string(line) + ": register " + f[4] + ": ";
        auto address = static_cast<unsigned>(std::stoul(f[4]));
        const auto* reg = map_.at(static_cast<vmd::regmap::RegisterAddress>(address));
        if (!reg || reg->address != address) return fail("no register starts at this address");
        std::string service = split(f[0], '.').size() > 2 ? split(f[0], '.')[2] : f[0];
        expect("service type", service, map_.serviceTypes()[reg->service]);
        const std::string& type = f[5];
        enums(f[3], *reg);
        if (type.rfind("INTERNAL", 0) == 0) return computed(address, *reg);
        expect("type", type, typeText(*reg));
        for (std::uint32_t word = reg->address; word < reg->end(); ++word)
            if (map_.at(static_cast<vmd::regmap::RegisterAddress>(word)) != reg)
                fail("word " + std::to_string(word) + " belongs to another register");
        expect("access", f[7] == "W" ? "W" : "R", reg->writable() ? "W" : "R");
        if (type.rfind("reserved", 0) == 0) {
            if (!reg->paths.empty()) fail("a reserved register must have no path");
            return;
        }
        double scale = f[6].empty() ? 1.0 : std::stod(f[6]);
        if (scale == 0) scale = 1;
        if (std::fabs(reg->scale - scale) > 1e-9 * std::fabs(scale))
            fail("scale: published " + f[6] + ", map has " + std::to_string(reg->scale));
        std::string paths;
        for (const auto& p : vmd::regmap::expandAlternatives(f[1]))
            paths += (paths.empty() ? "" : "|") + p;
        std::string mapPaths;
        for (auto id : reg->paths)
            mapPaths += (mapPaths.empty() ? "" : "|") + map_.paths()[id];
        expect("path", paths, mapPaths);
        expect("D-Bus type", f[2], std::string(1, reg->dbusType));
        if (reg->compute != Compute::None) fail("a published path register must not be computed");
        if (type != "int16" && type != "uint16" && type != "int32" && type != "uint32") return;
        // The register reads what a GX device reads for the same D-Bus value: round(value x scale) with
        // the product in double and C round (halves away from zero). Decimal values whose product is a
        // half, as shown on a GX screen; those the type cannot hold are left to the saturation tests.
        std::int64_t min = type == "int16" ? -32768 : type == "int32" ? -2147483648LL : 0;
        std::int64_t max = type == "int16"    ? 32767
                           : type == "uint16" ? 65535
                           : type == "int32"  ? 2147483647LL
                                              : 4294967295LL;
        bool served = false;
        for (const char* text :
             {"0.15", "0.35", "1.15", "1.45", "2.675", "1.005", "1.0005", "4700.65", "12.34567895", "34.5",
              "-0.15", "-1.45", "-2.675", "-4700.65", "-34.5", "25", "35", "-250"}) {
            double value = std::strtod(text, nullptr);
            double gx = std::round(value * scale);
            if (gx < static_cast<double>(min) || gx >= static_cast<double>(max)) continue;
            std::vector<std::uint16_t> words(reg->words);
            vmd::codec::encode(value, *reg, vmd::codec::NotAvailable::Zero, words);
            auto bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(gx));
            std::vector<std::uint16_t> expected(reg->words);
            for (std::size_t i = 0; i < expected.size(); ++i)
                expected[i] = static_cast<std::uint16_t>(bits >> (16 * (expected.size() - 1 - i)));
            if (words != expected) fail(std::string("reads ") + text + " unlike a GX device");
            served = true;
        }
        if (served) ++readRows_;
    }

    [[nodiscard]] unsigned rows() const { return rows_; }
    [[nodiscard]] unsigned failures() const { return failures_; }
    [[nodiscard]] unsigned enumRows() const { return enumRows_; }
    [[nodiscard]] unsigned readRows() const { return readRows_; }

  private:
    /// The published meanings of column 4 must all be in the register's enum, word for word.
    void enums(const std::string& column, const Register& reg) {
        if (column.find('=') == std::string::npos) return;
        std::map<std::int64_t, std::string> published;
        for (const auto& item : split(column, ';')) {
            auto eq = item.find('=');
            auto key = trim(item.substr(0, eq));
            if (eq == std::string::npos || key.empty())
                return fail("column 4 item '" + item + "' is not VALUE=TEXT");
            auto dash = key.find('-', 1);
            std::int64_t first = std::stoll(key.substr(0, dash));
            std::int64_t last = dash == std::string::npos ? first : std::stoll(key.substr(dash + 1));
            for (auto v = first; v <= last; ++v)
                published.emplace(v, trim(item.substr(eq + 1)));
        }
        ++enumRows_;
        if (reg.writable() && reg.type != ModbusType::String)
            for (const auto& [value, text] : published) {
                // A documented value is never refused: the write decodes as the server decodes it.
                std::vector<std::uint16_t> words(reg.words);
                auto raw = static_cast<std::int64_t>(std::llround(static_cast<double>(value) * reg.scale));
                for (std::size_t i = 0; i < words.size(); ++i)
                    words[i] = static_cast<std::uint16_t>(static_cast<std::uint64_t>(raw) >>
                                                          (16 * (words.size() - 1 - i)));
                if (vmd::codec::decode(reg, words).error != vmd::codec::DecodeError::None)
                    fail("a write of the published value " + std::to_string(value) + " (" + text +
                         ") is refused");
            }
        for (const auto& [value, text] : published) {
            auto it = std::find_if(reg.enumTexts.begin(), reg.enumTexts.end(),
                                   [&](const auto& e) { return e.value == value; });
            if (it == reg.enumTexts.end())
                fail("enum: the published value " + std::to_string(value) + " (" + text + ") is missing");
            else if (it->text != text)
                fail("enum: published " + std::to_string(value) + " = '" + text + "', map has '" + it->text +
                     "'");
        }
    }

    void computed(unsigned address, const Register& reg) {
        std::vector<std::string> errorInputs;
        for (int i = 0; i < 8; ++i)
            errorInputs.push_back("/Error/" + std::to_string(i) + "/Id");
        struct Rule {
            Compute compute;
            std::string type;
            double scale;
            std::vector<std::string> inputs;
            double value;
        };
        const std::map<unsigned, Rule> rules = {
            {777, {Compute::Quotient, "int16", 10, {"/Yield/Power", "/Pv/V"}, 0}},
            {830, {Compute::UtcTime, "uint64", 1, {}, 0}},
            {834, {Compute::FirmwareVersion, "uint32", 1, {"/FirmwareVersion"}, 0}},
            {3214, {Compute::AnyText, "uint16", 1, errorInputs, 65280}},
            {5202, {Compute::AnyText, "uint16", 1, errorInputs, 65280}},
        };
        auto it = rules.find(address);
        if (it == rules.end()) return fail("an INTERNAL row the test does not know");
        const auto& rule = it->second;
        if (reg.compute != rule.compute) fail("not computed by the published rule");
        expect("type", rule.type, typeText(reg));
        if (reg.scale != rule.scale) fail("scale " + std::to_string(reg.scale));
        if (reg.writable()) fail("a computed register must be read-only");
        std::vector<std::string> inputs;
        for (auto id : reg.inputs)
            inputs.push_back(map_.paths()[id]);
        if (inputs != rule.inputs) fail("the inputs of the rule differ");
        if (rule.compute == Compute::AnyText && reg.computeValue != rule.value)
            fail("value " + std::to_string(reg.computeValue) + ", published 65280");
    }

    void expect(const std::string& what, const std::string& published, const std::string& mapped) {
        if (published != mapped) fail(what + ": published '" + published + "', map has '" + mapped + "'");
    }
    void fail(const std::string& message) {
        ++failures_;
        std::cerr << where_ << message << "\n";
    }

    const RegisterMap& map_;
    std::string file_;
    std::string where_;
    unsigned rows_ = 0;
    unsigned failures_ = 0;
    unsigned enumRows_ = 0;
    unsigned readRows_ = 0;
};

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: regmap-conformance REFERENCE_DIR MAP_FILE\n";
        return 2;
    }
    std::string reference = argv[1];
    std::string attributes = reference + "/attributes.csv";
    std::string units = reference + "/unitid2di.csv";
    if (!std::filesystem::exists(attributes) || !std::filesystem::exists(units)) {
        const char* ci = std::getenv("CI");
        if (ci != nullptr && std::string_view(ci) == "true") {
            std::cerr << "FAIL: the published register list is not at " << reference
                      << " (attributes.csv, unitid2di.csv); CI=true: a test that cannot run fails\n";
            return 1;
        }
        std::cout << "SKIP: the published register list is not at " << reference
                  << " (attributes.csv, unitid2di.csv); the conformance check needs it\n";
        return 77;
    }
    std::optional<RegisterMap> map;
    try {
        map.emplace(vmd::regmap::loadMapFile(argv[2]));
    } catch (const vmd::regmap::MapError& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    Checker checker(*map, attributes);
    std::ifstream in(attributes);
    std::string line;
    unsigned lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        auto f = split(line, ',');
        if (f.size() < 8 || f[4].empty() || f[4].find_first_not_of("0123456789") != std::string::npos)
            continue;
        checker.row(lineNo, f);
    }
    unsigned failures = checker.failures();
    if (checker.rows() != 1003) {
        std::cerr << attributes << ": " << checker.rows() << " rows read, 1003 expected\n";
        ++failures;
    }

    std::ifstream unitIn(units);
    lineNo = 0;
    unsigned unitRows = 0;
    while (std::getline(unitIn, line)) {
        ++lineNo;
        auto f = split(line, ',');
        if (f.size() < 2 || trim(f[0]).empty() ||
            trim(f[0]).find_first_not_of("0123456789") != std::string::npos)
            continue;
        auto unit = static_cast<unsigned>(std::stoul(trim(f[0])));
        auto instance = static_cast<unsigned>(std::stoul(trim(f[1])));
        if (unit == instance || unit > 255) continue;
        ++unitRows;
        auto mapped = map->instanceForUnit(static_cast<vmd::regmap::UnitId>(unit));
        if (mapped != instance) {
            std::cerr << units << ":" << lineNo << ": unit " << unit << " must reach instance " << instance
                      << ", the map has " << (mapped ? std::to_string(*mapped) : std::string("no row"))
                      << "\n";
            ++failures;
        }
    }
    if (failures) {
        std::cerr << failures << " difference(s) from the published register list\n";
        return 1;
    }
    std::cout << "all " << checker.rows() << " of 1003 published registers (" << checker.enumRows()
              << " of them with enum meanings; " << checker.readRows()
              << " number registers read decimal halves as a GX device does) and " << unitRows
              << " unit-ID rows agree with the map\n";
    return 0;
}
