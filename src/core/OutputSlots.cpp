#include "core/OutputSlots.h"

#include <algorithm>

namespace vmd::core {

SlotResolver::SlotResolver(const regmap::RegisterMap& map, std::shared_ptr<SlotAssignment> assignment)
    : assignment_(std::move(assignment)) {
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

void SlotResolver::projectFamily(const Family& family, const ServiceSlots& slots,
                                 std::vector<codec::Value>& values, unsigned onlySlot) const {
    auto published = slots.families.find(family.prefix);
    for (const auto& t : family.templates) {
        if (t.id >= values.size() || (onlySlot != 0 && t.slot != onlySlot)) continue;
        codec::Value value;
        const std::string* id =
            slots.owner.empty() ? nullptr : assignment_->idAt(slots.owner, family.prefix, t.slot);
        if (id && published != slots.families.end()) {
            if (auto output = published->second.find(*id); output != published->second.end()) {
                if (t.rest.empty()) {
                    value = output->first;
                } else if (auto v = output->second.find(t.rest); v != output->second.end()) {
                    value = v->second;
                }
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
        if (slots.owner.empty()) return true; // projected when the service is bound
        if (isNew) {
            if (auto k = assignment_->assign(slots.owner, family.prefix, output->first))
                projectFamily(family, slots, values, k);
        } else if (named) {
            auto k = assignment_->slotOf(slots.owner, family.prefix, output->first);
            for (const auto& t : family.templates)
                if (k != 0 && t.slot == k && t.rest == rest && t.id < values.size()) values[t.id] = value;
        }
        return true;
    }
    return false;
}

void SlotResolver::bind(ServiceSlots& slots, std::vector<codec::Value>& values,
                        const std::string& owner) const {
    if (slots.owner == owner) return;
    slots.owner = owner;
    if (!owner.empty())
        for (const auto& family : families_)
            if (auto published = slots.families.find(family.prefix); published != slots.families.end())
                for (const auto& output : published->second) // natural order
                    assignment_->assign(owner, family.prefix, output.first);
    project(slots, values);
}

void SlotResolver::project(const ServiceSlots& slots, std::vector<codec::Value>& values) const {
    for (const auto& family : families_)
        projectFamily(family, slots, values);
}

std::optional<SlotTarget> SlotResolver::target(const ServiceSlots& slots, regmap::PathId path) const {
    auto at = byPath_.find(path);
    if (at == byPath_.end()) return std::nullopt;
    const auto& family = families_[at->second.first];
    const auto& t = family.templates[at->second.second];
    const std::string* id =
        slots.owner.empty() ? nullptr : assignment_->idAt(slots.owner, family.prefix, t.slot);
    if (!id) return SlotTarget{SlotTarget::State::Empty, {}};
    auto published = slots.families.find(family.prefix);
    if (published == slots.families.end() || published->second.count(*id) == 0)
        return SlotTarget{SlotTarget::State::Vacated, {}};
    return SlotTarget{SlotTarget::State::Present, family.prefix + *id + t.rest};
}

std::string SlotResolver::describe(const ServiceSlots& slots) const {
    std::string text;
    if (slots.owner.empty()) return text;
    for (const auto& family : families_) {
        const auto& held = assignment_->slots(slots.owner, family.prefix);
        if (held.empty()) continue;
        auto published = slots.families.find(family.prefix);
        if (!text.empty()) text += "; ";
        text += family.prefix;
        for (const auto& [k, id] : held) { // appended piece by piece: " " + std::string trips GCC 12's
            text += ' ';                   // -Wrestrict false positive at -O3 (GCC bug 105651)
            text += std::to_string(k);
            text += '=';
            bool present = published != slots.families.end() && published->second.count(id) != 0;
            if (!present) text += '(';
            text += id;
            if (!present) text += ')';
        }
    }
    return text;
}

} // namespace vmd::core
