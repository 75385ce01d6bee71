#include "core/ServiceIndex.h"

#include <algorithm>

namespace vmd::core {

ServiceState& ServiceIndex::add(const std::string& name) {
    remove(name);
    auto state = std::make_unique<ServiceState>();
    state->name = name;
    // com.victronenergy.<type>[.<suffix>]
    auto first = name.find('.');
    auto second = first == std::string::npos ? first : name.find('.', first + 1);
    if (second != std::string::npos) {
        auto end = name.find('.', second + 1);
        state->type = name.substr(second + 1, end == std::string::npos ? end : end - second - 1);
    }
    if (auto id = map_->serviceTypeId(state->type)) state->typeId = *id;
    state->values.resize(map_->paths().size());
    services_.push_back(std::move(state));
    reindex();
    return *services_.back();
}

void ServiceIndex::remove(const std::string& name) {
    auto it =
        std::find_if(services_.begin(), services_.end(), [&](const auto& s) { return s->name == name; });
    if (it == services_.end()) return;
    services_.erase(it);
    reindex();
}

ServiceState* ServiceIndex::find(const std::string& name) {
    auto it =
        std::find_if(services_.begin(), services_.end(), [&](const auto& s) { return s->name == name; });
    return it == services_.end() ? nullptr : it->get();
}

void ServiceIndex::reindex() {
    byKey_.clear();
    // Deterministic choice between two services at one (type, instance): the smaller bus name wins.
    for (const auto& s : services_) {
        if (s->typeId == kUnmappedServiceType || !s->ready) continue;
        auto [it, inserted] = byKey_.emplace(key(s->typeId, s->instance), s.get());
        if (!inserted && s->name < it->second->name) it->second = s.get();
    }
}

const ServiceState* ServiceIndex::resolve(regmap::ServiceTypeId type, regmap::UnitId unit) const {
    if (auto it = byKey_.find(key(type, unit)); it != byKey_.end()) return it->second;
    if (auto instance = map_->instanceForUnit(unit))
        if (auto it = byKey_.find(key(type, *instance)); it != byKey_.end()) return it->second;
    return nullptr;
}

std::unique_ptr<ServiceIndex> ServiceIndex::rebuiltFor(const regmap::RegisterMap& map) const {
    auto index = std::make_unique<ServiceIndex>(map);
    for (const auto& old : services_) {
        auto& s = index->add(old->name);
        s.instance = old->instance;
        s.hasInstance = old->hasInstance;
        s.ready = old->ready;
        for (regmap::PathId id = 0; id < old->values.size(); ++id)
            if (auto newId = map.pathId(map_->paths()[id])) s.values[*newId] = old->values[id];
    }
    index->reindex();
    return index;
}

std::vector<std::pair<std::string, std::string>> ServiceIndex::conflicts() const {
    std::vector<std::pair<std::string, std::string>> result;
    for (const auto& s : services_) {
        if (s->typeId == kUnmappedServiceType || !s->ready) continue;
        auto chosen = byKey_.at(key(s->typeId, s->instance));
        if (chosen != s.get()) result.emplace_back(chosen->name, s->name);
    }
    return result;
}

} // namespace vmd::core
