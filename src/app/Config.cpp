#include "app/Config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace vmd::app {

namespace {

enum class Kind { Scalar, List, Flag };

// Config key -> (long option, kind).
const std::map<std::string, std::pair<std::string, Kind>> kKeys = {
    {"bus", {"bus", Kind::Scalar}},
    {"listen", {"listen", Kind::List}},
    {"map", {"map", Kind::Scalar}},
    {"overlays", {"overlay", Kind::List}},
    {"read-only", {"read-only", Kind::Flag}},
    {"allow", {"allow", Kind::List}},
    {"write-allow", {"write-allow", Kind::List}},
    {"max-clients", {"max-clients", Kind::Scalar}},
    {"max-clients-per-address", {"max-clients-per-address", Kind::Scalar}},
    {"not-available", {"not-available", Kind::Scalar}},
    {"write-timeout", {"write-timeout", Kind::Scalar}},
    {"idle-timeout", {"idle-timeout", Kind::Scalar}},
    {"frame-timeout", {"frame-timeout", Kind::Scalar}},
    {"log-level", {"log-level", Kind::Scalar}},
    {"state-dir", {"state-dir", Kind::Scalar}},
};

std::string keyList() {
    std::string text = "tls";
    for (const auto& [key, spec] : kKeys)
        text += (text.empty() ? "" : ", ") + key;
    return text;
}

using Fail = std::function<void(const YAML::Mark&, const std::string&)>;

modbus::AccessPolicy rolePolicy(const std::string& name, const YAML::Node& value, const Fail& fail) {
    const std::string what = "tls: role '" + name + "'";
    if (value.IsScalar() && value.Scalar() == "read") return modbus::AccessPolicy::readOnly();
    if (value.IsScalar() && value.Scalar() == "write") return {};
    if (value.IsMap() && value.size() == 1 && value["write"]) {
        const auto& list = value["write"];
        if (!list.IsSequence() || list.size() == 0)
            fail(list.Mark(), what + ": 'write' must be a list of register ranges like \"2700-2722\"");
        std::vector<modbus::WriteRange> ranges;
        for (const auto& item : list) {
            auto range = item.IsScalar() ? modbus::parseWriteRange(item.Scalar()) : std::nullopt;
            if (!range)
                fail(item.Mark(), what + ": '" + (item.IsScalar() ? item.Scalar() : "?") +
                                      "' is not a register range FIRST-LAST or a register");
            ranges.push_back(*range);
        }
        return modbus::AccessPolicy::writeRanges(std::move(ranges));
    }
    fail(value.Mark(), what + " must be read, write or {write: [RANGES]}");
    return {};
}

/// The `tls:` map; a key whose --tls-KEY option is on the command line is left as that set it (a
/// --tls-role, the config's role of the same name).
void applyTls(TlsOptions& tls, const YAML::Node& node, const std::set<std::string>& given, const Fail& fail) {
    if (!node.IsMap())
        fail(node.Mark(), "'tls' must be a mapping (listen, cert, key, client-ca, crl, roles, default-role)");
    tls.enabled = true;
    std::set<std::string> seen;
    for (const auto& item : node) {
        const auto key = item.first.Scalar();
        const auto& value = item.second;
        if (!seen.insert(key).second) fail(item.first.Mark(), "duplicate key 'tls: " + key + "'");
        if (key != "roles" && given.count("tls-" + key)) continue; // the command line wins
        auto scalar = [&]() {
            if (!value.IsScalar() || value.Scalar().empty())
                fail(value.Mark(), "'tls: " + key + "' must be a single value");
            return value.Scalar();
        };
        if (key == "listen") {
            auto add = [&](const YAML::Node& element) {
                if (!element.IsScalar()) fail(element.Mark(), "'tls: listen' must be HOST:PORT values");
                try {
                    tls.listen.push_back(parseListenAddress(element.Scalar(), "tls: listen"));
                } catch (const UsageError& e) {
                    fail(element.Mark(), std::string(e.what()).substr(2));
                }
            };
            if (value.IsSequence())
                for (const auto& element : value)
                    add(element);
            else
                add(value);
        } else if (key == "cert") {
            tls.cert = scalar();
        } else if (key == "key") {
            tls.key = scalar();
        } else if (key == "client-ca") {
            tls.clientCa = scalar();
        } else if (key == "crl") {
            tls.crl = scalar();
        } else if (key == "default-role") {
            tls.defaultRole = scalar();
        } else if (key == "roles") {
            if (!value.IsMap())
                fail(value.Mark(), "'tls: roles' must map role names to read, write or {write: [RANGES]}");
            for (const auto& role : value) {
                const auto& name = role.first.Scalar();
                if (name == "none") // else `default-role: none` would silently mean this role
                    fail(role.first.Mark(), "tls: roles: a role cannot be named none (default-role: none "
                                            "means no role)");
                auto policy = rolePolicy(name, role.second, fail);
                if (!given.count("tls-role") || !tls.roles.count(name)) tls.roles[name] = std::move(policy);
            }
        } else {
            fail(item.first.Mark(), "unknown key 'tls: " + key +
                                        "' (known: listen, cert, key, client-ca, crl, roles, default-role)");
        }
    }
    if (!tls.defaultRole.empty() && tls.defaultRole != "none" && !tls.roles.count(tls.defaultRole))
        fail(node.Mark(), "tls: default-role '" + tls.defaultRole + "' is not none or a role under 'roles'");
}

} // namespace

void applyConfigText(Options& options, const std::string& yaml, const std::string& source) {
    auto fail = [&](const YAML::Mark& mark, const std::string& message) {
        throw UsageError(source + ":" + std::to_string(mark.line + 1) + ": " + message);
    };
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        fail(e.mark, "YAML syntax: " + e.msg);
    }
    if (root.IsNull()) return; // an empty file (or only comments) sets nothing
    if (!root.IsMap()) fail(root.Mark(), "the config must be a mapping of option names to values");
    std::set<std::string> seen;
    for (const auto& item : root) {
        const auto key = item.first.Scalar();
        const auto& value = item.second;
        if (!seen.insert(key).second) fail(item.first.Mark(), "duplicate key '" + key + "'");
        if (key == "tls") {
            applyTls(options.tls, value, options.given, fail);
            continue;
        }
        auto it = kKeys.find(key);
        if (it == kKeys.end())
            fail(item.first.Mark(), "unknown key '" + key + "' (known: " + keyList() + ")");
        const auto& [option, kind] = it->second;
        if (options.given.count(option)) continue;     // the command line wins
        if (key == "listen") options.listenSet = true; // `listen: []`: no plain listener
        auto apply = [&](const YAML::Node& node) {
            if (!node.IsScalar()) fail(node.Mark(), "'" + key + "' must be a single value here");
            try {
                applyOption(options, option, node.Scalar());
            } catch (const UsageError& e) {
                std::string message = e.what();
                if (message.rfind("--" + option + ": ", 0) == 0)
                    message = "'" + key + "': " + message.substr(option.size() + 4);
                fail(node.Mark(), message);
            }
        };
        switch (kind) {
        case Kind::Flag:
            if (!value.IsScalar() || (value.Scalar() != "true" && value.Scalar() != "false"))
                fail(value.Mark(), "'" + key + "' must be true or false");
            apply(value);
            break;
        case Kind::List:
            if (value.IsSequence())
                for (const auto& element : value)
                    apply(element);
            else
                apply(value);
            break;
        case Kind::Scalar:
            apply(value);
            break;
        }
    }
}

void applyConfigFile(Options& options, const std::string& path) {
    std::ifstream in(path);
    if (!in) throw UsageError(path + ":0: cannot open the config file");
    std::stringstream text;
    text << in.rdbuf();
    applyConfigText(options, text.str(), path);
}

std::string configFileFor(const Options& options) {
    if (!options.config.empty()) return options.config;
    return std::filesystem::exists(kDefaultConfigFile) ? kDefaultConfigFile : "";
}

} // namespace vmd::app
