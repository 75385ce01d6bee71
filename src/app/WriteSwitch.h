#pragma once

#include "codec/Value.h"

#include <optional>
#include <string>

namespace vmd::app {

/// What the GX write switch is decided from (docs/semantics.md, "The GX write switch").
struct WriteSwitchState {
    bool readOnly = false;                 ///< --read-only
    bool settingsSeen = false;             ///< the bus has ever shown com.victronenergy.settings
    bool settingsPresent = false;          ///< it is on the bus now
    bool settingsLoaded = false;           ///< and has loaded
    const codec::Value* setting = nullptr; ///< /Settings/ModbusServer/ReadWrite, nullptr if not published
    std::string readError;                 ///< the setting's last read failed with this D-Bus error
    std::string readOnlySource = "--read-only"; ///< where read-only was set, as the user wrote it
};

/// Whether writes are allowed, and the case that decided it, as the log says it after "writes ".
struct WriteSwitchDecision {
    bool writable = false;
    std::string reason;
};

/// Pure: the setting's number, not its text: 0 (-0.0 and 0.0 too) is read-only, any other integer
/// (1.0 too; a D-Bus boolean as 0 or 1) read-write; nullopt for anything else (a fraction, NaN, a
/// string, invalid): the setting is unknown.
[[nodiscard]] std::optional<bool> settingAllowsWrites(const codec::Value& setting);

/// Pure: once the bus has shown a settings service, writes stay refused while the setting is unknown
/// (settings absent or still loading, the setting's read failed, its value not an integer); only a bus
/// that never had one is "not a GX device".
[[nodiscard]] WriteSwitchDecision decideWriteSwitch(const WriteSwitchState& state);

} // namespace vmd::app
