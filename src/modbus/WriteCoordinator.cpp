#include "modbus/WriteCoordinator.h"

namespace vmd::modbus {

void WriteCoordinator::setMap(const regmap::RegisterMap& map, std::shared_ptr<const void> keepAlive) {
    for (auto& op : failsafe_.setMap(map, std::move(keepAlive))) {
        Event event;
        event.kind = Event::Kind::FailsafeDropped;
        event.op = std::move(op);
        events_.push_back(std::move(event));
    }
}

WriteCoordinator::JobId WriteCoordinator::begin(Origin origin, std::vector<WriteOp> writes,
                                                Clock::time_point now) {
    const JobId id = nextJob_++;
    auto& job = jobs_[id];
    job.origin = std::move(origin);
    job.writes = std::move(writes);
    sendNext(id, job, now);
    return id;
}

void WriteCoordinator::sendNext(JobId id, Job& job, Clock::time_point now) {
    if (job.next == job.writes.size()) return finish(id, ExceptionCode::None);
    const auto& op = job.writes[job.next];
    const Token token = nextToken_++;
    pending_[token] = Pending{op, job.origin, id, true, std::nullopt, now};
    ++clientInFlight_[{op.service, op.path}];
    job.expiry = now + writeTimeout_;
    sends_.push_back({token, op, job.origin});
}

void WriteCoordinator::finish(JobId id, ExceptionCode code) {
    jobs_.erase(id);
    finished_.push_back({id, code});
}

void WriteCoordinator::clientWrote(const WriteOp& op, Clock::time_point now) {
    failsafe_.clientWrote(op, now);
    waitLogged_.erase({op.service, op.path});
}

void WriteCoordinator::release(const WriteOp& op) {
    auto it = clientInFlight_.find({op.service, op.path});
    if (it != clientInFlight_.end() && --it->second == 0) clientInFlight_.erase(it);
}

bool WriteCoordinator::clientWriteInFlight(const std::string& service, const std::string& path) const {
    return clientInFlight_.count({service, path}) > 0;
}

void WriteCoordinator::answered(Token token, WriteResult result, int code, Clock::time_point now) {
    auto it = pending_.find(token);
    if (it == pending_.end()) return;
    auto pending = std::move(it->second);
    pending_.erase(it);

    if (!pending.client) {
        Event event;
        event.kind = Event::Kind::FailsafeAnswered;
        event.elapsed = now - pending.sentAt;
        event.result = result;
        event.code = code;
        event.attempt = pending.firing->attempt;
        event.retryIn = failsafe_.written(*pending.firing, result == WriteResult::Accepted, now);
        event.op = std::move(pending.op);
        events_.push_back(std::move(event));
        return;
    }

    release(pending.op);
    const bool late = !pending.job;
    // Accepted, on time or late: the fail-safe is armed from now, as for any accepted write.
    if (result == WriteResult::Accepted) clientWrote(pending.op, now);
    Event event;
    event.kind = late ? Event::Kind::ClientLate : Event::Kind::ClientAnswered;
    event.elapsed = now - pending.sentAt;
    event.op = pending.op;
    event.origin = pending.origin;
    event.result = result;
    event.code = code;
    events_.push_back(std::move(event));
    if (late) return;

    auto job = jobs_.find(*pending.job);
    if (job == jobs_.end()) return;
    if (result == WriteResult::Accepted) {
        ++job->second.next;
        return sendNext(job->first, job->second, now);
    }
    // D-Bus gave up itself (a write timeout longer than its own limit): outcome unknown, as below.
    if (result == WriteResult::TimedOut) clientWrote(pending.op, now);
    finish(job->first, exceptionFor(result));
}

void WriteCoordinator::failedToStart(Token token, Clock::time_point now) {
    auto it = pending_.find(token);
    if (it == pending_.end()) return;
    auto pending = std::move(it->second);
    pending_.erase(it);
    if (!pending.client) { // nothing was sent: the same attempt is due again after the back-off
        (void)failsafe_.written(*pending.firing, false, now);
        return;
    }
    release(pending.op);
    if (pending.job && jobs_.count(*pending.job)) finish(*pending.job, ExceptionCode::ServerDeviceFailure);
}

void WriteCoordinator::tick(Clock::time_point now) {
    // Write timeouts first: a request answered 11 has armed its fail-safe before any fires.
    std::vector<JobId> expired;
    for (const auto& [id, job] : jobs_)
        if (job.expiry && *job.expiry <= now) expired.push_back(id);
    for (auto id : expired) {
        auto& job = jobs_.at(id);
        const auto& op = job.writes[job.next];
        for (auto& [token, pending] : pending_) // the SetValue stays pending; its request is over
            if (pending.job == id) pending.job.reset();
        clientWrote(op, now);
        Event event;
        event.kind = Event::Kind::ClientTimedOut;
        event.op = op;
        event.origin = job.origin;
        event.result = WriteResult::TimedOut;
        events_.push_back(std::move(event));
        finish(id, ExceptionCode::GatewayTargetFailedToRespond);
    }
    fireDue(now);
}

void WriteCoordinator::fireDue(Clock::time_point now) {
    auto held = [this](const std::string& service, const std::string& path) {
        return clientWriteInFlight(service, path);
    };
    for (auto& firing : failsafe_.due(now, held)) {
        Event event;
        event.kind = Event::Kind::FailsafeFires;
        event.op = firing.op;
        event.attempt = firing.attempt;
        events_.push_back(std::move(event));
        const Token token = nextToken_++;
        sends_.push_back({token, firing.op, {}});
        pending_[token] = Pending{firing.op, {}, std::nullopt, false, std::move(firing), now};
    }
    // Say once per arming that a due fail-safe waits for a client write on its path.
    for (const auto& op : failsafe_.heldBack(now, held)) {
        auto key = PathKey{op.first.service, op.first.path};
        if (auto it = waitLogged_.find(key); it != waitLogged_.end() && it->second == op.second) continue;
        waitLogged_[key] = op.second;
        Event event;
        event.kind = Event::Kind::FailsafeWaits;
        event.op = op.first;
        events_.push_back(std::move(event));
    }
}

std::optional<WriteCoordinator::Clock::time_point> WriteCoordinator::nextWake() const {
    auto next = failsafe_.nextDeadline([this](const std::string& service, const std::string& path) {
        return clientWriteInFlight(service, path);
    });
    for (const auto& [id, job] : jobs_)
        if (job.expiry && (!next || *job.expiry < *next)) next = job.expiry;
    return next;
}

} // namespace vmd::modbus
