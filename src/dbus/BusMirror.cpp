#include "dbus/BusMirror.h"

#include "dbus/BusItem.h"

#include <spdlog/spdlog.h>

#include <set>

namespace vmd::dbus {

namespace {
constexpr const char* kDeviceInstance = "/DeviceInstance";
using Items = std::map<std::string, std::map<std::string, sdbus::Variant>>;

std::shared_ptr<spdlog::logger> log() {
    static auto logger = spdlog::get("dbus");
    return logger ? logger : spdlog::default_logger();
}
} // namespace

struct BusMirror::Tracked {
    std::string name;
    std::string owner;
    bool initial = false;
    bool loaded = false;
    std::size_t pendingPathCalls = 0;
    std::unique_ptr<sdbus::IProxy> root;
    std::vector<std::unique_ptr<sdbus::IProxy>> pathProxies;
};

BusMirror::BusMirror(sdbus::IConnection& connection, core::ServiceIndex& index)
    : connection_(connection), index_(&index) {
    indexPaths();
}

void BusMirror::indexPaths() {
    pathsByType_.clear();
    const auto& map = index_->map();
    std::map<regmap::ServiceTypeId, std::set<regmap::PathId>> paths;
    for (const auto& reg : map.registers()) {
        paths[reg.service].insert(reg.paths.begin(), reg.paths.end());
        paths[reg.service].insert(reg.inputs.begin(), reg.inputs.end());
    }
    for (auto& [type, set] : paths)
        pathsByType_[type].assign(set.begin(), set.end());
}

BusMirror::~BusMirror() = default;

void BusMirror::rebind(core::ServiceIndex& index) {
    index_ = &index;
    indexPaths();
    for (auto& [name, tracked] : tracked_)
        if (tracked->loaded) load(*tracked);
}

void BusMirror::start() {
    // Match rules before the scan, so that nothing changes unseen in between.
    matches_.push_back(connection_.addMatch("type='signal',sender='org.freedesktop.DBus',interface='org."
                                            "freedesktop.DBus',member='NameOwnerChanged',"
                                            "arg0namespace='com.victronenergy'",
                                            [this](sdbus::Message& m) { onNameOwnerChanged(m); }));
    matches_.push_back(connection_.addMatch(std::string("type='signal',interface='") + kBusItemInterface +
                                                "',member='ItemsChanged'",
                                            [this](sdbus::Message& m) { onItemsChanged(m); }));
    matches_.push_back(connection_.addMatch(std::string("type='signal',interface='") + kBusItemInterface +
                                                "',member='PropertiesChanged'",
                                            [this](sdbus::Message& m) { onPropertiesChanged(m); }));

    busProxy_ = sdbus::createProxy(connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    std::vector<std::string> names;
    busProxy_->callMethod("ListNames").onInterface("org.freedesktop.DBus").storeResultsTo(names);
    for (const auto& name : names) {
        if (name.rfind(kServicePrefix, 0) != 0 || name == kOwnServiceName) continue;
        ++initialPending_;
        busProxy_->callMethodAsync("GetNameOwner")
            .onInterface("org.freedesktop.DBus")
            .withArguments(name)
            .uponReplyInvoke([this, name](const sdbus::Error* error, std::string owner) {
                if (error) { // gone between ListNames and now
                    --initialPending_;
                    return;
                }
                discovered(name, owner, true);
            });
    }
    log()->info("found {} com.victronenergy services on the bus", initialPending_);
}

void BusMirror::discovered(const std::string& name, const std::string& owner, bool initial) {
    if (tracked_.count(name)) vanished(name);
    auto tracked = std::make_unique<Tracked>();
    tracked->name = name;
    tracked->owner = owner;
    tracked->initial = initial;
    byOwner_.emplace(owner, name);
    auto& ref = *tracked;
    tracked_[name] = std::move(tracked);
    auto& state = index_->add(name);
    state.ready = false;
    load(ref);
}

void BusMirror::vanished(const std::string& name) {
    auto it = tracked_.find(name);
    if (it == tracked_.end()) return;
    auto range = byOwner_.equal_range(it->second->owner);
    for (auto o = range.first; o != range.second; ++o)
        if (o->second == name) {
            byOwner_.erase(o);
            break;
        }
    if (it->second->initial && !it->second->loaded) --initialPending_;
    graveyard_.push_back(std::move(it->second)); // may be inside one of its own callbacks
    tracked_.erase(it);
    index_->remove(name);
    bool hadWatched = false;
    for (auto w = watchedValues_.begin(); w != watchedValues_.end();)
        if (w->first.first == name) {
            w = watchedValues_.erase(w);
            hadWatched = true;
        } else {
            ++w;
        }
    log()->info("service left: {}", name);
    if (hadWatched && onWatchedChange) onWatchedChange();
}

void BusMirror::load(Tracked& tracked) {
    tracked.root = sdbus::createProxy(connection_, tracked.name, "/");
    const std::string name = tracked.name;
    tracked.root->callMethodAsync("GetItems")
        .onInterface(kBusItemInterface)
        .uponReplyInvoke([this, name](const sdbus::Error* error, Items items) {
            auto it = tracked_.find(name);
            if (it == tracked_.end()) return;
            if (error) {
                log()->debug("{}: GetItems failed ({}), trying GetValue on /", name, error->getName());
                return loadByRootGetValue(*it->second);
            }
            if (auto state = index_->find(name))
                for (const auto& [path, properties] : items)
                    if (auto value = properties.find("Value"); value != properties.end())
                        applyValue(*state, path, value->second);
            finishLoad(*it->second);
        });
}

void BusMirror::loadByRootGetValue(Tracked& tracked) {
    const std::string name = tracked.name;
    tracked.root->callMethodAsync("GetValue")
        .onInterface(kBusItemInterface)
        .uponReplyInvoke([this, name](const sdbus::Error* error, sdbus::Variant all) {
            auto it = tracked_.find(name);
            if (it == tracked_.end()) return;
            if (error || all.peekValueType() != "a{sv}") {
                log()->debug("{}: no dict GetValue on /, reading path by path", name);
                return loadPerPath(*it->second);
            }
            if (auto state = index_->find(name))
                for (const auto& [key, value] : all.get<std::map<std::string, sdbus::Variant>>())
                    applyValue(*state, "/" + key, value);
            finishLoad(*it->second);
        });
}

void BusMirror::loadPerPath(Tracked& tracked) {
    auto state = index_->find(tracked.name);
    if (!state) return;
    std::vector<std::string> paths{kDeviceInstance};
    paths.insert(paths.end(), watchedPaths_.begin(), watchedPaths_.end());
    if (auto it = pathsByType_.find(state->typeId); it != pathsByType_.end())
        for (auto id : it->second)
            paths.push_back(index_->map().paths()[id]);
    tracked.pendingPathCalls = paths.size();
    const std::string name = tracked.name;
    for (const auto& path : paths) {
        auto& proxy = tracked.pathProxies.emplace_back(sdbus::createProxy(connection_, name, path));
        proxy->callMethodAsync("GetValue")
            .onInterface(kBusItemInterface)
            .uponReplyInvoke([this, name, path](const sdbus::Error* error, sdbus::Variant value) {
                auto it = tracked_.find(name);
                if (it == tracked_.end()) return;
                if (!error)
                    if (auto s = index_->find(name)) applyValue(*s, path, value);
                if (--it->second->pendingPathCalls == 0) finishLoad(*it->second);
            });
    }
}

void BusMirror::finishLoad(Tracked& tracked) {
    if (tracked.loaded) return;
    tracked.loaded = true;
    if (tracked.initial) --initialPending_;
    if (auto state = index_->find(tracked.name)) {
        state->ready = true;
        index_->reindex();
        log()->info("service online: {} (instance {})", tracked.name,
                    state->hasInstance ? std::to_string(state->instance) : "none, counts as 0");
    }
    if (onWatchedChange) onWatchedChange();
}

const codec::Value* BusMirror::watched(const std::string& service, const std::string& path) const {
    auto it = watchedValues_.find({service, path});
    return it == watchedValues_.end() ? nullptr : &it->second;
}

bool BusMirror::loaded(const std::string& service) const {
    auto it = tracked_.find(service);
    return it != tracked_.end() && it->second->loaded;
}

void BusMirror::applyValue(core::ServiceState& state, const std::string& path,
                           const sdbus::Variant& variant) {
    if (watchedPaths_.count(path)) {
        watchedValues_[{state.name, path}] = fromVariant(variant);
        if (onWatchedChange) onWatchedChange();
    }
    if (path == kDeviceInstance) {
        auto value = fromVariant(variant);
        std::optional<regmap::DeviceInstance> instance;
        if (auto p = std::get_if<std::int64_t>(&value); p && *p >= 0)
            instance = static_cast<regmap::DeviceInstance>(*p);
        if (auto p = std::get_if<std::uint64_t>(&value)) instance = static_cast<regmap::DeviceInstance>(*p);
        if (instance.value_or(0) != state.instance || instance.has_value() != state.hasInstance) {
            state.instance = instance.value_or(0);
            state.hasInstance = instance.has_value();
            if (state.ready) index_->reindex();
        }
    }
    if (auto id = index_->map().pathId(path))
        state.values[*id] = fromVariant(variant);
    else
        index_->applySlotValue(state, path, fromVariant(variant));
}

void BusMirror::onItemsChanged(sdbus::Message& message) {
    auto owners = byOwner_.equal_range(message.getSender());
    if (owners.first == owners.second || message.getPath() != "/") return;
    Items items;
    try {
        message >> items;
    } catch (const sdbus::Error& e) {
        log()->warn("malformed ItemsChanged from {}: {}", message.getSender(), e.getMessage());
        return;
    }
    for (auto o = owners.first; o != owners.second; ++o)
        if (auto state = index_->find(o->second))
            for (const auto& [path, properties] : items)
                if (auto value = properties.find("Value"); value != properties.end())
                    applyValue(*state, path, value->second);
}

void BusMirror::onPropertiesChanged(sdbus::Message& message) {
    auto owners = byOwner_.equal_range(message.getSender());
    if (owners.first == owners.second) return;
    std::map<std::string, sdbus::Variant> properties;
    try {
        message >> properties;
    } catch (const sdbus::Error& e) {
        log()->warn("malformed PropertiesChanged from {}: {}", message.getSender(), e.getMessage());
        return;
    }
    auto value = properties.find("Value");
    if (value == properties.end()) return;
    const auto path = message.getPath();
    for (auto o = owners.first; o != owners.second; ++o)
        if (auto state = index_->find(o->second)) applyValue(*state, path, value->second);
}

void BusMirror::onNameOwnerChanged(sdbus::Message& message) {
    std::string name, oldOwner, newOwner;
    message >> name >> oldOwner >> newOwner;
    collectGarbage();
    if (name.rfind(kServicePrefix, 0) != 0 || name == kOwnServiceName) return;
    if (!oldOwner.empty()) vanished(name);
    if (!newOwner.empty()) discovered(name, newOwner, false);
}

void BusMirror::collectGarbage() {
    graveyard_.clear();
}

} // namespace vmd::dbus
