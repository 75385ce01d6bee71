#pragma once

#include "core/ServiceIndex.h"

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace vmd::dbus {

/// Keeps every com.victronenergy.* service's values in memory (DESIGN section 2, STYLE practice 9):
/// match rules first (NameOwnerChanged, ItemsChanged, PropertiesChanged, one each, matched by
/// interface), then ListNames, then per service GetNameOwner and GetItems (fallback: GetValue on
/// "/", then GetValue per mapped path). Runs on the caller's event loop; never blocks after start().
class BusMirror {
  public:
    BusMirror(sdbus::IConnection& connection, core::ServiceIndex& index);
    ~BusMirror();
    BusMirror(const BusMirror&) = delete;
    BusMirror& operator=(const BusMirror&) = delete;

    /// Adds the match rules and discovers the services present now (one synchronous ListNames).
    void start();
    /// True once every service found by start() has been loaded (or failed to load).
    [[nodiscard]] bool initialLoadDone() const { return initialPending_ == 0; }
    /// How many of the services found by start() have not finished loading yet.
    [[nodiscard]] std::size_t stillLoading() const { return initialPending_; }

    /// Fills `index` from now on (a reload: it was made with ServiceIndex::rebuiltFor), and reads every
    /// service again in the background for the paths the new map adds.
    void rebind(core::ServiceIndex& index);

    /// Also keeps `path` (of any service), though no register uses it; see watched().
    void watch(const std::string& path) { watchedPaths_.insert(path); }
    /// The value of a watched path on a service: nullptr while unknown (not published, service
    /// absent or still loading).
    [[nodiscard]] const codec::Value* watched(const std::string& service, const std::string& path) const;
    /// Whether the service is on the bus and loaded.
    [[nodiscard]] bool loaded(const std::string& service) const;
    /// Called after a watched path changed, appeared or went away.
    std::function<void()> onWatchedChange;

  private:
    struct Tracked;
    void discovered(const std::string& name, const std::string& owner, bool initial);
    void vanished(const std::string& name);
    void load(Tracked& tracked);
    void loadByRootGetValue(Tracked& tracked);
    void loadPerPath(Tracked& tracked);
    void finishLoad(Tracked& tracked);
    void applyValue(core::ServiceState& state, const std::string& path, const sdbus::Variant& value);
    void onItemsChanged(sdbus::Message& message);
    void onPropertiesChanged(sdbus::Message& message);
    void onNameOwnerChanged(sdbus::Message& message);
    void collectGarbage();
    void indexPaths();

    sdbus::IConnection& connection_;
    core::ServiceIndex* index_;
    std::unique_ptr<sdbus::IProxy> busProxy_;
    std::vector<sdbus::Slot> matches_;
    std::map<std::string, std::unique_ptr<Tracked>> tracked_; ///< by well-known name
    std::multimap<std::string, std::string> byOwner_;         ///< unique name -> well-known names
    std::vector<std::unique_ptr<Tracked>> graveyard_;         ///< freed outside of their callbacks
    std::size_t initialPending_ = 0;
    std::map<regmap::ServiceTypeId, std::vector<regmap::PathId>> pathsByType_;
    std::set<std::string> watchedPaths_;
    std::map<std::pair<std::string, std::string>, codec::Value> watchedValues_; ///< (service, path)
};

} // namespace vmd::dbus
