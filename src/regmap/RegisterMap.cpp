#include "regmap/RegisterMap.h"

#include <algorithm>

namespace vmd::regmap {

const char* toString(ModbusType type) {
    switch (type) {
    case ModbusType::Int16:
        return "int16";
    case ModbusType::Uint16:
        return "uint16";
    case ModbusType::Int32:
        return "int32";
    case ModbusType::Uint32:
        return "uint32";
    case ModbusType::Uint64:
        return "uint64";
    case ModbusType::String:
        return "string";
    case ModbusType::Reserved:
        return "reserved";
    }
    return "?";
}

RegisterMap::RegisterMap(std::vector<Register> registers, std::vector<std::string> serviceTypes,
                         std::vector<std::string> paths, std::vector<UnitMapping> units,
                         std::uint32_t identity)
    : registers_(std::move(registers)), serviceTypes_(std::move(serviceTypes)), paths_(std::move(paths)),
      units_(std::move(units)), identity_(identity), owner_(65536, kNoRegister) {
    std::sort(registers_.begin(), registers_.end(),
              [](const Register& a, const Register& b) { return a.address < b.address; });
    for (std::size_t i = 0; i < registers_.size(); ++i) {
        const auto& reg = registers_[i];
        for (std::uint32_t word = reg.address; word < reg.end() && word < 65536; ++word)
            owner_[word] = static_cast<std::int32_t>(i);
    }
    unitToInstance_.fill(-1);
    for (const auto& mapping : units_)
        unitToInstance_[mapping.unit] = mapping.instance;
    for (std::size_t i = 0; i < paths_.size(); ++i)
        pathIndex_.emplace(paths_[i], static_cast<PathId>(i));
}

std::optional<UnitId> RegisterMap::unitForInstance(DeviceInstance instance) const {
    for (const auto& mapping : units_)
        if (mapping.instance == instance) return mapping.unit;
    return std::nullopt;
}

std::optional<ServiceTypeId> RegisterMap::serviceTypeId(std::string_view type) const {
    auto it = std::find(serviceTypes_.begin(), serviceTypes_.end(), type);
    if (it == serviceTypes_.end()) return std::nullopt;
    return static_cast<ServiceTypeId>(it - serviceTypes_.begin());
}

std::optional<PathId> RegisterMap::pathId(std::string_view path) const {
    auto it = pathIndex_.find(std::string(path));
    if (it == pathIndex_.end()) return std::nullopt;
    return it->second;
}

} // namespace vmd::regmap
