#include "modbus/Failsafe.h"

#include <cmath>

namespace vmd::modbus {

codec::TypedValue typedValue(const regmap::Register& reg, double value) {
    switch (reg.dbusType) {
    case 'd': return {'d', value};
    case 'b': return {'b', value != 0};
    case 'n':
    case 'i':
    case 'x': return {reg.dbusType, static_cast<std::int64_t>(std::llround(value))};
    default: return {reg.dbusType, static_cast<std::uint64_t>(std::llround(std::max(value, 0.0)))};
    }
}

void Failsafe::clientWrote(const WriteOp& op, Clock::time_point now) {
    if (!op.reg || !op.reg->failsafe) return;
    const auto& rule = *op.reg->failsafe;
    WriteOp safe{op.service, op.path, typedValue(*op.reg, rule.value), op.reg, {}};
    auto after = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rule.afterSeconds));
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

std::optional<Failsafe::Clock::time_point> Failsafe::nextDeadline() const {
    std::optional<Clock::time_point> next;
    for (const auto& [key, armed] : armed_)
        if (!next || armed.deadline < *next) next = armed.deadline;
    return next;
}

} // namespace vmd::modbus
