#pragma once

#include "regmap/Types.h"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vmd::regmap {

/// The validated, immutable register map and unit-ID table.
/// Lookup by address is O(1): a table of 65536 entries gives the register owning each word.
class RegisterMap {
  public:
    static constexpr std::int32_t kNoRegister = -1;

    RegisterMap(std::vector<Register> registers, std::vector<std::string> serviceTypes,
                std::vector<std::string> paths, std::vector<UnitMapping> units, std::uint32_t identity = 0);

    [[nodiscard]] const std::vector<Register>& registers() const { return registers_; }
    [[nodiscard]] const std::vector<std::string>& serviceTypes() const { return serviceTypes_; }
    [[nodiscard]] const std::vector<std::string>& paths() const { return paths_; }
    [[nodiscard]] const std::vector<UnitMapping>& unitMappings() const { return units_; }
    /// The map's identity: FNV-1a (32 bits) of the text of the map and its overlays as loaded, in
    /// order. Any change of register-maps/victron.yaml changes it (registers 39503-39504, FC 43).
    [[nodiscard]] std::uint32_t identity() const { return identity_; }

    /// The register that holds word `address`, or nullptr for a hole.
    [[nodiscard]] const Register* at(RegisterAddress address) const {
        auto index = owner_[address];
        return index == kNoRegister ? nullptr : &registers_[static_cast<std::size_t>(index)];
    }
    /// The instance a unit ID stands for in the unit table, if it has a row.
    [[nodiscard]] std::optional<DeviceInstance> instanceForUnit(UnitId unit) const {
        auto v = unitToInstance_[unit];
        return v < 0 ? std::nullopt : std::optional<DeviceInstance>(static_cast<DeviceInstance>(v));
    }
    /// The unit ID a client uses to reach `instance` (the table in reverse), if any.
    [[nodiscard]] std::optional<UnitId> unitForInstance(DeviceInstance instance) const;

    [[nodiscard]] std::optional<ServiceTypeId> serviceTypeId(std::string_view type) const;
    [[nodiscard]] std::optional<PathId> pathId(std::string_view path) const;

  private:
    std::vector<Register> registers_;
    std::vector<std::string> serviceTypes_;
    std::vector<std::string> paths_;
    std::vector<UnitMapping> units_;
    std::uint32_t identity_ = 0;
    std::vector<std::int32_t> owner_;
    std::array<std::int64_t, 256> unitToInstance_{};
    std::unordered_map<std::string, PathId> pathIndex_;
};

} // namespace vmd::regmap
