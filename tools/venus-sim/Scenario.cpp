#include "Scenario.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace vmd::sim {
namespace {

bool isPlain(const YAML::Node& node) {
    return node.Tag() == "?";
}

std::optional<Scalar> parseNumber(std::string_view text) {
    std::string_view s = text;
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    const char* end = s.data() + s.size();
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        std::uint64_t u = 0;
        auto [p, ec] = std::from_chars(s.data() + 2, end, u, 16);
        return ec == std::errc() && p == end ? std::optional<Scalar>(u) : std::nullopt;
    }
    std::int64_t i = 0;
    if (auto [p, ec] = std::from_chars(s.data(), end, i); ec == std::errc() && p == end) return Scalar{i};
    std::uint64_t u = 0;
    if (auto [p, ec] = std::from_chars(s.data(), end, u); ec == std::errc() && p == end) return Scalar{u};
    double d = 0;
    if (auto [p, ec] = std::from_chars(s.data(), end, d); ec == std::errc() && p == end && std::isfinite(d))
        return Scalar{d};
    return std::nullopt;
}

std::optional<double> toDouble(const Scalar& in) {
    if (auto c = convertScalar(in, 'd')) return std::get<double>(*c);
    return std::nullopt;
}

struct IntRange {
    std::int64_t min;
    std::uint64_t max;
};

IntRange intRange(char type) {
    switch (type) {
    case 'y':
        return {0, 0xFF};
    case 'n':
        return {-32768, 32767};
    case 'q':
        return {0, 0xFFFF};
    case 'i':
        return {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()};
    case 'u':
        return {0, std::numeric_limits<std::uint32_t>::max()};
    case 'x':
        return {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()};
    default:
        return {0, std::numeric_limits<std::uint64_t>::max()};
    }
}

std::optional<Scalar> toInteger(const Scalar& in, char type) {
    const IntRange range = intRange(type);
    const bool isSigned = range.min < 0;
    std::optional<Scalar> n; // int64 or uint64
    if (auto* b = std::get_if<bool>(&in))
        n = Scalar{std::int64_t{*b ? 1 : 0}};
    else if (auto* d = std::get_if<double>(&in)) {
        const double r = std::round(*d);
        if (!std::isfinite(r) || r < -9223372036854775808.0 || r >= 18446744073709551616.0)
            return std::nullopt;
        n = r < 0 ? Scalar{static_cast<std::int64_t>(r)} : Scalar{static_cast<std::uint64_t>(r)};
    } else if (auto* s = std::get_if<std::string>(&in)) {
        auto parsed = parseNumber(*s);
        return parsed ? toInteger(*parsed, type) : std::nullopt;
    } else
        n = in;
    if (auto* i = std::get_if<std::int64_t>(&*n)) {
        if (*i < 0) return (isSigned && *i >= range.min) ? n : std::nullopt;
        n = Scalar{static_cast<std::uint64_t>(*i)};
    }
    const std::uint64_t u = std::get<std::uint64_t>(*n);
    if (u > range.max) return std::nullopt;
    return isSigned ? Scalar{static_cast<std::int64_t>(u)} : Scalar{u};
}

bool validPath(const std::string& p) {
    if (p.size() < 2 || p.front() != '/' || p.back() == '/' || p.find("//") != std::string::npos)
        return false;
    for (char c : p)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '/')) return false;
    return true;
}

bool validBusName(const std::string& n) {
    if (n.size() > 255 || n.find('.') == std::string::npos) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const auto c = static_cast<unsigned char>(n[i]);
        const bool elementStart = i == 0 || n[i - 1] == '.';
        if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.') ||
            (elementStart && (std::isdigit(c) || c == '.')) || (c == '.' && i + 1 == n.size()))
            return false;
    }
    return true;
}

class Parser {
  public:
    explicit Parser(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
        const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 1;
        throw ScenarioError(source_ + ":" + std::to_string(line) + ": " + message);
    }

    void allowOnly(const YAML::Node& map, std::initializer_list<std::string_view> keys,
                   const std::string& what) const {
        std::set<std::string> seen;
        for (const auto& kv : map) {
            const auto key = kv.first.Scalar();
            const bool known = std::find(keys.begin(), keys.end(), key) != keys.end();
            if (!kv.first.IsScalar() || !known) fail(kv.first, "unknown key '" + key + "' in " + what);
            if (!seen.insert(key).second) fail(kv.first, "duplicate key '" + key + "' in " + what);
        }
    }

    Value plainValue(const YAML::Node& node, const std::string& what) const {
        if (node.IsNull()) return std::nullopt;
        if (!node.IsScalar()) fail(node, what + " must be a scalar");
        const std::string& s = node.Scalar();
        if (!isPlain(node)) return Scalar{s};
        if (s == "true" || s == "True" || s == "TRUE") return Scalar{true};
        if (s == "false" || s == "False" || s == "FALSE") return Scalar{false};
        if (auto n = parseNumber(s)) return n;
        return Scalar{s};
    }

    bool boolean(const YAML::Node& node, const std::string& what) const {
        auto v = plainValue(node, what);
        if (!v || !std::holds_alternative<bool>(*v)) fail(node, what + " must be true or false");
        return std::get<bool>(*v);
    }

    double number(const YAML::Node& node, const std::string& what) const {
        auto v = plainValue(node, what);
        auto d = v && !std::holds_alternative<std::string>(*v) ? toDouble(*v) : std::nullopt;
        if (!d) fail(node, what + " must be a number");
        return *d;
    }

    PathSpec path(const std::string& name, const YAML::Node& node) const {
        PathSpec spec;
        spec.path = name;
        if (node.IsMap() && !node["value"])
            fail(node, "path " + name + ": missing 'value' (use null for an invalid value)");
        const YAML::Node valueNode = node.IsMap() ? node["value"] : node;
        std::optional<char> type;
        if (node.IsMap()) {
            allowOnly(node, {"value", "type", "writable", "set", "set-delay", "read-fails-for-ms", "walk"},
                      "path " + name);
            if (auto t = node["type"]) {
                if (!t.IsScalar() || t.Scalar().size() != 1 || !isValidTypeLetter(t.Scalar()[0]))
                    fail(t, "path " + name + ": bad type '" + t.Scalar() + "' (one of y b n q i u x t d s)");
                type = t.Scalar()[0];
            }
            if (auto w = node["writable"]) spec.writable = boolean(w, "writable");
            if (auto s = node["set"]) {
                const std::string m = s.IsScalar() ? s.Scalar() : "";
                if (m != "accept" && m != "refuse" && m != "hang")
                    fail(s, "path " + name + ": set must be accept, refuse or hang");
                spec.set = m == "accept" ? SetMode::Accept : m == "refuse" ? SetMode::Refuse : SetMode::Hang;
            }
            if (auto d = node["set-delay"]) {
                spec.setDelaySeconds = number(d, "set-delay");
                if (!(spec.setDelaySeconds >= 0 && spec.setDelaySeconds <= 3600))
                    fail(d, "path " + name + ": set-delay must be between 0 and 3600 seconds");
            }
            if (auto f = node["read-fails-for-ms"]) {
                const double ms = number(f, "read-fails-for-ms");
                if (!(ms >= 0 && ms <= 3600000 && ms == std::floor(ms)))
                    fail(f, "path " + name + ": read-fails-for-ms must be 0..3600000");
                spec.readFailsForMs = static_cast<int>(ms);
            }
            if (auto w = node["walk"]) {
                if (!w.IsMap()) fail(w, "path " + name + ": walk must be a map {min, max, step}");
                allowOnly(w, {"min", "max", "step"}, "walk");
                for (const char* k : {"min", "max", "step"})
                    if (!w[k]) fail(w, std::string("walk: missing '") + k + "'");
                spec.walk = Walk{number(w["min"], "walk min"), number(w["max"], "walk max"),
                                 number(w["step"], "walk step")};
                if (spec.walk->min > spec.walk->max || spec.walk->step <= 0)
                    fail(w, "walk needs min <= max and step > 0");
            }
        } else if (!node.IsScalar() && !node.IsNull())
            fail(node, "path " + name + " must be a scalar or a map");

        const Value raw = plainValue(valueNode, "value of " + name);
        if (!type) {
            if (!raw)
                type = 'd';
            else if (std::holds_alternative<bool>(*raw))
                type = 'b';
            else if (std::holds_alternative<double>(*raw))
                type = 'd';
            else if (std::holds_alternative<std::string>(*raw))
                type = 's';
            else
                type = toInteger(*raw, 'i') ? 'i' : (toInteger(*raw, 'x') ? 'x' : 't');
        }
        spec.type = *type;
        if (raw) {
            spec.value = convertScalar(*raw, spec.type);
            if (!spec.value)
                fail(valueNode,
                     "path " + name + ": value '" + valueNode.Scalar() + "' does not fit type " + spec.type);
        }
        if (spec.walk && (spec.type == 'b' || spec.type == 's'))
            fail(node, "path " + name + ": walk needs a numeric type");
        return spec;
    }

    ServiceSpec service(const YAML::Node& node) const {
        if (!node.IsMap()) fail(node, "a service must be a map with 'name' and 'paths'");
        allowOnly(node,
                  {"name", "getitems", "root-getvalue", "read-delay-ms", "reads-fail-for-ms",
                   "release-after-ms", "queue", "paths", "listed-only"},
                  "service");
        ServiceSpec spec;
        const YAML::Node name = node["name"];
        if (!name) fail(node, "service without 'name'");
        if (!name.IsScalar() || !validBusName(name.Scalar()))
            fail(name, "bad service name '" + (name.IsScalar() ? name.Scalar() : "") + "'");
        spec.name = name.Scalar();
        if (auto g = node["getitems"]) spec.getItems = boolean(g, "getitems");
        if (auto g = node["root-getvalue"]) spec.rootGetValue = boolean(g, "root-getvalue");
        auto milliseconds = [&](const char* key) {
            const YAML::Node n = node[key];
            const double v = number(n, key);
            if (v < 0 || v > 3600000 || v != std::floor(v)) fail(n, std::string(key) + " must be 0..3600000");
            return static_cast<int>(v);
        };
        if (node["read-delay-ms"]) spec.readDelayMs = milliseconds("read-delay-ms");
        if (node["reads-fail-for-ms"]) spec.readsFailForMs = milliseconds("reads-fail-for-ms");
        if (node["release-after-ms"]) spec.releaseAfterMs = milliseconds("release-after-ms");
        if (auto q = node["queue"]) spec.queue = boolean(q, "queue");
        const YAML::Node paths = node["paths"];
        if (!paths || !paths.IsMap())
            fail(paths ? paths : node, "service " + spec.name + " needs 'paths', a map of /Path: value");
        std::set<std::string> seen;
        for (const auto& kv : paths) {
            const std::string p = kv.first.IsScalar() ? kv.first.Scalar() : "";
            if (!validPath(p))
                fail(kv.first, "bad path '" + p + "' (must start with / and use [A-Za-z0-9_] segments)");
            if (!seen.insert(p).second) fail(kv.first, "duplicate path " + p);
            spec.paths.push_back(path(p, kv.second));
        }
        if (const YAML::Node listed = node["listed-only"]) {
            if (!listed.IsMap())
                fail(listed, "service " + spec.name + ": 'listed-only' must be a map of /Key: value");
            for (const auto& kv : listed) {
                const std::string p = kv.first.IsScalar() ? kv.first.Scalar() : "";
                if (p.size() < 2 || p.front() != '/')
                    fail(kv.first, "bad listed-only key '" + p + "' (must start with /)");
                if (!seen.insert(p).second) fail(kv.first, "duplicate path " + p);
                spec.listedOnly.push_back(path(p, kv.second));
            }
        }
        return spec;
    }

    Scenario scenario(const YAML::Node& root) const {
        if (!root.IsMap()) fail(root, "a scenario must be a map with 'services'");
        allowOnly(root, {"tick-ms", "model", "services"}, "scenario");
        Scenario result;
        if (auto m = root["model"]) {
            if (!m.IsMap()) fail(m, "'model' must be a map such as {type: ess, capacity-wh: 10000}");
            allowOnly(m, {"type", "capacity-wh", "response-s"}, "model");
            if (!m["type"] || !m["type"].IsScalar() || m["type"].Scalar() != "ess")
                fail(m, "model type must be 'ess'");
            EssModelSpec spec;
            if (auto c = m["capacity-wh"]) spec.capacityWh = number(c, "capacity-wh");
            if (auto r = m["response-s"]) spec.responseSeconds = number(r, "response-s");
            if (spec.capacityWh <= 0 || spec.responseSeconds <= 0)
                fail(m, "model capacity-wh and response-s must be positive");
            result.essModel = spec;
        }
        if (auto t = root["tick-ms"]) {
            const auto v = plainValue(t, "tick-ms");
            const auto ms = v && std::holds_alternative<std::int64_t>(*v) ? toInteger(*v, 'i') : std::nullopt;
            if (!ms || std::get<std::int64_t>(*ms) < 10) fail(t, "tick-ms must be an integer >= 10");
            result.tickMs = static_cast<int>(std::get<std::int64_t>(*ms));
        }
        const YAML::Node services = root["services"];
        if (!services || !services.IsSequence() || services.size() == 0)
            fail(services ? services : root, "'services' must be a non-empty list");
        std::set<std::string> names;
        for (const auto& s : services) {
            result.services.push_back(service(s));
            if (!names.insert(result.services.back().name).second)
                fail(s, "duplicate service " + result.services.back().name);
        }
        return result;
    }

  private:
    std::string source_;
};

} // namespace

bool isValidTypeLetter(char type) {
    return std::string_view("ybnqiuxtds").find(type) != std::string_view::npos;
}

std::optional<Scalar> convertScalar(const Scalar& in, char type) {
    switch (type) {
    case 's':
        return Scalar{toText(in)};
    case 'b':
        if (std::holds_alternative<bool>(in)) return in;
        if (auto* s = std::get_if<std::string>(&in); s && (*s == "true" || *s == "false"))
            return Scalar{*s == "true"};
        if (auto i = toInteger(in, 'y'); i && std::get<std::uint64_t>(*i) <= 1)
            return Scalar{std::get<std::uint64_t>(*i) == 1};
        return std::nullopt;
    case 'd':
        if (auto* s = std::get_if<std::string>(&in)) {
            auto n = parseNumber(*s);
            return n ? convertScalar(*n, 'd') : std::nullopt;
        }
        return std::visit(
            [](const auto& v) -> std::optional<Scalar> {
                if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>)
                    return std::nullopt;
                else
                    return Scalar{static_cast<double>(v)};
            },
            in);
    default:
        return isValidTypeLetter(type) ? toInteger(in, type) : std::nullopt;
    }
}

std::string toText(const Value& value) {
    if (!value) return {};
    return std::visit(
        [](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>)
                return v ? "true" : "false";
            else if constexpr (std::is_same_v<T, std::string>)
                return v;
            else {
                char buf[64];
                auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
                return std::string(buf, ec == std::errc() ? p : buf);
            }
        },
        *value);
}

Value walkStep(const Value& current, char type, const Walk& walk, bool up) {
    const auto c = current ? toDouble(*current) : std::nullopt;
    if (!c) return current;
    double n = *c + (up ? walk.step : -walk.step);
    if (n > walk.max) n = *c - walk.step;
    if (n < walk.min) n = *c + walk.step;
    n = std::round(std::clamp(n, walk.min, walk.max) * 1e6) / 1e6;
    auto converted = convertScalar(Scalar{n}, type);
    return converted ? converted : current;
}

Scenario parseScenario(const std::string& text, const std::string& sourceName) {
    try {
        return Parser(sourceName).scenario(YAML::Load(text));
    } catch (const YAML::Exception& e) {
        const int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
        throw ScenarioError(sourceName + ":" + std::to_string(line) + ": " + e.msg);
    }
}

Scenario loadScenarioFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ScenarioError(path + ":1: cannot open scenario file");
    std::ostringstream text;
    text << in.rdbuf();
    return parseScenario(text.str(), path);
}

} // namespace vmd::sim
