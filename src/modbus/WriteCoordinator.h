#pragma once

#include "modbus/Failsafe.h"
#include "modbus/RequestHandler.h"
#include "modbus/WriteSink.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vmd::modbus {

/// The life of every write, in one place: a client request's D-Bus writes from receipt to reply,
/// their answers (on time, late, or never), and the fail-safe behind them (docs/architecture.md,
/// "The life of a write"). Pure: the server hands it what happened, with the time, and carries out
/// what it asks for (SetValues to send, replies to send, when to call tick() again).
///
/// The rules, each decided here and nowhere else:
/// - A request's writes are decided once, at receipt (the policy checks are the RequestHandler's),
///   and are then sent one after the other whatever happens to the client's connection: a request
///   is applied whole unless one of its writes is refused or does not answer in time.
/// - Refused (SetValue non-zero, a D-Bus error): the request ends with exception 10; its later
///   writes are not sent.
/// - No answer within the write timeout: the request ends with exception 11, which means "outcome
///   unknown": the SetValue is still pending on D-Bus and may yet apply. The fail-safe is armed at
///   once, as for an accepted write; if the late answer says accepted, it is armed again from then.
/// - A fail-safe write never overtakes a client write: while a client's SetValue to the same D-Bus
///   path is unanswered (even after its request got exception 11), a due fail-safe waits; once the
///   answer comes, an accepted write re-arms it and anything else lets it fire at once. A client
///   write made while a fail-safe write is pending is sent at once: D-Bus delivers both in order,
///   so the client's value is the one that stays.
class WriteCoordinator {
  public:
    using Clock = std::chrono::steady_clock;
    using JobId = std::uint64_t;
    using Token = std::uint64_t;

    /// Who asked, for the log.
    struct Origin {
        std::string peer;
        int unit = 0;
        int function = 0;
    };

    /// A SetValue to start now; its answer goes to answered() with `token`.
    struct Send {
        Token token = 0;
        WriteOp op;
        Origin origin; ///< empty for a fail-safe write
    };

    /// A client request is over: reply to it (`code` None: success).
    struct Finish {
        JobId job = 0;
        ExceptionCode code = ExceptionCode::None;
    };

    /// Something to put in the log (the audit of every write, fail-safe activity).
    struct Event {
        enum class Kind : std::uint8_t {
            ClientAnswered,   ///< a client write's answer, within the timeout
            ClientTimedOut,   ///< the write timeout passed: exception 11, still pending on D-Bus
            ClientLate,       ///< the answer of a write whose request already got exception 11
            FailsafeFires,    ///< a fail-safe write is sent (attempt 0) or retried
            FailsafeWaits,    ///< a due fail-safe waits for a client write on its path
            FailsafeAnswered, ///< a fail-safe write's answer
            FailsafeDropped,  ///< a reload removed a fail-safe rule that was armed
        };
        Kind kind = Kind::ClientAnswered;
        WriteOp op;
        Origin origin;
        WriteResult result = WriteResult::Accepted;
        int code = 0;
        unsigned attempt = 0;
        std::optional<Clock::duration> retryIn; ///< FailsafeAnswered: failed, retried after this
        Clock::duration elapsed{};              ///< answers: how long the SetValue took
    };

    explicit WriteCoordinator(std::chrono::milliseconds writeTimeout) : writeTimeout_(writeTimeout) {}

    /// How long a client write may take before its request gets exception 11 (from the next write on).
    void setWriteTimeout(std::chrono::milliseconds timeout) { writeTimeout_ = timeout; }
    /// The map whose fail-safe rules are in force (Failsafe::setMap); dropped rules become events.
    void setMap(const regmap::RegisterMap& map, std::shared_ptr<const void> keepAlive);

    /// A client request whose writes (at least one) were accepted at receipt. Its first write is sent.
    JobId begin(Origin origin, std::vector<WriteOp> writes, Clock::time_point now);
    /// The answer of a SetValue sent for `token` (WriteSink's TimedOut: D-Bus itself gave up).
    void answered(Token token, WriteResult result, int code, Clock::time_point now);
    /// A write that could not even be started (the sink threw): the request ends with exception 4.
    void failedToStart(Token token, Clock::time_point now);
    /// Time passed: write timeouts and fail-safe deadlines.
    void tick(Clock::time_point now);
    /// When tick() has something to do next, if ever.
    [[nodiscard]] std::optional<Clock::time_point> nextWake() const;

    /// What to do now, in order; each call empties the list.
    [[nodiscard]] std::vector<Send> takeSends() { return std::exchange(sends_, {}); }
    [[nodiscard]] std::vector<Finish> takeFinished() { return std::exchange(finished_, {}); }
    [[nodiscard]] std::vector<Event> takeEvents() { return std::exchange(events_, {}); }

    /// Requests whose reply is still to be decided.
    [[nodiscard]] std::size_t openRequests() const { return jobs_.size(); }
    /// SetValues sent and not answered yet, client and fail-safe.
    [[nodiscard]] std::size_t pendingWrites() const { return pending_.size(); }
    /// Fail-safe writes that failed and wait for their retry.
    [[nodiscard]] std::size_t failsafeRetrying() const { return failsafe_.retrying(); }

  private:
    struct Job {
        Origin origin;
        std::vector<WriteOp> writes;
        std::size_t next = 0;                    ///< the write in flight (or to send)
        std::optional<Clock::time_point> expiry; ///< when the write in flight gets exception 11
    };
    struct Pending {
        WriteOp op;
        Origin origin;
        std::optional<JobId> job;               ///< a client write whose request still waits for it
        bool client = true;                     ///< false: a fail-safe write
        std::optional<Failsafe::Firing> firing; ///< the fail-safe attempt
        Clock::time_point sentAt;
    };
    using PathKey = std::pair<std::string, std::string>; ///< (service, path)

    void sendNext(JobId id, Job& job, Clock::time_point now);
    void finish(JobId id, ExceptionCode code);
    void clientWrote(const WriteOp& op, Clock::time_point now);
    void fireDue(Clock::time_point now);
    void release(const WriteOp& op);
    [[nodiscard]] bool clientWriteInFlight(const std::string& service, const std::string& path) const;

    std::chrono::milliseconds writeTimeout_;
    Failsafe failsafe_;
    std::map<JobId, Job> jobs_;
    std::map<Token, Pending> pending_;
    std::map<PathKey, unsigned> clientInFlight_; ///< unanswered client SetValues per D-Bus path
    std::map<PathKey, Token> waitLogged_;        ///< fail-safes already logged as waiting (by ticket)
    JobId nextJob_ = 1;
    Token nextToken_ = 1;
    std::vector<Send> sends_;
    std::vector<Finish> finished_;
    std::vector<Event> events_;
};

} // namespace vmd::modbus
