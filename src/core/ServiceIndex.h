#pragma once

#include "codec/Value.h"
#include "core/OutputSlots.h"
#include "regmap/RegisterMap.h"

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace vmd::core {

inline constexpr regmap::ServiceTypeId kUnmappedServiceType = 0xFFFF;

/// What is known of one D-Bus service: its values for every path the map uses, by PathId.
struct ServiceState {
    std::string name; ///< com.victronenergy.battery.ttyO2
    std::string type; ///< battery
    regmap::ServiceTypeId typeId = kUnmappedServiceType;
    regmap::DeviceInstance instance = 0; ///< 0 for services without a valid /DeviceInstance
    bool hasInstance = false;            ///< a valid /DeviceInstance (an integer from 0 to 2^32 - 1)
    bool ready = true;                   ///< false while its values are still being loaded: not served yet
    std::vector<codec::Value> values;    ///< indexed by regmap::PathId; invalid where unknown
    ServiceSlots slots;                  ///< what it publishes under the map's slot families

    [[nodiscard]] const codec::Value& value(regmap::PathId path) const {
        static const codec::Value invalid;
        return path < values.size() ? values[path] : invalid;
    }
};

/// Whether services of `type` have no /DeviceInstance by nature: the GX device's own singletons
/// (system, settings, hub4, platform, and the start/stop services pump.startstop0 and
/// generator.startstop0), which the published list serves at unit 100 only. Only these
/// are served as instance 0 without a valid /DeviceInstance (docs/architecture.md).
[[nodiscard]] bool instancelessType(const std::string& type);

/// The stable code of a service type in the discovery block (docs/registers.md); 65535 when unknown.
/// Codes are never reused or renumbered; new types are appended.
[[nodiscard]] std::uint16_t serviceTypeCode(const std::string& type);
/// The service type of a code, "" when the code is not assigned.
[[nodiscard]] std::string serviceTypeName(std::uint16_t code);

/// One line of the discovery block.
struct DiscoveryEntry {
    std::uint16_t unit = 0xFFFF; ///< the unit ID that reaches it, 65535 if none
    std::uint16_t typeCode = 0xFFFF;
    std::uint16_t instance = 0;
    std::uint16_t flags = 0; ///< bit 0: the service answers at `unit`
};

struct RebuildPlan;

/// The live services, indexed by (service type, device instance), and the unit-ID resolution rule of
/// DESIGN section 3: a service whose instance equals the unit first, then the unit table.
/// Pure data: filled by the BusMirror in the daemon and by hand in unit tests.
class ServiceIndex {
  public:
    /// `slots`: the output slot assignment the index fills (kept by the daemon across restarts); a
    /// fresh one when not given. A rebuilt index shares it.
    explicit ServiceIndex(const regmap::RegisterMap& map,
                          std::shared_ptr<SlotAssignment> slots = std::make_shared<SlotAssignment>())
        : map_(&map), slots_(map, std::move(slots)) {}

    /// Adds a loaded service (or replaces one of the same name) and returns it for filling in.
    ServiceState& add(const std::string& name);
    /// Adds a service whose values are still being loaded: it is neither served nor listed until its
    /// `ready` is set and reindex() is called.
    ServiceState& addLoading(const std::string& name);
    void remove(const std::string& name);
    [[nodiscard]] ServiceState* find(const std::string& name);
    /// Call after a service's instance changed. A served service is bound to its slot owner then
    /// (slotOwner): its output identifiers without a slot get one.
    void reindex();

    /// Whether a service is served and listed: loaded, and identified by a valid /DeviceInstance or of a
    /// type that has none by nature. A service of a mapped type is served; one of another type is only
    /// listed in the discovery block.
    [[nodiscard]] static bool identified(const ServiceState& service);

    /// The service of `type` that answers at `unit`, or nullptr.
    [[nodiscard]] const ServiceState* resolve(regmap::ServiceTypeId type, regmap::UnitId unit) const;

    [[nodiscard]] const std::vector<std::unique_ptr<ServiceState>>& services() const { return services_; }
    /// The services as the discovery block lists them: by type code, then instance (kept by reindex()).
    [[nodiscard]] const std::vector<DiscoveryEntry>& discovery() const { return discovery_; }
    [[nodiscard]] const regmap::RegisterMap& map() const { return *map_; }
    /// A copy of this index for another map (a reload): the same services, each keeping the values of
    /// the paths both maps know.
    [[nodiscard]] std::unique_ptr<ServiceIndex> rebuiltFor(const regmap::RegisterMap& map) const;
    /// The part of a rebuild that depends on the two maps alone (the new, empty index and where each
    /// old path is in the new map): pure, so a reload makes it on its own thread.
    [[nodiscard]] static RebuildPlan planRebuild(const regmap::RegisterMap& from,
                                                 const regmap::RegisterMap& to);
    /// rebuiltFor() with the plan made beforehand: only the services' values are carried over here.
    /// A plan made from another map than this index's is made again.
    [[nodiscard]] std::unique_ptr<ServiceIndex> rebuiltFor(RebuildPlan plan) const;

    /// Records a value of a path the map names only through a slot path (`/SwitchableOutput/relay_1/State`
    /// for `/SwitchableOutput/#2/State`, see regmap/Slots.h) and brings the service's slot values up to
    /// date. False (nothing recorded) when `path` lies in no slot family of the map.
    bool applySlotValue(ServiceState& state, std::string_view path, const codec::Value& value) {
        return slots_.apply(state.slots, state.values, path, value);
    }
    /// The D-Bus path a write to `path` goes to on `state`: the map's path, or for a slot path the path
    /// of the identifier in that slot; "" when no output the service publishes holds that slot.
    [[nodiscard]] std::string writePath(const ServiceState& state, regmap::PathId path) const {
        return writeTarget(state, path).path;
    }
    /// As writePath, and whether an empty path is a slot held for an output that is gone (Vacated).
    [[nodiscard]] SlotTarget writeTarget(const ServiceState& state, regmap::PathId path) const;
    /// Whose output slots a service fills: "TYPE:INSTANCE" ("switch:1"), or its bus name when it has
    /// no /DeviceInstance; the same across restarts of the service and of the daemon.
    [[nodiscard]] static std::string slotOwner(const ServiceState& state);
    /// Which identifier fills which slot on `state` ("/SwitchableOutput/ 1=pwm_1 2=relay_1 3=(relay_9)",
    /// in parentheses: held for an output that is gone), "" if none.
    [[nodiscard]] std::string slotSummary(const ServiceState& state) const {
        return slots_.describe(state.slots);
    }

    /// Pairs of services that share a (type, instance): the one chosen is listed first.
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> conflicts() const;

  private:
    static std::uint64_t key(regmap::ServiceTypeId type, regmap::DeviceInstance instance) {
        return (std::uint64_t{type} << 32) | instance;
    }
    const regmap::RegisterMap* map_;
    SlotResolver slots_;
    std::vector<std::unique_ptr<ServiceState>> services_;
    std::unordered_map<std::uint64_t, const ServiceState*> byKey_;
    std::vector<DiscoveryEntry> discovery_;
};

struct RebuildPlan {
    const regmap::RegisterMap* from = nullptr;
    std::unique_ptr<ServiceIndex> index;              ///< for the new map, without services
    std::vector<std::optional<regmap::PathId>> paths; ///< an old map's PathId -> the new map's
};

} // namespace vmd::core
