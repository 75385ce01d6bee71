#include "dbus/MirrorPaths.h"

#include "regmap/Slots.h"

#include <algorithm>

namespace vmd::dbus {

namespace {
constexpr std::string_view kDeviceInstance = "/DeviceInstance";
}

MirrorPaths::MirrorPaths(const regmap::RegisterMap& map, const std::set<std::string>& watched)
    : pathCount_(map.paths().size()), names_(map.paths()), watched_(watched) {
    const auto types = map.serviceTypes().size();
    used_.assign(types * pathCount_, false);
    byType_.resize(types);
    for (const auto& reg : map.registers()) {
        if (reg.service >= types) continue;
        for (const auto* ids : {&reg.paths, &reg.inputs})
            for (auto id : *ids)
                if (id < pathCount_ && !used_[reg.service * pathCount_ + id]) {
                    used_[reg.service * pathCount_ + id] = true;
                    byType_[reg.service].push_back(id);
                }
    }
    for (auto& ids : byType_)
        std::sort(ids.begin(), ids.end());
    for (regmap::PathId id = 0; id < pathCount_; ++id) {
        entries_[map.paths()[id]].id = id;
        if (auto slot = regmap::parseSlotPath(map.paths()[id]);
            slot &&
            std::find(slotFamilies_.begin(), slotFamilies_.end(), slot->family) == slotFamilies_.end())
            slotFamilies_.push_back(slot->family);
    }
    entries_[std::string(kDeviceInstance)].deviceInstance = true;
    for (const auto& path : watched)
        entries_[path].watched = true;
}

bool MirrorPaths::uses(regmap::ServiceTypeId type, regmap::PathId id) const {
    return type < byType_.size() && id < pathCount_ && used_[type * pathCount_ + id];
}

MirrorPaths::Kept MirrorPaths::kept(regmap::ServiceTypeId type, std::string_view path) const {
    Kept k;
    const auto it = entries_.find(path);
    if (it != entries_.end()) {
        if (it->second.id && uses(type, *it->second.id)) k.id = it->second.id;
        k.deviceInstance = it->second.deviceInstance;
        k.watched = it->second.watched;
    }
    if (it == entries_.end() || !it->second.id) // a path the map names is never a concrete slot path
        k.slot = std::any_of(slotFamilies_.begin(), slotFamilies_.end(), [&](const std::string& family) {
            return path.substr(0, family.size()) == family;
        });
    return k;
}

std::vector<std::string> MirrorPaths::pathsOf(regmap::ServiceTypeId type) const {
    std::set<std::string> paths{std::string(kDeviceInstance)};
    paths.insert(watched_.begin(), watched_.end());
    if (type < byType_.size())
        for (auto id : byType_[type])
            paths.insert(names_[id]);
    return {paths.begin(), paths.end()};
}

} // namespace vmd::dbus
