#include "core/ServiceIndex.h"

#include <algorithm>
#include <tuple>

namespace vmd::core {

namespace {
const std::vector<std::string>& typeCodes() {
    static const std::vector<std::string> codes = {
        "",         "system",     "settings",     "hub4",         "platform",    "vebus",      "multi",
        "acsystem", "inverter",   "battery",      "solarcharger", "dcdc",        "pvinverter", "charger",
        "grid",     "genset",     "dcgenset",     "acload",       "temperature", "tank",       "gps",
        "meteo",    "pulsemeter", "digitalinput", "generator",    "vecan",       "alternator", "dcsource",
        "fuelcell", "motordrive", "dcsystem",     "dcload",       "evcharger",   "heatpump",   "switch",
        "rvc",      "pump",
    };
    return codes;
}
} // namespace

bool instancelessType(const std::string& type) {
    return type == "system" || type == "settings" || type == "hub4" || type == "platform" || type == "pump" ||
           type == "generator";
}

bool ServiceIndex::identified(const ServiceState& s) {
    return s.ready && (s.hasInstance || instancelessType(s.type));
}

std::string serviceTypeName(std::uint16_t code) {
    return code > 0 && code < typeCodes().size() ? typeCodes()[code] : std::string();
}

std::uint16_t serviceTypeCode(const std::string& type) {
    const auto& codes = typeCodes();
    auto it = std::find(codes.begin() + 1, codes.end(), type);
    return it == codes.end() ? std::uint16_t{0xFFFF} : static_cast<std::uint16_t>(it - codes.begin());
}

ServiceState& ServiceIndex::add(const std::string& name) {
    auto& state = addLoading(name);
    state.ready = true;
    reindex();
    return state;
}

ServiceState& ServiceIndex::addLoading(const std::string& name) {
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
    state->ready = false;
    services_.push_back(std::move(state));
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
        if (s->typeId == kUnmappedServiceType || !identified(*s)) continue;
        auto [it, inserted] = byKey_.emplace(key(s->typeId, s->instance), s.get());
        if (!inserted && s->name < it->second->name) it->second = s.get();
    }
    // The services served get their output slots; one that loses a type-instance conflict fills none.
    for (const auto& s : services_)
        if (s->typeId != kUnmappedServiceType && identified(*s) &&
            byKey_.at(key(s->typeId, s->instance)) == s.get())
            slots_.bind(s->slots, s->values, slotOwner(*s));
    discovery_.clear();
    for (const auto& s : services_) {
        if (!identified(*s)) continue;
        DiscoveryEntry e;
        e.typeCode = serviceTypeCode(s->type);
        e.instance = static_cast<std::uint16_t>(std::min<regmap::DeviceInstance>(s->instance, 0xFFFF));
        auto mapped = map_->unitForInstance(s->instance);
        if (mapped)
            e.unit = *mapped;
        else if (s->instance <= 247)
            e.unit = static_cast<std::uint16_t>(s->instance);
        if (e.unit != 0xFFFF && s->typeId != kUnmappedServiceType)
            e.flags = resolve(s->typeId, static_cast<regmap::UnitId>(e.unit)) == s.get() ? 1 : 0;
        discovery_.push_back(e);
    }
    std::sort(discovery_.begin(), discovery_.end(), [](const DiscoveryEntry& a, const DiscoveryEntry& b) {
        return std::tie(a.typeCode, a.instance) < std::tie(b.typeCode, b.instance);
    });
}

const ServiceState* ServiceIndex::resolve(regmap::ServiceTypeId type, regmap::UnitId unit) const {
    if (auto it = byKey_.find(key(type, unit)); it != byKey_.end()) return it->second;
    if (auto instance = map_->instanceForUnit(unit))
        if (auto it = byKey_.find(key(type, *instance)); it != byKey_.end()) return it->second;
    return nullptr;
}

std::unique_ptr<ServiceIndex> ServiceIndex::rebuiltFor(const regmap::RegisterMap& map) const {
    return rebuiltFor(planRebuild(*map_, map));
}

RebuildPlan ServiceIndex::planRebuild(const regmap::RegisterMap& from, const regmap::RegisterMap& to) {
    RebuildPlan plan;
    plan.from = &from;
    plan.index = std::make_unique<ServiceIndex>(to);
    plan.paths.reserve(from.paths().size());
    for (const auto& path : from.paths())
        plan.paths.push_back(to.pathId(path));
    return plan;
}

std::unique_ptr<ServiceIndex> ServiceIndex::rebuiltFor(RebuildPlan plan) const {
    if (plan.from != map_) plan = planRebuild(*map_, plan.index->map());
    auto index = std::move(plan.index);
    // The output slot assignment is the daemon's, shared by every map a reload goes through.
    index->slots_ = SlotResolver(index->map(), slots_.assignment());
    for (const auto& old : services_) {
        auto& s = index->addLoading(old->name);
        s.instance = old->instance;
        s.hasInstance = old->hasInstance;
        s.ready = old->ready;
        for (regmap::PathId id = 0; id < old->values.size(); ++id)
            if (const auto& newId = plan.paths[id]) s.values[*newId] = old->values[id];
        s.slots = old->slots;
        index->slots_.project(s.slots, s.values);
    }
    index->reindex();
    return index;
}

SlotTarget ServiceIndex::writeTarget(const ServiceState& state, regmap::PathId path) const {
    if (auto slot = slots_.target(state.slots, path)) return *slot;
    return {SlotTarget::State::Present, map_->paths()[path]};
}

std::string ServiceIndex::slotOwner(const ServiceState& state) {
    return state.hasInstance ? state.type + ":" + std::to_string(state.instance) : state.name;
}

std::vector<std::pair<std::string, std::string>> ServiceIndex::conflicts() const {
    std::vector<std::pair<std::string, std::string>> result;
    for (const auto& s : services_) {
        if (s->typeId == kUnmappedServiceType || !identified(*s)) continue;
        auto chosen = byKey_.at(key(s->typeId, s->instance));
        if (chosen != s.get()) result.emplace_back(chosen->name, s->name);
    }
    return result;
}

} // namespace vmd::core
