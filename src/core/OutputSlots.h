#pragma once

#include "codec/Value.h"
#include "core/SlotAssignment.h"
#include "regmap/RegisterMap.h"
#include "regmap/Slots.h"

#include <map>
#include <memory>
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
    std::string owner; ///< whose slots it fills (SlotAssignment); "" until the service is identified
};

/// Where a write to a slot path goes.
struct SlotTarget {
    enum class State {
        Present, ///< the output holding the slot is published: `path` is its D-Bus path
        Empty,   ///< no output holds the slot (yet)
        Vacated, ///< held for an output the service does not publish now: refused until it returns
    };
    State state = State::Empty;
    std::string path;
};

/// Resolves the slot paths of one map: slot k of a family holds the identifier the SlotAssignment gave
/// slot k for the service's owner; a service's identifiers without a slot get one when the service is
/// bound to its owner (in natural order) or when they appear later (the lowest free one). Pure: the
/// ServiceIndex keeps one per map; the assignment is shared by the maps a reload goes through.
class SlotResolver {
  public:
    SlotResolver(const regmap::RegisterMap& map, std::shared_ptr<SlotAssignment> assignment);

    [[nodiscard]] bool empty() const { return families_.empty(); }
    [[nodiscard]] const std::shared_ptr<SlotAssignment>& assignment() const { return assignment_; }
    /// When `path` lies under a slot family: records it in `slots`, brings the slot values of
    /// `values` (indexed by PathId) up to date and returns true; false for any other path. A new
    /// identifier of a bound service takes a slot then.
    bool apply(ServiceSlots& slots, std::vector<codec::Value>& values, std::string_view path,
               const codec::Value& value) const;
    /// Makes `owner` the owner of `slots` (nothing when it is already): every identifier without a
    /// slot gets one, in natural order, and the slot values of `values` are projected again.
    void bind(ServiceSlots& slots, std::vector<codec::Value>& values, const std::string& owner) const;
    /// Recomputes every slot value of `values` from `slots` (a service carried over to a new map).
    void project(const ServiceSlots& slots, std::vector<codec::Value>& values) const;
    /// Where a write to `path` goes on the service: nullopt when `path` is no slot path.
    [[nodiscard]] std::optional<SlotTarget> target(const ServiceSlots& slots, regmap::PathId path) const;
    /// The slots of the service, for diagnostics: "/SwitchableOutput/ 1=pwm_1 2=relay_1 3=(relay_9)",
    /// an identifier in parentheses holding a slot while the service does not publish it; families
    /// separated by "; "; empty when it has none.
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
    void projectFamily(const Family& family, const ServiceSlots& slots, std::vector<codec::Value>& values,
                       unsigned onlySlot = 0) const;

    std::shared_ptr<SlotAssignment> assignment_;
    std::vector<Family> families_;
    std::unordered_map<regmap::PathId, std::pair<std::size_t, std::size_t>> byPath_; ///< family, template
};

} // namespace vmd::core
