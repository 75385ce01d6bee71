#include "app/Config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
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
};

std::string keyList() {
    std::string text;
    for (const auto& [key, spec] : kKeys)
        text += (text.empty() ? "" : ", ") + key;
    return text;
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
        auto it = kKeys.find(key);
        if (it == kKeys.end())
            fail(item.first.Mark(), "unknown key '" + key + "' (known: " + keyList() + ")");
        const auto& [option, kind] = it->second;
        if (options.given.count(option)) continue; // the command line wins
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
