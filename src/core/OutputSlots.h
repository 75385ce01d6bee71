#pragma once

#include "codec/Value.h"
#include "regmap/RegisterMap.h"
#include "regmap/Slots.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vmd::core {

/// What one service published under the slot families of the map (regmap/Slots.h): per family, its
/// identifiers in natural order, each with the values of the paths that some slot path names.
struct ServiceSlots {
    struct Less {
        bool operator()(const std::string& a, const std::string& b) const {
            return regmap::naturalLess(a, b);
        }
    };
    using Outputs = std::map<std::string, std::map<std::string, codec::Value>, Less>; ///< id -> rest -> value
    std::map<std::string, Outputs> families;                                          ///< by family prefix
};

/// Resolves the slot paths of one map: slot k of a family is the k-th identifier (natural order) the
/// service publishes under the family's prefix. Pure: the ServiceIndex keeps one per map.
class SlotResolver {
  public:
    explicit SlotResolver(const regmap::RegisterMap& map);

    [[nodiscard]] bool empty() const { return families_.empty(); }
    /// When `path` lies under a slot family: records it in `slots`, brings the slot values of
    /// `values` (indexed by PathId) up to date and returns true; false for any other path. A new
    /// identifier renumbers the slots after it, so the whole family is projected again then.
    bool apply(ServiceSlots& slots, std::vector<codec::Value>& values, std::string_view path,
               const codec::Value& value) const;
    /// Recomputes every slot value of `values` from `slots` (a service carried over to a new map).
    void project(const ServiceSlots& slots, std::vector<codec::Value>& values) const;
    /// The D-Bus path slot path `path` stands for on the service: nullopt when `path` is no slot path,
    /// "" when the service has no identifier in that slot.
    [[nodiscard]] std::optional<std::string> concretePath(const ServiceSlots& slots,
                                                          regmap::PathId path) const;
    /// The rule applied, for diagnostics: "/SwitchableOutput/ 1=pwm_1 2=relay_1 3=relay_2"; families
    /// separated by "; "; empty when the service publishes none.
    [[nodiscard]] std::string describe(const ServiceSlots& slots) const;

  private:
    struct Template {
        unsigned slot;
        std::string rest;
        regmap::PathId id;
    };
    struct Family {
        std::string prefix;
        std::vector<Template> templates;
        std::set<std::string, std::less<>> rests;
    };
    void projectFamily(const Family& family, const ServiceSlots::Outputs* outputs,
                       std::vector<codec::Value>& values) const;

    std::vector<Family> families_;
    std::unordered_map<regmap::PathId, std::pair<std::size_t, std::size_t>> byPath_; ///< family, template
};

} // namespace vmd::core
