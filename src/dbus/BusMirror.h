#pragma once

#include "core/ServiceIndex.h"
#include "dbus/MirrorPaths.h"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <cstdint>
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
///
/// A service is served only once loaded (ServiceIndex::addLoading). Every reply is checked against
/// the owner (unique name) and the load it was asked for: replies of an owner that is gone, or of a
/// superseded load, are dropped. A load that read nothing is retried with back-off, and so is a read
/// of a watched path that failed. Signals carry no destination: from a connection that owns one name
/// they are applied to it; from one that owns several, the changed paths are read again from each
/// name, so that each keeps its own values.
///
/// Signals are read in place (docs/benchmarks.md, "Mirroring a busy bus"): a path that no register of
/// the service's type reads (nor /DeviceInstance, a watched path or a slot path) is skipped before its
/// value is decoded, and a kept value is decoded straight into the service's values, with no
/// intermediate container and no heap allocation in the steady state.
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
    /// rebind() with what to keep of the index's map made beforehand: a reload builds it on its own
    /// thread, MirrorPaths(map, watchedPaths()). Built with other watched paths than the mirror's
    /// (one watched since), it is built again here.
    void rebind(core::ServiceIndex& index, MirrorPaths paths);

    /// Also keeps `path` (of any service), though no register uses it; see watched().
    void watch(const std::string& path);
    /// The paths watch() added.
    [[nodiscard]] const std::set<std::string>& watchedPaths() const { return watchedPaths_; }
    /// A watched path of a service as last read: its value, or the D-Bus error of a read that failed
    /// (the value is then unknown, and the path is read again after 1 s, 2 s, 4 s ... at most 32 s).
    struct WatchedRead {
        codec::Value value;
        std::string readError;    ///< empty: `value` was read
        unsigned failedReads = 0; ///< reads in a row that failed
    };
    /// A watched path on a service; nullptr when not published (a load that lists every item did not
    /// list it, or GetValue on it answered that there is no such object, interface or method), and
    /// while the service is absent or has not read it yet (see loaded()).
    [[nodiscard]] const WatchedRead* watched(const std::string& service, const std::string& path) const;
    /// Whether the service is on the bus and loaded.
    [[nodiscard]] bool loaded(const std::string& service) const;
    /// Whether the service is on the bus (loaded or not).
    [[nodiscard]] bool present(const std::string& service) const { return tracked_.count(service) != 0; }
    /// Called after a watched path changed, appeared or went away, and after a service came or went.
    std::function<void()> onWatchedChange;

    /// Runs a callback after a delay on the caller's event loop (needed for load retries).
    using Scheduler = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
    void setScheduler(Scheduler scheduler) { schedule_ = std::move(scheduler); }

  private:
    struct Tracked;
    void discovered(const std::string& name, const std::string& owner, bool initial);
    void vanished(const std::string& name);
    /// A reply's tracked service if it is still the load it was asked for (same owner, same load).
    Tracked* current(const std::string& name, const std::string& owner, std::uint64_t load);
    void load(Tracked& tracked);
    void loadByRootGetValue(Tracked& tracked);
    void loadPerPath(Tracked& tracked);
    void finishLoad(Tracked& tracked);
    void loadFailed(Tracked& tracked);
    sdbus::IProxy& pathProxy(Tracked& tracked, const std::string& path);
    /// Reads `paths` of one service again (signals from a connection that owns several names).
    void reread(Tracked& tracked, const std::vector<std::string>& paths);
    /// The service that sent a signal when its connection owns exactly one tracked name; nullptr when it
    /// owns none (not a Venus service, or gone) or several (then `several` is set).
    Tracked* sender(std::string_view unique, bool& several);
    /// Whether some name of a connection that owns several keeps `path` (their values are read again).
    bool keptByAny(std::string_view unique, std::string_view path) const;
    void rereadFromAll(std::string_view unique, const std::vector<std::string>& paths);
    void applyValue(core::ServiceState& state, const std::string& path, const sdbus::Variant& value);
    /// Applies one value of `path` as `kept` says; `read(codec::Value&)` decodes it (false: malformed).
    template <typename Read>
    bool store(core::ServiceState& state, std::string_view path, const MirrorPaths::Kept& kept, Read&& read);
    void applyDeviceInstance(core::ServiceState& state, const codec::Value& value);
    void onItemsChanged(sdbus::Message& message);
    void onPropertiesChanged(sdbus::Message& message);
    void onNameOwnerChanged(sdbus::Message& message);
    void collectGarbage();
    /// After a load that lists every item: the watched paths `listed` says no to are not published.
    void forgetUnlisted(const std::string& name, const std::function<bool(const std::string&)>& listed);
    void watchedReadFailed(Tracked& tracked, const std::string& path, const sdbus::Error& error);
    void retryWatched(const std::string& name, const std::string& owner, const std::string& path,
                      unsigned failedReads);
    void indexPaths();

    sdbus::IConnection& connection_;
    core::ServiceIndex* index_;
    std::unique_ptr<sdbus::IProxy> busProxy_;
    std::vector<sdbus::Slot> matches_;
    std::map<std::string, std::unique_ptr<Tracked>> tracked_;      ///< by well-known name
    std::multimap<std::string, std::string, std::less<>> byOwner_; ///< unique name -> well-known names
    std::vector<std::unique_ptr<Tracked>> graveyard_;              ///< freed outside of their callbacks
    std::size_t initialPending_ = 0;
    std::uint64_t lastLoad_ = 0; ///< the id of the latest load started, for matching replies
    Scheduler schedule_;
    MirrorPaths paths_; ///< what to keep of each path, by service type (rebuilt with the map)
    std::set<std::string> watchedPaths_;
    codec::Value scratch_;           ///< a kept value that has no place in ServiceState::values (reused)
    std::string lastSender_;         ///< the unique name of the last signal's single-name sender
    Tracked* lastTracked_ = nullptr; ///< its service (signals come in bursts); reset when names change
    std::map<std::pair<std::string, std::string>, WatchedRead> watchedValues_; ///< (service, path)
};

} // namespace vmd::dbus
