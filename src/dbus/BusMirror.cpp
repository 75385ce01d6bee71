#include "dbus/BusMirror.h"

#include "dbus/BusItem.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-bus.h>

#include <cstring>
#include <limits>
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
    std::string owner; ///< the unique name that owns `name`: replies of any other are dropped
    bool initial = false;
    bool initialCounted = false; ///< counted down in initialPending_ (loaded or first load failed)
    bool loaded = false;
    std::uint64_t load = 0;   ///< the load in progress: replies of an earlier one are dropped
    unsigned failedLoads = 0; ///< loads in a row that read nothing
    std::size_t pendingPathCalls = 0;
    std::size_t pathValues = 0;          ///< values read by the per-path load in progress
    core::ServiceState* state = nullptr; ///< its entry in the index (set on discovery and on rebind)
    std::unique_ptr<sdbus::IProxy> root;
    std::map<std::string, std::unique_ptr<sdbus::IProxy>> pathProxies; ///< one per path, reused
};

BusMirror::BusMirror(sdbus::IConnection& connection, core::ServiceIndex& index)
    : connection_(connection), index_(&index) {
    indexPaths();
}

void BusMirror::indexPaths() {
    paths_ = MirrorPaths(index_->map(), watchedPaths_);
}

void BusMirror::watch(const std::string& path) {
    watchedPaths_.insert(path);
    indexPaths();
}

BusMirror::~BusMirror() = default;

void BusMirror::rebind(core::ServiceIndex& index) {
    rebind(index, MirrorPaths(index.map(), watchedPaths_));
}

void BusMirror::rebind(core::ServiceIndex& index, MirrorPaths paths) {
    index_ = &index;
    // Made off the loop by a reload with the watched paths of then; one watched since is added here.
    paths_ = paths.watched() == watchedPaths_ ? std::move(paths) : MirrorPaths(index.map(), watchedPaths_);
    for (auto& [name, tracked] : tracked_)
        tracked->state = index_->find(name);
    // Every service is read again, those still loading too: their load in progress was made for the
    // old map's paths; its replies are dropped from now on.
    for (auto& [name, tracked] : tracked_)
        load(*tracked);
}

void BusMirror::start() {
    // Match rules before the scan, so that nothing changes unseen in between.
    matches_.push_back(connection_.addMatch("type='signal',sender='org.freedesktop.DBus',interface='org."
                                            "freedesktop.DBus',member='NameOwnerChanged',"
                                            "arg0namespace='com.victronenergy'",
                                            [this](sdbus::Message& m) { onNameOwnerChanged(m); }));
    // ItemsChanged counts only on "/" (DESIGN section 2): the bus daemon drops the others for us.
    matches_.push_back(connection_.addMatch(std::string("type='signal',interface='") + kBusItemInterface +
                                                "',member='ItemsChanged',path='/'",
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
    lastTracked_ = nullptr;
    if (tracked_.count(name)) vanished(name);
    auto tracked = std::make_unique<Tracked>();
    tracked->name = name;
    tracked->owner = owner;
    tracked->initial = initial;
    byOwner_.emplace(owner, name);
    auto& ref = *tracked;
    tracked_[name] = std::move(tracked);
    ref.state = &index_->addLoading(name); // not served, not listed, hides nobody until loaded
    load(ref);
    if (onWatchedChange) onWatchedChange();
}

void BusMirror::vanished(const std::string& name) {
    lastTracked_ = nullptr;
    auto it = tracked_.find(name);
    if (it == tracked_.end()) return;
    auto range = byOwner_.equal_range(it->second->owner);
    for (auto o = range.first; o != range.second; ++o)
        if (o->second == name) {
            byOwner_.erase(o);
            break;
        }
    if (it->second->initial && !it->second->initialCounted) --initialPending_;
    graveyard_.push_back(std::move(it->second)); // may be inside one of its own callbacks
    tracked_.erase(it);
    index_->remove(name);
    for (auto w = watchedValues_.begin(); w != watchedValues_.end();)
        w = w->first.first == name ? watchedValues_.erase(w) : std::next(w);
    log()->info("service left: {}", name);
    if (onWatchedChange) onWatchedChange();
}

BusMirror::Tracked* BusMirror::current(const std::string& name, const std::string& owner,
                                       std::uint64_t load) {
    auto it = tracked_.find(name);
    if (it == tracked_.end() || it->second->owner != owner || it->second->load != load) {
        log()->debug("{}: dropping a late reply from {}", name, owner);
        return nullptr;
    }
    return it->second.get();
}

void BusMirror::load(Tracked& tracked) {
    if (!tracked.root) tracked.root = sdbus::createProxy(connection_, tracked.name, "/");
    tracked.load = ++lastLoad_;
    tracked.pendingPathCalls = 0;
    tracked.root->callMethodAsync("GetItems")
        .onInterface(kBusItemInterface)
        .uponReplyInvoke([this, name = tracked.name, owner = tracked.owner,
                          load = tracked.load](const sdbus::Error* error, Items items) {
            auto* t = current(name, owner, load);
            if (!t) return;
            if (error) {
                log()->debug("{}: GetItems failed ({}), trying GetValue on /", name, error->getName());
                return loadByRootGetValue(*t);
            }
            if (items.empty()) return loadFailed(*t);
            if (auto state = index_->find(name))
                for (const auto& [path, properties] : items)
                    if (auto value = properties.find("Value"); value != properties.end())
                        applyValue(*state, path, value->second);
            forgetUnlisted(name, [&items](const std::string& path) { return items.count(path) != 0; });
            finishLoad(*t);
        });
}

void BusMirror::loadByRootGetValue(Tracked& tracked) {
    tracked.root->callMethodAsync("GetValue")
        .onInterface(kBusItemInterface)
        .uponReplyInvoke([this, name = tracked.name, owner = tracked.owner,
                          load = tracked.load](const sdbus::Error* error, sdbus::Variant all) {
            auto* t = current(name, owner, load);
            if (!t) return;
            if (error || all.peekValueType() != "a{sv}") {
                log()->debug("{}: no dict GetValue on /, reading path by path", name);
                return loadPerPath(*t);
            }
            auto values = all.get<std::map<std::string, sdbus::Variant>>();
            if (values.empty()) return loadFailed(*t);
            if (auto state = index_->find(name))
                for (const auto& [key, value] : values)
                    applyValue(*state, "/" + key, value);
            forgetUnlisted(name,
                           [&values](const std::string& path) { return values.count(path.substr(1)) != 0; });
            finishLoad(*t);
        });
}

sdbus::IProxy& BusMirror::pathProxy(Tracked& tracked, const std::string& path) {
    auto& proxy = tracked.pathProxies[path];
    if (!proxy) proxy = sdbus::createProxy(connection_, tracked.name, path);
    return *proxy;
}

void BusMirror::loadPerPath(Tracked& tracked) {
    auto state = index_->find(tracked.name);
    if (!state) return;
    const auto paths = paths_.pathsOf(state->typeId);
    tracked.pendingPathCalls = paths.size();
    tracked.pathValues = 0;
    for (const auto& path : paths)
        pathProxy(tracked, path); // made (or reused) first, so that the line below counts them
    log()->debug("{}: reading {} paths one by one ({} path proxies)", tracked.name, paths.size(),
                 tracked.pathProxies.size());
    for (const auto& path : paths)
        pathProxy(tracked, path)
            .callMethodAsync("GetValue")
            .onInterface(kBusItemInterface)
            .uponReplyInvoke([this, name = tracked.name, owner = tracked.owner, load = tracked.load,
                              path](const sdbus::Error* error, sdbus::Variant value) {
                auto* t = current(name, owner, load);
                if (!t) return;
                if (!error) {
                    ++t->pathValues;
                    if (auto s = index_->find(name)) applyValue(*s, path, value);
                } else if (watchedPaths_.count(path)) {
                    watchedReadFailed(*t, path, *error);
                }
                if (--t->pendingPathCalls > 0) return;
                if (t->pathValues == 0) return loadFailed(*t);
                finishLoad(*t);
            });
}

void BusMirror::loadFailed(Tracked& tracked) {
    if (tracked.initial && !tracked.initialCounted) { // start-up does not wait for the retries
        tracked.initialCounted = true;
        --initialPending_;
    }
    if (tracked.loaded) return; // a reload (rebind) that read nothing: the values it had stand
    const auto delay = std::chrono::milliseconds(1000) * (1u << std::min(tracked.failedLoads, 5u));
    ++tracked.failedLoads;
    log()->warn("{}: every read failed (attempt {}): not served; trying again in {} s", tracked.name,
                tracked.failedLoads, delay.count() / 1000);
    if (!schedule_) return;
    schedule_(delay, [this, name = tracked.name, owner = tracked.owner, load = tracked.load] {
        if (auto* t = current(name, owner, load); t && !t->loaded) this->load(*t);
    });
}

void BusMirror::finishLoad(Tracked& tracked) {
    if (tracked.loaded) return;
    tracked.loaded = true;
    tracked.failedLoads = 0;
    if (tracked.initial && !tracked.initialCounted) {
        tracked.initialCounted = true;
        --initialPending_;
    }
    if (auto state = index_->find(tracked.name)) {
        state->ready = true;
        index_->reindex();
        if (state->hasInstance)
            log()->info("service online: {} (instance {})", tracked.name, state->instance);
        else if (core::instancelessType(state->type))
            log()->info("service online: {} (no /DeviceInstance: instance 0, as its type has none)",
                        tracked.name);
        else
            log()->warn("service online: {}, but not served: no valid /DeviceInstance", tracked.name);
    }
    if (onWatchedChange) onWatchedChange();
}

const BusMirror::WatchedRead* BusMirror::watched(const std::string& service, const std::string& path) const {
    auto it = watchedValues_.find({service, path});
    return it == watchedValues_.end() ? nullptr : &it->second;
}

void BusMirror::forgetUnlisted(const std::string& name,
                               const std::function<bool(const std::string&)>& listed) {
    bool forgot = false;
    for (const auto& path : watchedPaths_)
        if (!listed(path)) forgot = watchedValues_.erase({name, path}) != 0 || forgot;
    if (forgot && onWatchedChange) onWatchedChange();
}

void BusMirror::watchedReadFailed(Tracked& tracked, const std::string& path, const sdbus::Error& error) {
    // The service answering that it has no such item is an answer: the path is not published. Any
    // other error (a failure, a timeout, no reply) leaves its value unknown until a read succeeds.
    const auto& kind = error.getName();
    if (kind == "org.freedesktop.DBus.Error.UnknownObject" ||
        kind == "org.freedesktop.DBus.Error.UnknownMethod" ||
        kind == "org.freedesktop.DBus.Error.UnknownInterface") {
        if (watchedValues_.erase({tracked.name, path}) && onWatchedChange) onWatchedChange();
        return;
    }
    auto& watched = watchedValues_[{tracked.name, path}];
    watched.value = codec::Value{};
    watched.readError = kind + ": " + error.getMessage();
    const auto delay = std::chrono::milliseconds(1000) * (1u << std::min(watched.failedReads, 5u));
    const unsigned failedReads = ++watched.failedReads;
    // Debug: whoever watches the path says what it means (a service that is not loaded has its own).
    log()->debug("{} {}: read failed ({}), attempt {}: unknown; trying again in {} s", tracked.name, path,
                 watched.readError, failedReads, delay.count() / 1000);
    if (onWatchedChange) onWatchedChange();
    if (!schedule_) return;
    schedule_(delay, [this, name = tracked.name, owner = tracked.owner, path, failedReads] {
        retryWatched(name, owner, path, failedReads);
    });
}

void BusMirror::retryWatched(const std::string& name, const std::string& owner, const std::string& path,
                             unsigned failedReads) {
    auto it = tracked_.find(name);
    // Gone (a new owner is loaded afresh) or not loaded: its load (or the load's retry) reads the path.
    if (it == tracked_.end() || it->second->owner != owner || !it->second->loaded) return;
    auto watched = watchedValues_.find({name, path});
    // Read meanwhile (a signal, a reload), or failed again since: another retry is on its way.
    if (watched == watchedValues_.end() || watched->second.failedReads != failedReads) return;
    pathProxy(*it->second, path)
        .callMethodAsync("GetValue")
        .onInterface(kBusItemInterface)
        .uponReplyInvoke([this, name, owner, path](const sdbus::Error* error, sdbus::Variant value) {
            auto it = tracked_.find(name);
            if (it == tracked_.end() || it->second->owner != owner) return;
            if (error) return watchedReadFailed(*it->second, path, *error);
            if (auto state = index_->find(name)) applyValue(*state, path, value);
        });
}

bool BusMirror::loaded(const std::string& service) const {
    auto it = tracked_.find(service);
    return it != tracked_.end() && it->second->loaded;
}

void BusMirror::applyValue(core::ServiceState& state, const std::string& path,
                           const sdbus::Variant& variant) {
    store(state, path, paths_.kept(state.typeId, path), [&](codec::Value& value) {
        value = fromVariant(variant);
        return true;
    });
}

template <typename Read>
bool BusMirror::store(core::ServiceState& state, std::string_view path, const MirrorPaths::Kept& kept,
                      Read&& read) {
    // Decoded once, into the service's own storage when the map has a place for it.
    codec::Value& value = kept.id ? state.values[*kept.id] : scratch_;
    if (!read(value)) return false;
    if (kept.watched) {
        watchedValues_[{state.name, std::string(path)}] = WatchedRead{value, {}, 0};
        if (onWatchedChange) onWatchedChange();
    }
    if (kept.deviceInstance) applyDeviceInstance(state, value);
    if (kept.slot) index_->applySlotValue(state, path, value);
    return true;
}

void BusMirror::applyDeviceInstance(core::ServiceState& state, const codec::Value& value) {
    std::optional<regmap::DeviceInstance> instance;
    constexpr std::uint64_t kMax = std::numeric_limits<regmap::DeviceInstance>::max();
    bool outOfRange = false;
    if (auto p = std::get_if<std::int64_t>(&value)) {
        outOfRange = *p < 0 || static_cast<std::uint64_t>(*p) > kMax;
        if (!outOfRange) instance = static_cast<regmap::DeviceInstance>(*p);
    } else if (auto p = std::get_if<std::uint64_t>(&value)) {
        outOfRange = *p > kMax;
        if (!outOfRange) instance = static_cast<regmap::DeviceInstance>(*p);
    }
    if (outOfRange)
        log()->warn("{}: /DeviceInstance {} is out of range (0 to {}): ignored, the service has no instance",
                    state.name, codec::toText(value), kMax);
    if (instance.value_or(0) != state.instance || instance.has_value() != state.hasInstance) {
        state.instance = instance.value_or(0);
        state.hasInstance = instance.has_value();
        if (state.ready) {
            index_->reindex();
            if (!instance && !core::instancelessType(state.type))
                log()->warn("{}: no valid /DeviceInstance any more: not served", state.name);
        }
    }
}

BusMirror::Tracked* BusMirror::sender(std::string_view unique, bool& several) {
    several = false;
    if (lastTracked_ && unique == lastSender_) return lastTracked_;
    auto owners = byOwner_.equal_range(unique);
    if (owners.first == owners.second) return nullptr;
    if (std::next(owners.first) != owners.second) {
        several = true;
        return nullptr;
    }
    auto it = tracked_.find(owners.first->second);
    if (it == tracked_.end() || !it->second->state) return nullptr;
    lastSender_.assign(unique);
    lastTracked_ = it->second.get();
    return lastTracked_;
}

bool BusMirror::keptByAny(std::string_view unique, std::string_view path) const {
    auto owners = byOwner_.equal_range(unique);
    for (auto o = owners.first; o != owners.second; ++o)
        if (auto it = tracked_.find(o->second);
            it != tracked_.end() && it->second->state && paths_.kept(it->second->state->typeId, path).any())
            return true;
    return false;
}

void BusMirror::rereadFromAll(std::string_view unique, const std::vector<std::string>& paths) {
    // A signal carries no destination: which of the names the values belong to is unknown. Each
    // name is asked for the paths we keep, so that one service's values never land on another.
    if (paths.empty()) return;
    std::vector<std::string> names;
    auto owners = byOwner_.equal_range(unique);
    for (auto o = owners.first; o != owners.second; ++o)
        names.push_back(o->second);
    for (const auto& name : names)
        if (auto it = tracked_.find(name); it != tracked_.end()) reread(*it->second, paths);
}

void BusMirror::reread(Tracked& tracked, const std::vector<std::string>& paths) {
    for (const auto& path : paths)
        pathProxy(tracked, path)
            .callMethodAsync("GetValue")
            .onInterface(kBusItemInterface)
            .uponReplyInvoke([this, name = tracked.name, owner = tracked.owner,
                              path](const sdbus::Error* error, sdbus::Variant value) {
                auto it = tracked_.find(name);
                if (error || it == tracked_.end() || it->second->owner != owner) return;
                if (auto state = index_->find(name)) applyValue(*state, path, value);
            });
}

namespace {

/// Reads an a{sv} of BusItem properties at the read position, calling `value()` with the read position
/// at the variant of "Value" (which it must consume); the other properties are skipped undecoded.
template <typename OnValue> bool readProperties(sd_bus_message* m, OnValue&& value) {
    if (sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}") <= 0) return false;
    int r = 0;
    while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
        const char* key = nullptr;
        if (sd_bus_message_read_basic(m, 's', &key) <= 0) return false;
        if (std::strcmp(key, "Value") == 0 ? !value() : sd_bus_message_skip(m, "v") < 0) return false;
        if (sd_bus_message_exit_container(m) < 0) return false;
    }
    return r == 0 && sd_bus_message_exit_container(m) >= 0;
}

} // namespace

void BusMirror::onItemsChanged(sdbus::Message& message) {
    auto* m = rawMessage(message);
    const char* unique = sd_bus_message_get_sender(m);
    const char* objectPath = sd_bus_message_get_path(m);
    if (!unique || !objectPath || std::strcmp(objectPath, "/") != 0) return;
    bool several = false;
    Tracked* tracked = sender(unique, several);
    if (!tracked && !several) return;
    auto malformed = [&] {
        log()->warn("malformed ItemsChanged from {}: not a{{sa{{sv}}}} as sent", unique);
    };
    if (sd_bus_message_has_signature(m, "a{sa{sv}}") <= 0) return malformed();
    std::vector<std::string> reread; // several names: the paths to read again from each
    if (sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sa{sv}}") <= 0) return malformed();
    int r = 0;
    while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sa{sv}")) > 0) {
        const char* path = nullptr;
        if (sd_bus_message_read_basic(m, 's', &path) <= 0) return malformed();
        bool ok = true;
        if (several) {
            if (keptByAny(unique, path)) reread.emplace_back(path);
            ok = sd_bus_message_skip(m, "a{sv}") >= 0;
        } else if (const auto kept = paths_.kept(tracked->state->typeId, path); !kept.any()) {
            ok = sd_bus_message_skip(m, "a{sv}") >= 0; // no register reads it: not even decoded
        } else {
            ok = readProperties(m, [&] {
                return store(*tracked->state, path, kept, [&](codec::Value& v) { return readVariant(m, v); });
            });
        }
        if (!ok || sd_bus_message_exit_container(m) < 0) return malformed();
    }
    if (r < 0) return malformed();
    if (several) rereadFromAll(unique, reread);
}

void BusMirror::onPropertiesChanged(sdbus::Message& message) {
    auto* m = rawMessage(message);
    const char* unique = sd_bus_message_get_sender(m);
    const char* path = sd_bus_message_get_path(m);
    if (!unique || !path) return;
    bool several = false;
    Tracked* tracked = sender(unique, several);
    if (several) {
        if (keptByAny(unique, path)) rereadFromAll(unique, {path});
        return;
    }
    if (!tracked) return;
    const auto kept = paths_.kept(tracked->state->typeId, path);
    if (!kept.any()) return; // no register reads it: the body is not even looked at
    if (sd_bus_message_has_signature(m, "a{sv}") <= 0 || !readProperties(m, [&] {
            return store(*tracked->state, path, kept, [&](codec::Value& v) { return readVariant(m, v); });
        }))
        log()->warn("malformed PropertiesChanged from {} on {}: not a{{sv}} as sent", unique, path);
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
