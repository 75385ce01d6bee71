#include "Scripting.h"

#include "ModbusClient.h"
#include "Text.h"

#include "codec/Codec.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace vmd::regmaptool {

using regmap::ModbusType;
using regmap::Register;

namespace {

constexpr int kOk = 0;
constexpr int kNoAnswer = 1;
constexpr int kBadInput = 2;

std::string serviceType(std::string service) {
    const std::string prefix = "com.victronenergy.";
    if (service.rfind(prefix, 0) == 0) service = service.substr(prefix.size());
    if (auto dot = service.find('.'); dot != std::string::npos) service = service.substr(0, dot);
    return service;
}

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string json(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out + '"';
}

std::string pathsOf(const ScriptMap& script, const Register& reg) {
    std::string out;
    for (auto id : reg.paths)
        out += (out.empty() ? "" : "|") + script.map->paths()[id];
    return out;
}

const std::string& serviceOf(const ScriptMap& script, const Register& reg) {
    return script.map->serviceTypes()[reg.service];
}

/// Decimals a value of this scale has: scale 10 -> 1, 100 -> 2.
int decimals(double scale) {
    return scale > 1 ? static_cast<int>(std::ceil(std::log10(scale) - 1e-9)) : 0;
}

std::string number(double value, double scale) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals(scale), value);
    std::string s = buf;
    return s == "-0" ? "0" : s;
}

const regmap::EnumText* enumFor(const Register& reg, double value) {
    for (const auto& e : reg.enumTexts)
        if (static_cast<double>(e.value) == value) return &e;
    return nullptr;
}

bool notAvailable(const Register& reg, const std::vector<std::uint16_t>& words) {
    if (reg.type == ModbusType::String || reg.type == ModbusType::Reserved) return false;
    std::vector<std::uint16_t> na(reg.words);
    codec::encodeNotAvailable(reg, codec::NotAvailable::Max, na);
    return na == words;
}

std::string mbpollLine(const Register& reg, const std::optional<int>& unit) {
    std::string type = reg.type == ModbusType::Int32 || reg.type == ModbusType::Uint32    ? " -t 4:int -B"
                       : reg.type == ModbusType::String || reg.type == ModbusType::Uint64 ? " -t 4:hex"
                                                                                          : "";
    auto count = reg.type == ModbusType::Int32 || reg.type == ModbusType::Uint32 ? 1 : reg.words;
    return "mbpoll -m tcp -a " + (unit ? std::to_string(*unit) : std::string("UNIT")) + " -0 -1 -r " +
           std::to_string(reg.address) + " -c " + std::to_string(count) + type + " HOST";
}

std::string accessOf(const Register& reg) {
    return reg.writable() ? "read/write" : "read-only";
}

/// The register a request names, or an error (exit status 2) on `err`.
const Register* resolve(const ScriptMap& script, const Request& request, int& unit, std::ostream& err) {
    auto service = serviceType(request.service);
    if (!script.map->serviceTypeId(service)) {
        err << "venus-regmap: the map has no service '" << request.service << "'\n";
        return nullptr;
    }
    auto regs = registersOf(script, service, request.path);
    if (regs.empty()) {
        err << "venus-regmap: no register serves " << service << " " << request.path
            << " (try: venus-regmap find " << request.path << ")\n";
        return nullptr;
    }
    if (request.unit) {
        unit = *request.unit;
    } else if (auto usual = usualUnit(script, service)) {
        unit = *usual;
    } else {
        auto it = script.unitsText.find(service);
        err << "venus-regmap: " << service << " has no usual unit ID: give --unit N"
            << (it == script.unitsText.end() ? std::string() : " (" + it->second + ")") << "\n";
        return nullptr;
    }
    if (!request.address) return regs.front();
    for (const auto* reg : regs)
        if (reg->address == *request.address) return reg;
    err << "venus-regmap: register " << *request.address << " does not serve " << service << " "
        << request.path << "; its registers:";
    for (const auto* reg : regs)
        err << " " << reg->address << " (" << typeName(*reg) << ")";
    err << "\n";
    return nullptr;
}

std::string registerJson(const ScriptMap& script, const Register& reg, std::optional<int> unit) {
    return "\"service\": " + json(serviceOf(script, reg)) + ", \"path\": " + json(pathsOf(script, reg)) +
           ", \"unit_id\": " + (unit ? std::to_string(*unit) : std::string("null")) +
           ", \"address\": " + std::to_string(reg.address) + ", \"type\": " + json(typeName(reg)) +
           ", \"scale\": " + formatNumber(reg.scale) + ", \"unit\": " + json(reg.unit);
}

std::string wordsJson(const std::vector<std::uint16_t>& words) {
    std::string out = "[";
    for (std::size_t i = 0; i < words.size(); ++i)
        out += (i ? ", " : "") + std::to_string(words[i]);
    return out + "]";
}

/// Prints a failed request: the exception in words (or why there was no answer); exit status 1.
int failed(const Reply& reply, const std::string& what, bool asJson, std::ostream& out, std::ostream& err) {
    if (asJson)
        out << "{\"ok\": false, \"exception\": " << reply.exception << ", \"error\": " << json(reply.error)
            << "}\n";
    if (reply.exception)
        err << "venus-regmap: " << what << ": Modbus exception " << reply.exception << ": " << reply.error
            << "\n";
    else
        err << "venus-regmap: " << what << ": " << reply.error << "\n";
    return kNoAnswer;
}

bool connectTo(ModbusClient& client, const Request& request, bool asJson, std::ostream& out,
               std::ostream& err) {
    if (auto error = client.connect(); !error.empty()) {
        Reply r;
        r.error = "cannot connect to " + request.target + ": " + error;
        failed(r, "no answer", asJson, out, err);
        return false;
    }
    return true;
}

// The endpoint and the register a read or write addresses (the register's unit ID in `unit`), or
// nullptr once `err` says what is wrong with either.
const Register* addressed(const ScriptMap& script, const Request& request, Endpoint& endpoint, int& unit,
                          std::ostream& err) {
    std::string error;
    if (!parseEndpoint(request.target, endpoint, error)) {
        err << "venus-regmap: " << error << "\n";
        return nullptr;
    }
    return resolve(script, request, unit, err);
}

} // namespace

std::optional<int> usualUnit(const ScriptMap& script, const std::string& service) {
    auto it = script.unitsText.find(serviceType(service));
    if (it == script.unitsText.end()) return std::nullopt;
    if (it->second.rfind("100", 0) == 0 &&
        (it->second.size() == 3 || !std::isdigit(static_cast<unsigned char>(it->second[3]))))
        return 100;
    return std::nullopt;
}

std::vector<const Register*> registersOf(const ScriptMap& script, const std::string& service,
                                         const std::string& path) {
    std::vector<const Register*> out;
    auto type = script.map->serviceTypeId(serviceType(service));
    auto id = script.map->pathId(path);
    if (!type || !id) return out;
    for (const auto& reg : script.map->registers())
        if (reg.service == *type && std::find(reg.paths.begin(), reg.paths.end(), *id) != reg.paths.end())
            out.push_back(&reg);
    std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->address < b->address; });
    return out;
}

std::string describeValue(const Register& reg, const std::vector<std::uint16_t>& words) {
    if (notAvailable(reg, words)) return "not available";
    auto value = codec::toEngineering(reg, words);
    if (auto text = std::get_if<std::string>(&value)) return *text;
    auto number = std::get_if<double>(&value);
    if (!number) return "reserved";
    if (!reg.enumTexts.empty()) {
        if (auto e = enumFor(reg, *number)) return e->text;
        return regmaptool::number(*number, reg.scale) + " (not one of the enum values)";
    }
    return regmaptool::number(*number, reg.scale) + (reg.unit.empty() ? "" : " " + reg.unit);
}

std::optional<std::vector<std::uint16_t>> encodeForWrite(const Register& reg, const std::string& value,
                                                         std::string& error) {
    std::vector<std::uint16_t> words(reg.words);
    if (!reg.writable()) {
        error = "register " + std::to_string(reg.address) + " is read-only";
        return std::nullopt;
    }
    if (reg.type == ModbusType::String) {
        if (codec::utf8ToLatin1(value).size() > 2u * reg.words) {
            error = "'" + value + "' is longer than the " + std::to_string(2 * reg.words) +
                    " characters of " + typeName(reg);
            return std::nullopt;
        }
        codec::encode(value, reg, codec::NotAvailable::Zero, words);
        return words;
    }
    double number = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(number)) {
        auto it = std::find_if(reg.enumTexts.begin(), reg.enumTexts.end(),
                               [&](const auto& e) { return lower(e.text) == lower(value); });
        if (it == reg.enumTexts.end()) {
            error = "'" + value + "' is not a number" +
                    (reg.enumTexts.empty() ? std::string() : " nor one of " + enumText(reg.enumTexts));
            return std::nullopt;
        }
        number = static_cast<double>(it->value);
    }
    codec::encode(number, reg, codec::NotAvailable::Zero, words);
    auto limits = rawLimits(reg.type);
    auto back = std::get<double>(codec::toEngineering(reg, words));
    if (std::fabs(back - number) > 0.5 / reg.scale + 1e-9) {
        error = value + " does not fit " + typeName(reg) + " at scale " + formatNumber(reg.scale) + " (" +
                regmaptool::number(limits.min / reg.scale, reg.scale) + " to " +
                regmaptool::number((limits.max - 1) / reg.scale, reg.scale) + ")";
        return std::nullopt;
    }
    if (codec::decode(reg, words).error != codec::DecodeError::None) {
        error = value + " is out of range";
        if (reg.range)
            error += " (" + formatNumber(reg.range->min) + " to " + formatNumber(reg.range->max) + ")";
        else if (!reg.enumTexts.empty())
            error += " (one of " + enumText(reg.enumTexts) + ")";
        else
            error += " for the path's D-Bus type '" + std::string(1, reg.dbusType) + "'";
        return std::nullopt;
    }
    return words;
}

int findRegisters(const ScriptMap& script, const std::string& text, bool asJson, std::ostream& out,
                  std::ostream& err) {
    auto needle = lower(text);
    std::vector<const Register*> hits;
    for (const auto& reg : script.map->registers()) {
        if (reg.type == ModbusType::Reserved) continue;
        auto haystack = lower(serviceOf(script, reg) + " " + pathsOf(script, reg) + " " + reg.description);
        if (haystack.find(needle) != std::string::npos) hits.push_back(&reg);
    }
    if (asJson) out << "[";
    for (std::size_t i = 0; i < hits.size(); ++i) {
        const auto& reg = *hits[i];
        const auto& service = serviceOf(script, reg);
        auto unit = usualUnit(script, service);
        auto units = script.unitsText.count(service) ? script.unitsText.at(service) : std::string();
        if (asJson) {
            out << (i ? ",\n " : "\n ") << "{" << registerJson(script, reg, unit)
                << ", \"units\": " << json(units) << ", \"access\": " << json(accessOf(reg))
                << ", \"description\": " << json(reg.description)
                << ", \"enum\": " << json(reg.enumTexts.empty() ? std::string() : enumText(reg.enumTexts))
                << ", \"mbpoll\": " << json(mbpollLine(reg, unit)) << "}";
            continue;
        }
        out << service << " " << pathsOf(script, reg) << "\n"
            << "  " << reg.description << "\n"
            << "  register " << reg.address << ", " << typeName(reg) << ", scale " << formatNumber(reg.scale)
            << (reg.unit.empty() ? "" : ", " + reg.unit) << ", " << accessOf(reg) << ", unit ID "
            << (unit ? std::to_string(*unit) : units) << "\n";
        if (!reg.enumTexts.empty()) out << "  values: " << enumText(reg.enumTexts) << "\n";
        out << "  " << mbpollLine(reg, unit) << "\n";
    }
    if (asJson) out << (hits.empty() ? "]\n" : "\n]\n");
    if (hits.empty()) {
        err << "venus-regmap: no register matches '" << text << "'\n";
        return kNoAnswer;
    }
    return kOk;
}

int readPath(const ScriptMap& script, const Request& request, std::ostream& out, std::ostream& err) {
    Endpoint endpoint;
    int unit = 0;
    const auto* reg = addressed(script, request, endpoint, unit, err);
    if (!reg) return kBadInput;
    ModbusClient client(endpoint, unit);
    if (!connectTo(client, request, request.json, out, err)) return kNoAnswer;
    auto reply = client.read(reg->address, reg->words);
    if (!reply.ok)
        return failed(reply,
                      "reading register " + std::to_string(reg->address) + " of unit " + std::to_string(unit),
                      request.json, out, err);
    auto text = describeValue(*reg, reply.words);
    if (!request.json) {
        out << text << "\n";
        return kOk;
    }
    auto value = codec::toEngineering(*reg, reply.words);
    std::string valueJson = notAvailable(*reg, reply.words) ? "null"
                            : std::holds_alternative<std::string>(value)
                                ? json(std::get<std::string>(value))
                                : number(std::get<double>(value), reg->scale);
    auto e = std::holds_alternative<double>(value) ? enumFor(*reg, std::get<double>(value)) : nullptr;
    out << "{\"ok\": true, " << registerJson(script, *reg, unit) << ", \"words\": " << wordsJson(reply.words)
        << ", \"value\": " << valueJson << ", \"enum\": " << (e ? json(e->text) : "null")
        << ", \"text\": " << json(text) << "}\n";
    return kOk;
}

int writePath(const ScriptMap& script, const Request& request, std::ostream& out, std::ostream& err) {
    Endpoint endpoint;
    int unit = 0;
    const auto* reg = addressed(script, request, endpoint, unit, err);
    if (!reg) return kBadInput;
    std::string error;
    auto words = encodeForWrite(*reg, request.value, error);
    if (!words) {
        if (request.json) out << "{\"ok\": false, \"refused\": " << json(error) << "}\n";
        err << "venus-regmap: not sent: " << error << "\n";
        return kBadInput;
    }
    ModbusClient client(endpoint, unit);
    if (!connectTo(client, request, request.json, out, err)) return kNoAnswer;
    auto reply = client.write(reg->address, *words);
    auto fc = words->size() == 1 ? 6 : 16;
    if (!reply.ok)
        return failed(reply,
                      "writing register " + std::to_string(reg->address) + " of unit " +
                          std::to_string(unit) + " (FC " + std::to_string(fc) + ")",
                      request.json, out, err);
    auto text = describeValue(*reg, *words);
    if (request.json)
        out << "{\"ok\": true, " << registerJson(script, *reg, unit) << ", \"function\": " << fc
            << ", \"words\": " << wordsJson(*words) << ", \"text\": " << json(text) << "}\n";
    else
        out << "wrote " << text << " to register " << reg->address << " of unit " << unit << " (FC " << fc
            << "): the server accepted it\n";
    return kOk;
}

} // namespace vmd::regmaptool
