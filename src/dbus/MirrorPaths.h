#pragma once

#include "regmap/RegisterMap.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vmd::dbus {

/// Which D-Bus paths the mirror keeps, decided before a value is decoded: for each service type the
/// paths its registers read (values and inputs), and for every service /DeviceInstance, the watched
/// paths and the paths under a slot family of the map (regmap/Slots.h). Paths are interned once, when
/// the map is bound, and looked up by string_view: no copy, no allocation per lookup. Built from the
/// map and the watched paths alone (pure), so a reload builds it off the event loop.
class MirrorPaths {
  public:
    /// What the mirror does with one path of one service.
    struct Kept {
        std::optional<regmap::PathId> id; ///< stored in ServiceState::values[*id]
        bool deviceInstance = false;      ///< /DeviceInstance: identifies the service
        bool watched = false;             ///< kept for BusMirror::watched()
        bool slot = false; ///< not a map path, under a slot family: ServiceIndex::applySlotValue
        [[nodiscard]] bool any() const { return id || deviceInstance || watched || slot; }
    };

    MirrorPaths() = default;
    MirrorPaths(const regmap::RegisterMap& map, const std::set<std::string>& watched);

    /// What to keep of `path` on a service of `type` (core::kUnmappedServiceType for a type the map
    /// does not know): nothing (any() false) for a path no register of the type reads.
    [[nodiscard]] Kept kept(regmap::ServiceTypeId type, std::string_view path) const;
    /// The paths a service of `type` needs read one by one (its registers' paths, /DeviceInstance, the
    /// watched paths), for a service that offers neither GetItems nor GetValue on "/".
    [[nodiscard]] std::vector<std::string> pathsOf(regmap::ServiceTypeId type) const;
    /// The watched paths it was built with.
    [[nodiscard]] const std::set<std::string>& watched() const { return watched_; }

  private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct Entry {
        std::optional<regmap::PathId> id;
        bool deviceInstance = false;
        bool watched = false;
    };
    [[nodiscard]] bool uses(regmap::ServiceTypeId type, regmap::PathId id) const;

    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
    std::vector<std::string> slotFamilies_; ///< prefixes, with their trailing slash
    std::size_t pathCount_ = 0;
    std::vector<bool> used_; ///< [type * pathCount_ + id]: a register of the type reads the path
    std::vector<std::vector<regmap::PathId>> byType_;
    std::vector<std::string> names_; ///< the map's paths, by PathId
    std::set<std::string> watched_;
};

} // namespace vmd::dbus
