#pragma once

#include "regmap/RegisterMap.h"

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace vmd::regmaptool {

/// What the scripting commands (find, read, write) know: the map and, per service type, which unit IDs
/// reach it (the 'units' text of paths.yaml).
struct ScriptMap {
    const regmap::RegisterMap* map = nullptr;
    std::map<std::string, std::string> unitsText;
};

/// The unit ID a service is usually reached at: 100 for the services at instance 0 (system, settings,
/// hub4, platform ...), none for device services (their unit is their /DeviceInstance).
[[nodiscard]] std::optional<int> usualUnit(const ScriptMap& script, const std::string& service);

/// The registers that serve `path` of `service` ("settings" or "com.victronenergy.settings"), lowest
/// address first.
[[nodiscard]] std::vector<const regmap::Register*>
registersOf(const ScriptMap& script, const std::string& service, const std::string& path);

/// A register's value as a person reads it: "64.5 %", "Bulk", the text of a string, "not available".
[[nodiscard]] std::string describeValue(const regmap::Register& reg, const std::vector<std::uint16_t>& words);

/// Turns VALUE (a number in the register's unit, an enum text, or text for strings) into the words to
/// write: the map's scale, type and range apply, exactly as the server will decode them. On a refusal
/// `error` says why and nothing is returned.
[[nodiscard]] std::optional<std::vector<std::uint16_t>>
encodeForWrite(const regmap::Register& reg, const std::string& value, std::string& error);

struct Request {
    std::string target; ///< HOST[:PORT]
    std::string service;
    std::string path;
    std::string value;
    std::optional<int> unit;
    std::optional<int> address; ///< which of the path's registers (default: the lowest address)
    bool json = false;
};

/// The commands; each returns the exit status (0 ok, 1 a Modbus exception or no answer, 2 bad input).
int findRegisters(const ScriptMap& script, const std::string& text, bool json, std::ostream& out,
                  std::ostream& err);
int readPath(const ScriptMap& script, const Request& request, std::ostream& out, std::ostream& err);
int writePath(const ScriptMap& script, const Request& request, std::ostream& out, std::ostream& err);

} // namespace vmd::regmaptool
