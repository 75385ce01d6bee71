#include "modbus/Admission.h"

#include <algorithm>

namespace vmd::modbus::admission {

namespace {

/// The oldest connection (by connection time) that `fits`, or none.
template <typename Fits> const Slot* oldest(std::span<const Slot> open, Fits fits) {
    const Slot* found = nullptr;
    for (const auto& s : open)
        if (fits(s) && (!found || s.connectedAt < found->connectedAt)) found = &s;
    return found;
}

bool pastGrace(const Slot& s, const Limits& limits, Clock::time_point now) {
    return now - s.connectedAt >= limits.grace;
}

} // namespace

Limits limitsFor(std::size_t maxClients) {
    Limits limits;
    limits.maxClients = maxClients;
    limits.maxHandshakes = std::max<std::size_t>(1, maxClients / 4);
    return limits;
}

Decision admit(std::span<const Slot> open, bool tls, const Limits& limits, Clock::time_point now) {
    auto evictable = [&](const Slot& s) { return !s.proven && !s.busy && pastGrace(s, limits, now); };
    if (tls) {
        const auto handshakes = static_cast<std::size_t>(
            std::count_if(open.begin(), open.end(), [](const Slot& s) { return s.handshaking; }));
        if (handshakes >= limits.maxHandshakes) {
            if (const auto* v = oldest(open, [&](const Slot& s) { return s.handshaking && evictable(s); }))
                return {Verdict::Evict, v->id};
            return {Verdict::Refuse, 0, Refusal::Handshakes};
        }
    }
    if (open.size() < limits.maxClients) return {};
    if (const auto* v = oldest(open, evictable)) return {Verdict::Evict, v->id};
    const bool anyIdleProven =
        std::any_of(open.begin(), open.end(), [](const Slot& s) { return s.proven && !s.busy; });
    if (anyIdleProven && open.size() < limits.maxClients + limits.probation)
        return {Verdict::Admit, 0, Refusal::None, true};
    const bool allWriting = std::all_of(open.begin(), open.end(), [](const Slot& s) { return s.busy; });
    return {Verdict::Refuse, 0, allWriting ? Refusal::AllWriting : Refusal::NoRoom};
}

std::optional<std::uint64_t> makeRoom(std::span<const Slot> open, std::uint64_t prover, const Limits& limits,
                                      Clock::time_point /*now*/) {
    if (open.size() <= limits.maxClients) return std::nullopt;
    // Anyone who has proven nothing goes before a proven client, even within its grace (the grace
    // protects it from newcomers that have proven nothing): else, with the server full of silent
    // newcomers, proven clients would evict each other in turn.
    if (const auto* v = oldest(open, [&](const Slot& s) { return s.id != prover && !s.proven && !s.busy; }))
        return v->id;
    const Slot* idlest = nullptr;
    for (const auto& s : open)
        if (s.id != prover && s.proven && !s.busy && (!idlest || s.lastActivity < idlest->lastActivity))
            idlest = &s;
    if (idlest) return idlest->id;
    return std::nullopt;
}

void ReconnectLimit::refill(Bucket& b, Clock::time_point now) {
    if (now > b.at) {
        const double earned = std::chrono::duration<double>(now - b.at) / kPeriod;
        b.tokens = std::min<double>(kBurst, b.tokens + earned);
    }
    b.at = now;
}

bool ReconnectLimit::take(const std::string& host, Clock::time_point now) {
    auto [it, added] = buckets_.try_emplace(host);
    auto& b = it->second;
    if (added) b.at = now;
    refill(b, now);
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
}

void ReconnectLimit::forgetFull(Clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        refill(it->second, now);
        it = it->second.tokens >= kBurst ? buckets_.erase(it) : std::next(it);
    }
}

} // namespace vmd::modbus::admission
