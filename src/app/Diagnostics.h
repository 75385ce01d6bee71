#pragma once

#include "core/ServiceIndex.h"
#include "dbus/ItemExporter.h"
#include "modbus/Server.h"

#include <optional>
#include <string>
#include <vector>

namespace vmd::app {

/// The diagnostics service com.victronenergy.modbustcp, compatible with the GX device's:
/// /LastError/Message, /LastError/Timestamp, /Services/Count, /Services/N/{ServiceName, UnitId,
/// IsActive, VrmInstanceId}; plus /Services/N/Reachable (0: no Modbus unit reaches it: its
/// instance has no unit, or another service of its type has the same instance), /Services/N/Slots
/// (which output identifier fills which register slot, "/SwitchableOutput/ 1=pwm_1 2=relay_1";
/// invalid when the service has none) and our counters
/// (/Clients/Count, /Requests/Count, /Exceptions/<code>, /Writes/Count, /Writes/Failed,
/// /Failsafe/Activations, /Failsafe/Retrying: fail-safe writes that failed and wait for their
/// retry, /Connections/Refused; for TLS /Tls/Connections, /Tls/HandshakeFailures,
/// /Tls/RoleRefusals, /Writes/RefusedByRole). Unlike the GX device it lists services without
/// /DeviceInstance too (instance 0, unit 100). Entries are never removed; a service of the same
/// type and instance as an inactive entry takes that entry over. A SetValue of an invalid value on
/// /LastError/Message or /LastError/Timestamp (the GX GUI's "Clear error") answers 0 and makes both
/// invalid until the next error.
class Diagnostics {
  public:
    Diagnostics(dbus::ItemExporter& exporter, const regmap::RegisterMap& map);
    void rebind(const regmap::RegisterMap& map) { map_ = &map; }
    /// Refreshes every path from the current state and publishes the changes.
    void update(const core::ServiceIndex& index, const modbus::Server& server);

  private:
    void clearLastError();
    struct Entry {
        std::string name;
        std::string type;
        regmap::DeviceInstance instance = 0;
        bool active = false;
        std::string slots; ///< ServiceIndex::slotSummary: which output identifier fills which slot
        /// What /Services/N/ was last set to: an unchanged entry is not set again (no path built, no
        /// lookup: the once-a-second update of an idle daemon stays cheap).
        struct Published {
            std::string name, slots;
            std::int64_t unit = 0;
            regmap::DeviceInstance instance = 0;
            bool active = false, reachable = false;
            bool operator==(const Published&) const = default;
        };
        std::optional<Published> published;
    };
    dbus::ItemExporter& exporter_;
    const regmap::RegisterMap* map_;
    std::vector<Entry> entries_;
    std::uint64_t lastErrorSequence_ = 0;
};

} // namespace vmd::app
