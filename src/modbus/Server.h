#pragma once

#include "core/Cidr.h"
#include "core/EventLoop.h"
#include "modbus/Admission.h"
#include "modbus/Failsafe.h"
#include "modbus/Mbap.h"
#include "modbus/RequestHandler.h"
#include "modbus/Stats.h"
#include "modbus/Tls.h"
#include "modbus/WriteCoordinator.h"
#include "modbus/WriteSink.h"

#include <sys/socket.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace vmd::modbus {

/// The TLS listeners (Modbus/TCP Security) and what a client certificate's role may do.
struct TlsServerOptions {
    std::vector<std::string> listen;           ///< empty: no TLS
    std::map<std::string, AccessPolicy> roles; ///< role name (the certificate's) -> permission
    std::optional<AccessPolicy> defaultRole;   ///< a certificate without a known role; none: closed
};

struct ServerOptions {
    std::vector<std::string> listen{"0.0.0.0:502"};
    TlsServerOptions tls;
    std::size_t maxClients = 32;                  ///< when full, see admission::admit for who makes room
    std::size_t maxClientsPerAddress = 8;         ///< connections from one IP address; more are refused
    std::vector<core::Cidr> allow;                ///< empty: everyone may connect
    std::vector<core::Cidr> writeAllow;           ///< empty: everyone who may connect may write
    std::chrono::seconds idleTimeout{300};        ///< a client silent this long is disconnected
    std::chrono::milliseconds frameTimeout{5000}; ///< a frame must be complete this soon after it began
    std::chrono::seconds errorLogInterval{10};    ///< a client's repeated errors are logged once per interval
    std::chrono::milliseconds writeTimeout{500};  ///< a write unanswered this long gets exception 11
};

/// Log lines of one kind, the first of an interval logged and the rest counted (to be summed up).
struct RateLimitedLog {
    core::EventLoop::Clock::time_point windowStart{};
    std::uint64_t suppressed = 0;
    std::string last; ///< the most recent suppressed line, for the summary
};

/// The last exception a client got, kept as numbers (formatting is off the hot path).
struct ClientError {
    std::string peer;
    int unit = 0;
    int function = 0;
    int address = -1;
    int quantity = -1;
    ExceptionCode code = ExceptionCode::None;
    std::int64_t time = 0; ///< Unix seconds

    [[nodiscard]] std::string describe() const;
};

/// Modbus TCP on non-blocking sockets in the shared event loop. Frames are assembled here (a
/// client that sends a byte at a time costs nothing and delays nobody); each connection's replies
/// leave in request order: while a write waits for D-Bus, that connection's later requests wait.
class Server {
  public:
    /// Requests one connection has served (or queued) before the others get their turn: one
    /// connection's pipeline delays another's request by at most this many.
    static constexpr std::size_t kRequestsPerTurn = 8;

    Server(core::EventLoop& loop, RequestHandler& handler, WriteSink& writer, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds every listen address; throws std::runtime_error naming the address on failure.
    void listen();
    /// The "HOST:PORT" actually bound, in order (port 0 resolved).
    [[nodiscard]] const std::vector<std::string>& boundAddresses() const { return bound_; }
    [[nodiscard]] const std::vector<std::string>& boundTlsAddresses() const { return tlsBound_; }
    /// The certificate, key, client CA and CRL that new TLS connections are served with. Open TLS
    /// sessions keep their server certificate, but their client certificate is verified again
    /// against the new client CA and CRL, and a session it no longer passes (revoked) is closed.
    /// Needed before listen() when there are TLS listeners.
    void setTlsContext(std::shared_ptr<const TlsContext> context);
    [[nodiscard]] std::size_t clientCount() const { return connections_.size(); }
    [[nodiscard]] const Stats& stats() const { return stats_; }
    /// Fail-safe writes that failed and wait for their retry.
    [[nodiscard]] std::size_t failsafeRetrying() const { return writes_.failsafeRetrying(); }
    /// Requests whose writes are still being carried out, and SetValues not answered yet.
    [[nodiscard]] std::size_t openWriteRequests() const { return writes_.openRequests(); }
    [[nodiscard]] std::size_t pendingWrites() const { return writes_.pendingWrites(); }
    /// The memory the connections' reply buffers hold (their capacity), bounded per connection.
    [[nodiscard]] std::size_t outputBufferBytes() const;
    /// Applies new options to new and current connections (the listen addresses are fixed at start):
    /// open connections no longer in --allow are closed, and --write-allow is decided again for each.
    /// Open TLS sessions get their certificate's permission under the new roles at once; one left
    /// without a role (and default-role none) is closed. The client limits apply to connections
    /// accepted from now on.
    void setOptions(ServerOptions options);
    /// What keeps the current map alive while a write or a fail-safe still refers to it.
    void setMapOwner(std::shared_ptr<const void> owner);
    /// The most recent client exception; the sequence number grows with every one.
    [[nodiscard]] const ClientError& lastError() const { return lastError_; }
    [[nodiscard]] std::uint64_t lastErrorSequence() const { return lastErrorSequence_; }

  private:
    struct Connection;
    struct PendingReply;
    void bind(const std::string& spec, bool tls);
    void accept(int listenFd, bool tls);
    void handshake(Connection& c);
    [[nodiscard]] bool assignRole(Connection& c);
    void scheduleRead(Connection& c);
    [[nodiscard]] bool admit(const sockaddr* address, const std::string& peer, const std::string& host,
                             bool tls);
    [[nodiscard]] std::vector<admission::Slot> slots() const;
    void evict(Connection& victim, const std::string& peer, std::size_t others);
    /// The connection completed a request or a TLS handshake with a role; never closes it.
    void prove(Connection& c);
    void noteConnectionEvent(const std::string& line);
    /// A per-connection line (a bad header, a TLS error, a timeout): rate-limited like refusals.
    void noteClientEvent(const std::string& line, bool warn = false);
    void takeFrames(Connection& c);
    void scheduleTurn(Connection& c);
    void finishIfDone(Connection& c);
    void onEvents(std::uint64_t id, std::uint32_t events);
    void readFrom(Connection& c);
    void processQueue(Connection& c);
    void serve(Connection& c, const Frame& frame);
    void carryOutWrites();
    void startWrite(const WriteCoordinator::Send& send);
    void replyToWrites(const WriteCoordinator::Finish& finish);
    void logWriteEvent(const WriteCoordinator::Event& event);
    void scheduleWake();
    void send(Connection& c, const Frame& request, const Reply& reply);
    void flush(Connection& c);
    void updateInterest(Connection& c);
    void close(std::uint64_t id, const char* why);
    [[nodiscard]] std::optional<std::pair<std::string, AccessPolicy>>
    roleFor(const PeerIdentity& identity) const;
    [[nodiscard]] static std::string roleText(const PeerIdentity& identity);
    void giveRole(Connection& c, const PeerIdentity& identity, std::string name, AccessPolicy policy);
    void reassignRoles();
    void sweep();
    void noteException(Connection& c, const Frame& frame, ExceptionCode code, const std::string& refusal = {});
    void logRequest(const Connection& c, const Frame& frame, const Outcome& outcome);

    core::EventLoop& loop_;
    RequestHandler& handler_;
    WriteSink& writer_;
    ServerOptions options_;
    std::vector<core::Fd> listeners_;
    std::vector<std::string> bound_;
    std::vector<std::string> tlsBound_;
    std::shared_ptr<const TlsContext> tls_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
    std::uint64_t nextId_ = 1;
    WriteCoordinator writes_;
    std::unordered_map<WriteCoordinator::JobId, std::unique_ptr<PendingReply>> replies_;
    std::optional<core::EventLoop::Clock::time_point> wakeTimer_; ///< the earliest coordinator timer set
    Stats stats_;
    RateLimitedLog connectionLog_; ///< refused and evicted connections
    RateLimitedLog clientLog_;     ///< per-connection lines: closes for errors and timeouts
    RateLimitedLog exceptionLog_;  ///< the first exception of an interval of each connection
    admission::ReconnectLimit reconnects_;
    ClientError lastError_;
    std::shared_ptr<const void> mapOwner_;
    std::uint64_t lastErrorSequence_ = 0;
};

/// "HOST:PORT" or "[V6HOST]:PORT" of a socket address.
[[nodiscard]] std::string formatAddress(const sockaddr* address);
/// The IP address alone ("HOST" or "V6HOST"), the key of the per-address connection limit.
[[nodiscard]] std::string formatHost(const sockaddr* address);

} // namespace vmd::modbus
