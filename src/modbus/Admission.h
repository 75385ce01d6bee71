#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

namespace vmd::modbus::admission {

using Clock = std::chrono::steady_clock;

/// What the admission policy knows of an open connection.
struct Slot {
    std::uint64_t id = 0;
    bool proven = false;      ///< completed a request, or a TLS handshake with a role
    bool busy = false;        ///< a write in progress: never evicted
    bool handshaking = false; ///< a TLS handshake in progress
    Clock::time_point connectedAt{};
    Clock::time_point lastActivity{}; ///< the last bytes received
};

struct Limits {
    std::size_t maxClients = 32;
    /// Newcomers let in beyond maxClients while no unproven connection can make room for them; the
    /// first of them to prove itself evicts the proven connection idle longest.
    std::size_t probation = 4;
    std::size_t maxHandshakes = 8;                   ///< TLS handshakes in progress at once
    Clock::duration grace = std::chrono::seconds(1); ///< an unproven connection this young is not evicted
};

/// The limits for a server of `maxClients` connections.
[[nodiscard]] Limits limitsFor(std::size_t maxClients);

enum class Verdict { Admit, Evict, Refuse };
enum class Refusal { None, Handshakes, AllWriting, NoRoom };

struct Decision {
    Verdict verdict = Verdict::Admit;
    std::uint64_t victim = 0; ///< Evict: the connection to close for the newcomer
    Refusal reason = Refusal::None;
    bool probation = false; ///< Admit beyond maxClients (see Limits::probation)
    /// Whether it takes a slot from someone else (now or once proven): the reconnect limit applies.
    [[nodiscard]] bool displaces() const { return verdict == Verdict::Evict || probation; }
};

/// A newcomer (who has proven nothing yet) at a server with the connections `open`:
/// - a TLS newcomer while maxHandshakes are in progress takes the place of the oldest of them past
///   its grace, or is refused: handshakes never displace anyone else once at their cap;
/// - below maxClients: admitted;
/// - full: the oldest unproven connection past its grace makes room (never a proven one, never one
///   with a write in progress);
/// - none: admitted on probation while a proven connection without a write in progress exists and
///   fewer than maxClients + probation are open; else refused.
[[nodiscard]] Decision admit(std::span<const Slot> open, bool tls, const Limits& limits,
                             Clock::time_point now);

/// The connection to close now that `prover` (one of `open`) has proven itself, while more than
/// maxClients are open: the oldest unproven (grace or not), else the proven one idle longest without a
/// write in progress; none when nobody is over the limit or nobody may go.
[[nodiscard]] std::optional<std::uint64_t> makeRoom(std::span<const Slot> open, std::uint64_t prover,
                                                    const Limits& limits, Clock::time_point now);

/// Per address: how often it may take a slot from someone else (evict, or come in on probation) at a
/// full server. A bucket of `burst` that refills one every `period`.
class ReconnectLimit {
  public:
    static constexpr unsigned kBurst = 4;
    static constexpr Clock::duration kPeriod = std::chrono::seconds(1);

    /// Takes one from the address's bucket; false when it is empty (the newcomer is refused).
    [[nodiscard]] bool take(const std::string& host, Clock::time_point now);
    /// Forgets the addresses whose bucket is full again (they would start full anyway).
    void forgetFull(Clock::time_point now);
    [[nodiscard]] std::size_t tracked() const { return buckets_.size(); }

  private:
    struct Bucket {
        double tokens = kBurst;
        Clock::time_point at{};
    };
    static void refill(Bucket& b, Clock::time_point now);
    std::unordered_map<std::string, Bucket> buckets_;
};

} // namespace vmd::modbus::admission
