#include "app/WriteSwitch.h"

#include <fmt/format.h>

namespace vmd::app {

namespace {
constexpr const char* kSettings = "com.victronenergy.settings";
constexpr const char* kSetting = "com.victronenergy.settings /Settings/ModbusServer/ReadWrite";
} // namespace

WriteSwitchDecision decideWriteSwitch(const WriteSwitchState& s) {
    if (s.readOnly) return {false, "refused by " + s.readOnlySource};
    if (!s.settingsSeen)
        return {true, fmt::format("enabled: no {} on this bus (not a GX device)", kSettings)};
    if (!s.settingsPresent)
        return {false, fmt::format("refused: {} unknown: the settings service left the bus", kSetting)};
    if (!s.settingsLoaded)
        return {false, fmt::format("refused: {} unknown: the settings service is still loading", kSetting)};
    if (!s.setting)
        return {true, fmt::format("enabled: {} has no /Settings/ModbusServer/ReadWrite", kSettings)};
    if (!codec::isValid(*s.setting)) return {false, fmt::format("refused: {} is invalid", kSetting)};
    const auto text = codec::toText(*s.setting);
    const bool writable = text != "0";
    return {writable,
            fmt::format("{} by the GX setting {} = {}", writable ? "enabled" : "refused", kSetting, text)};
}

} // namespace vmd::app
