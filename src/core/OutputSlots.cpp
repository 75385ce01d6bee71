#include "core/OutputSlots.h"

#include <algorithm>

namespace vmd::core {

SlotResolver::SlotResolver(const regmap::RegisterMap& map) {
    const auto& paths = map.paths();
    for (regmap::PathId id = 0; id < paths.size(); ++id) {
        auto slot = regmap::parseSlotPath(paths[id]);
        if (!slot) continue;
        auto family = std::find_if(families_.begin(), families_.end(),
                                   [&](const Family& f) { return f.prefix == slot->family; });
        if (family == families_.end())
            family = families_.insert(families_.end(), Family{slot->family, {}, {}});
        family->rests.insert(slot->rest);
        byPath_[id] = {static_cast<std::size_t>(family - families_.begin()), family->templates.size()};
        family->templates.push_back({slot->slot, slot->rest, id});
    }
}

void SlotResolver::projectFamily(const Family& family, const ServiceSlots::Outputs* outputs,
                                 std::vector<codec::Value>& values) const {
    for (const auto& t : family.templates) {
        if (t.id >= values.size()) continue;
        codec::Value value;
        if (outputs && t.slot <= outputs->size()) {
            auto output = std::next(outputs->begin(), static_cast<std::ptrdiff_t>(t.slot - 1));
            if (t.rest.empty()) {
                value = output->first;
            } else if (auto v = output->second.find(t.rest); v != output->second.end()) {
                value = v->second;
            }
        }
        values[t.id] = std::move(value);
    }
}

bool SlotResolver::apply(ServiceSlots& slots, std::vector<codec::Value>& values, std::string_view path,
                         const codec::Value& value) const {
    for (const auto& family : families_) {
        if (path.size() <= family.prefix.size() || path.substr(0, family.prefix.size()) != family.prefix)
            continue;
        auto remainder = path.substr(family.prefix.size());
        auto slash = remainder.find('/');
        auto id = remainder.substr(0, slash);
        auto rest = slash == std::string_view::npos ? std::string_view() : remainder.substr(slash);
        if (id.empty()) return false;
        auto& outputs = slots.families[family.prefix];
        auto [output, isNew] = outputs.try_emplace(std::string(id));
        bool named = !rest.empty() && family.rests.count(rest) != 0;
        if (named) output->second[std::string(rest)] = value;
        if (isNew) {
            projectFamily(family, &outputs, values);
        } else if (named) {
            auto k = static_cast<unsigned>(std::distance(outputs.begin(), output)) + 1;
            for (const auto& t : family.templates)
                if (t.slot == k && t.rest == rest && t.id < values.size()) values[t.id] = value;
        }
        return true;
    }
    return false;
}

void SlotResolver::project(const ServiceSlots& slots, std::vector<codec::Value>& values) const {
    for (const auto& family : families_) {
        auto it = slots.families.find(family.prefix);
        projectFamily(family, it == slots.families.end() ? nullptr : &it->second, values);
    }
}

std::optional<std::string> SlotResolver::concretePath(const ServiceSlots& slots, regmap::PathId path) const {
    auto at = byPath_.find(path);
    if (at == byPath_.end()) return std::nullopt;
    const auto& family = families_[at->second.first];
    const auto& t = family.templates[at->second.second];
    auto it = slots.families.find(family.prefix);
    if (it == slots.families.end() || t.slot > it->second.size()) return std::string();
    auto output = std::next(it->second.begin(), static_cast<std::ptrdiff_t>(t.slot - 1));
    return family.prefix + output->first + t.rest;
}

std::string SlotResolver::describe(const ServiceSlots& slots) const {
    std::string text;
    for (const auto& [prefix, outputs] : slots.families) {
        if (outputs.empty()) continue;
        if (!text.empty()) text += "; ";
        text += prefix;
        unsigned k = 0;
        for (const auto& output : outputs) { // appended piece by piece: " " + std::string trips GCC 12's
            text += ' ';                     // -Wrestrict false positive at -O3 (GCC bug 105651)
            text += std::to_string(++k);
            text += '=';
            text += output.first;
        }
    }
    return text;
}

} // namespace vmd::core
