#pragma once

#include "regmap/RegisterMap.h"

#include <cstdint>
#include <stdexcept>
#include <string_view>

namespace YAML {
class Node;
}
#include <string>
#include <vector>

namespace vmd::regmap {

/// One problem found in a map source, printed as `FILE:LINE: message`.
struct Diagnostic {
    std::string source;
    unsigned line = 0;
    std::string message;

    [[nodiscard]] std::string format() const;
};

/// Thrown when a map does not validate; carries every problem found, not just the first.
class MapError : public std::runtime_error {
  public:
    explicit MapError(std::vector<Diagnostic> diagnostics);
    [[nodiscard]] const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

  private:
    std::vector<Diagnostic> diagnostics_;
};

/// FNV-1a, 32 bits, continued from `hash` over `text`: the map identity's function.
[[nodiscard]] std::uint32_t fnv1a32(std::string_view text, std::uint32_t hash = 2166136261u);

/// Builds a RegisterMap from one shipped map and any number of overlays (same schema). Overlays add
/// registers (never overlapping) and may `amend` existing ones: `amend: [{address: 37, failsafe: ...}]`.
/// Sources are YAML text plus a name used in messages, so tests can inline maps.
class MapLoader {
  public:
    /// Parses and checks one source; problems are collected until build().
    void add(const std::string& yamlText, const std::string& sourceName);
    /// Reads a file and adds it; an unreadable file is a diagnostic too.
    void addFile(const std::string& path);
    /// Validates the whole (overlaps across sources, unit table) and returns the map.
    /// Throws MapError listing every problem.
    [[nodiscard]] RegisterMap build();

  private:
    struct Pending {
        Register reg;
        std::vector<std::string> paths;
        std::vector<std::string> inputs;
        std::string service;
    };
    struct Amendment {
        RegisterAddress address;
        std::optional<Failsafe> failsafe;
        std::optional<Range> range;
        std::string source;
        unsigned line;
    };
    void error(const std::string& source, unsigned line, std::string message);
    void addAmendment(const YAML::Node& node, const std::string& source);
    void addRegister(const YAML::Node& node, const std::string& source);
    void addUnitRow(const YAML::Node& row, const std::string& source);
    void addDocument(const std::string& yamlText, const std::string& source);
    bool addLineByLine(const std::string& yamlText, const std::string& source);
    [[nodiscard]] unsigned lineOf(const YAML::Node& node) const;

    std::vector<Pending> pending_;
    std::vector<Amendment> amendments_;
    unsigned lineOffset_ = 0; ///< added to yaml-cpp's line numbers when a document is parsed line by line
    std::vector<UnitMapping> units_;
    std::vector<std::pair<UnitMapping, Diagnostic>> unitOrigins_;
    std::vector<Diagnostic> diagnostics_;
    std::uint32_t identity_ = 2166136261u; ///< FNV-1a 32 of every text added, in order
};

/// Expands `{a,b}` alternatives in a path: `/Ac/{Grid,Genset}/L1` -> `/Ac/Grid/L1`, `/Ac/Genset/L1`.
[[nodiscard]] std::vector<std::string> expandAlternatives(const std::string& path);

/// Convenience: load one file, throw MapError on problems.
[[nodiscard]] RegisterMap loadMapFile(const std::string& path, const std::vector<std::string>& overlays = {});

} // namespace vmd::regmap
