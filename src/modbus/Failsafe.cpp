#include "modbus/Failsafe.h"

#include <cmath>

namespace vmd::modbus {

codec::TypedValue typedValue(const regmap::Register& reg, double value) {
    switch (reg.dbusType) {
    case 'd':
        return {'d', value};
    case 'b':
        return {'b', value != 0};
    case 'n':
    case 'i':
    case 'x':
        return {reg.dbusType, static_cast<std::int64_t>(std::llround(value))};
    default:
        return {reg.dbusType, static_cast<std::uint64_t>(std::llround(std::max(value, 0.0)))};
    }
}

void Failsafe::clientWrote(const WriteOp& op, Clock::time_point now) {
    if (!op.reg || !op.reg->failsafe) return;
    const auto& rule = *op.reg->failsafe;
    WriteOp safe{op.service, op.path, typedValue(*op.reg, rule.value), op.reg, {}, op.keepAlive};
    auto after =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rule.afterSeconds));
    armed_[{op.service, op.path}] = Armed{std::move(safe), now + after};
}

std::vector<WriteOp> Failsafe::due(Clock::time_point now) {
    std::vector<WriteOp> result;
    for (auto it = armed_.begin(); it != armed_.end();) {
        if (it->second.deadline <= now) {
            result.push_back(std::move(it->second.op));
            it = armed_.erase(it);
        } else {
            ++it;
        }
    }
    return result;
}

void Failsafe::rebind(const regmap::RegisterMap& map, std::shared_ptr<const void> keepAlive) {
    for (auto it = armed_.begin(); it != armed_.end();) {
        auto& op = it->second.op;
        const auto* reg = map.at(op.reg->address);
        if (!reg || reg->address != op.reg->address || !reg->failsafe) {
            it = armed_.erase(it);
            continue;
        }
        op.reg = reg;
        op.value = typedValue(*reg, reg->failsafe->value);
        op.keepAlive = keepAlive;
        ++it;
    }
}

std::optional<Failsafe::Clock::time_point> Failsafe::nextDeadline() const {
    std::optional<Clock::time_point> next;
    for (const auto& [key, armed] : armed_)
        if (!next || armed.deadline < *next) next = armed.deadline;
    return next;
}

} // namespace vmd::modbus
