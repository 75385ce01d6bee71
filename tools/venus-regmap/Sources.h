#pragma once

#include "regmap/MapLoader.h"
#include "regmap/Types.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmd::regmaptool {

using Diagnostics = std::vector<regmap::Diagnostic>;

/// One D-Bus path of the path list (register-maps/src/paths.yaml).
struct PathEntry {
    std::string path;
    std::string description;
    std::string unit;
    std::vector<regmap::EnumText> enumTexts;
    bool bitmask = false;
    bool writable = false;
    std::string kind = "number"; ///< number, text or array
    unsigned length = 0;         ///< text: characters
    std::string exclude;         ///< why the path has no register; empty when it should have one
    std::string source;
    unsigned line = 0;
};

struct ServiceEntry {
    std::string type;
    std::string title;
    std::string units; ///< which unit IDs reach the service, in words
    std::vector<PathEntry> paths;
    std::string source;
    unsigned line = 0;
};

/// The path list: per service type, every path with its description, unit and enum texts.
/// The service "generic" holds the paths every device service publishes.
class PathList {
  public:
    static constexpr std::string_view kGeneric = "generic";

    void add(ServiceEntry service);
    [[nodiscard]] const std::vector<ServiceEntry>& services() const { return services_; }
    [[nodiscard]] const ServiceEntry* service(std::string_view type) const;
    /// The entry for `path` of `service`, or of the generic paths when the service does not list it.
    [[nodiscard]] const PathEntry* find(std::string_view service, std::string_view path) const;

  private:
    std::vector<ServiceEntry> services_;
    std::map<std::pair<std::string, std::string>, std::pair<std::size_t, std::size_t>, std::less<>> index_;
};

/// One register assignment (published.yaml, extensions.yaml): where and how a path is served.
struct Assignment {
    unsigned address = 0;
    std::string service;
    std::string path; ///< may hold {a,b} alternatives; empty for reserved and computed registers
    std::string type;
    std::optional<double> scale;
    std::string dbusType;
    std::string access;
    std::string compute;
    std::vector<std::string> inputs;
    std::optional<double> value;
    std::optional<regmap::Range> range;
    std::optional<std::string> unit;
    std::optional<std::vector<regmap::EnumText>> enumTexts;
    /// published.yaml: the meanings the published register list gives (its fourth column). They win
    /// over the path list's; the path list's other values are added, marked.
    std::optional<std::vector<regmap::EnumText>> publishedEnum;
    std::optional<std::string> description;
    std::string remarks;
    /// Where the D-Bus type and range of a writable register were taken from (the software that
    /// publishes the path, e.g. "localsettings settings.xml"), or "unverified[: why]" when no public
    /// source says; required for our own writable registers, rendered into the remarks.
    std::string checked;
    std::string source;
    unsigned line = 0;

    [[nodiscard]] bool unverified() const { return checked.rfind("unverified", 0) == 0; }
};

/// A service's block of our own registers (40000 and up).
struct Block {
    std::string service;
    unsigned first = 0;
    unsigned last = 0;
    std::string source;
    unsigned line = 0;
};

struct UnitRow {
    unsigned unit = 0;
    unsigned long instance = 0;
    std::string remark;
    std::string source;
    unsigned line = 0;
};

/// Everything under register-maps/src/.
struct Sources {
    PathList paths;
    std::vector<Assignment> published;
    std::vector<Assignment> extensions;
    std::vector<Assignment> server; ///< the server's own blocks (discovery), 39000-39999
    std::vector<Block> blocks;
    std::vector<UnitRow> units;
};

inline constexpr const char* kPathsFile = "paths.yaml";
inline constexpr const char* kPublishedFile = "published.yaml";
inline constexpr const char* kExtensionsFile = "extensions.yaml";
inline constexpr const char* kServerFile = "server.yaml";
inline constexpr const char* kUnitIdsFile = "unit-ids.yaml";

/// Reads the four source files of `dir`; every problem found goes to `problems`.
[[nodiscard]] Sources readSources(const std::string& dir, Diagnostics& problems);

} // namespace vmd::regmaptool
