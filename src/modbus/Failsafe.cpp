#include "modbus/Failsafe.h"

#include <algorithm>
#include <cmath>

namespace vmd::modbus {

namespace {

Failsafe::Clock::duration afterOf(const regmap::Register& rule) {
    return std::chrono::duration_cast<Failsafe::Clock::duration>(
        std::chrono::duration<double>(rule.failsafe->afterSeconds));
}

bool sameRule(const regmap::Register& a, const regmap::Register& b) {
    return a.dbusType == b.dbusType && a.failsafe && b.failsafe &&
           a.failsafe->afterSeconds == b.failsafe->afterSeconds && a.failsafe->value == b.failsafe->value;
}

} // namespace

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

std::string serviceTypeOf(const std::string& busName) {
    auto first = busName.find('.');
    auto second = first == std::string::npos ? first : busName.find('.', first + 1);
    if (second == std::string::npos) return {};
    auto third = busName.find('.', second + 1);
    return busName.substr(second + 1, third == std::string::npos ? third : third - second - 1);
}

const regmap::Register* Failsafe::ruleFor(const regmap::Register& written, const std::string& service,
                                          const std::string& mapPath) const {
    if (!map_) return written.failsafe ? &written : nullptr;
    const auto* reg = map_->at(written.address);
    if (!reg || reg->address != written.address || !reg->failsafe) return nullptr;
    if (reg->service >= map_->serviceTypes().size() ||
        map_->serviceTypes()[reg->service] != serviceTypeOf(service))
        return nullptr;
    bool samePath = std::any_of(reg->paths.begin(), reg->paths.end(), [&](regmap::PathId id) {
        return id < map_->paths().size() && map_->paths()[id] == mapPath;
    });
    return samePath ? reg : nullptr;
}

std::vector<WriteOp> Failsafe::setMap(const regmap::RegisterMap& map, std::shared_ptr<const void> keepAlive) {
    map_ = &map;
    keepAlive_ = std::move(keepAlive);
    std::vector<WriteOp> dropped;
    for (auto it = armed_.begin(); it != armed_.end();) {
        auto& armed = it->second;
        const auto* rule = ruleFor(*armed.op.reg, armed.op.service, armed.op.mapPathOr());
        if (!rule) {
            dropped.push_back(std::move(armed.op));
            it = armed_.erase(it);
            continue;
        }
        if (!sameRule(*armed.op.reg, *rule)) { // the new rule, counted from the last client write
            armed.op.value = typedValue(*rule, rule->failsafe->value);
            armed.deadline = armed.lastClientWrite + afterOf(*rule);
            armed.ticket = nextTicket_++; // a write of the old value in flight no longer counts
            armed.inFlight = false;
        }
        armed.op.reg = rule;
        armed.op.keepAlive = keepAlive_;
        ++it;
    }
    return dropped;
}

void Failsafe::clientWrote(const WriteOp& op, Clock::time_point now) {
    if (!op.reg) return;
    const auto* rule = ruleFor(*op.reg, op.service, op.mapPathOr());
    if (!rule) return;
    WriteOp safe{op.service, op.path, typedValue(*rule, rule->failsafe->value),
                 rule,       {},      map_ ? keepAlive_ : op.keepAlive, op.mapPath};
    armed_[{op.service, op.path}] =
        Armed{std::move(safe), now, now + afterOf(*rule), nextTicket_++, false, 0};
}

std::vector<Failsafe::Firing> Failsafe::due(Clock::time_point now, const Held& held) {
    std::vector<Firing> result;
    for (auto& [key, armed] : armed_) {
        if (armed.inFlight || armed.deadline > now || (held && held(key.first, key.second))) continue;
        armed.inFlight = true;
        armed.ticket = nextTicket_++;
        result.push_back({armed.op, armed.failures, armed.ticket});
    }
    return result;
}

std::optional<Failsafe::Clock::duration> Failsafe::written(const Firing& firing, bool accepted,
                                                           Clock::time_point now) {
    auto it = armed_.find({firing.op.service, firing.op.path});
    if (it == armed_.end() || it->second.ticket != firing.ticket) return std::nullopt; // re-armed since
    if (accepted) {
        armed_.erase(it);
        return std::nullopt;
    }
    auto& armed = it->second;
    armed.inFlight = false;
    ++armed.failures;
    const auto delay = backoff(armed.failures);
    armed.deadline = now + delay;
    return delay;
}

std::vector<std::pair<WriteOp, std::uint64_t>> Failsafe::heldBack(Clock::time_point now, const Held& held) const {
    std::vector<std::pair<WriteOp, std::uint64_t>> result;
    for (const auto& [key, armed] : armed_)
        if (!armed.inFlight && armed.deadline <= now && held(key.first, key.second))
            result.emplace_back(armed.op, armed.ticket);
    return result;
}

std::optional<Failsafe::Clock::time_point> Failsafe::nextDeadline(const Held& held) const {
    std::optional<Clock::time_point> next;
    for (const auto& [key, armed] : armed_)
        if (!armed.inFlight && (!next || armed.deadline < *next) && !(held && held(key.first, key.second)))
            next = armed.deadline;
    return next;
}

std::size_t Failsafe::retrying() const {
    return static_cast<std::size_t>(std::count_if(
        armed_.begin(), armed_.end(), [](const auto& entry) { return entry.second.failures > 0; }));
}

Failsafe::Clock::duration Failsafe::backoff(unsigned failures) {
    if (failures == 0) return Clock::duration::zero();
    const auto delay = kFirstRetry * (1LL << std::min(failures - 1, 5U)); // 1, 2, 4, 8, 16, 32 s
    return std::min<Clock::duration>(delay, kLongestRetry);
}

} // namespace vmd::modbus
