#include "app/WriteSwitch.h"

#include <fmt/format.h>

#include <cmath>

namespace vmd::app {

namespace {
constexpr const char* kSettings = "com.victronenergy.settings";
constexpr const char* kSetting = "com.victronenergy.settings /Settings/ModbusServer/ReadWrite";
} // namespace

std::optional<bool> settingAllowsWrites(const codec::Value& setting) {
    struct Visitor {
        std::optional<bool> operator()(std::monostate) const { return std::nullopt; }
        std::optional<bool> operator()(std::int64_t x) const { return x != 0; }
        std::optional<bool> operator()(std::uint64_t x) const { return x != 0; }
        std::optional<bool> operator()(bool x) const { return x; }
        std::optional<bool> operator()(double x) const {
            if (!std::isfinite(x) || x != std::trunc(x)) return std::nullopt;
            return x != 0;
        }
        std::optional<bool> operator()(const std::string&) const { return std::nullopt; }
    };
    return std::visit(Visitor{}, setting);
}

WriteSwitchDecision decideWriteSwitch(const WriteSwitchState& s) {
    if (s.readOnly) return {false, "refused by " + s.readOnlySource};
    if (!s.settingsSeen)
        return {true, fmt::format("enabled: no {} on this bus (not a GX device)", kSettings)};
    if (!s.settingsPresent)
        return {false, fmt::format("refused: {} unknown: the settings service left the bus", kSetting)};
    if (!s.settingsLoaded)
        return {false, fmt::format("refused: {} unknown: the settings service is still loading", kSetting)};
    if (!s.readError.empty())
        return {false, fmt::format("refused: {} unknown: its read failed ({}); reading it again", kSetting,
                                   s.readError)};
    // Loaded, and the service has said that it has no such item (its GetItems did not list it): a
    // firmware from before the switch, whose own server allows writes (docs/semantics.md).
    if (!s.setting)
        return {true, fmt::format("enabled: {} has no /Settings/ModbusServer/ReadWrite", kSettings)};
    if (!codec::isValid(*s.setting))
        return {false, fmt::format("refused: {} unknown: it is invalid", kSetting)};
    const auto text = codec::toText(*s.setting);
    const auto allows = settingAllowsWrites(*s.setting);
    if (!allows) {
        const bool isString = std::holds_alternative<std::string>(*s.setting);
        return {false, fmt::format("refused: {} unknown: {} is not an integer", kSetting,
                                   isString ? fmt::format("the string '{}'", text) : text)};
    }
    return {*allows,
            fmt::format("{} by the GX setting {} = {}", *allows ? "enabled" : "refused", kSetting, text)};
}

} // namespace vmd::app
