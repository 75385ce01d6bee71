#include "modbus/Server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>

namespace vmd::modbus {

namespace {

constexpr std::size_t kInputBufferSize = 4 * kMaxAduSize;
constexpr std::size_t kMaxQueuedFrames = 64;
constexpr std::size_t kMaxPendingOutput = 64 * 1024;
static_assert(Server::kRequestsPerTurn > 0);

std::shared_ptr<spdlog::logger> log() {
    static auto logger = spdlog::get("modbus");
    return logger ? logger : spdlog::default_logger();
}

std::string describe(WriteResult result, int code) {
    switch (result) {
    case WriteResult::Accepted:
        return "accepted";
    case WriteResult::TimedOut:
        return "timed out";
    case WriteResult::Refused:
        break;
    }
    return code < 0 ? "refused (D-Bus error)" : "refused (SetValue returned " + std::to_string(code) + ")";
}

bool isWrite(int fc) {
    return fc == static_cast<int>(FunctionCode::WriteSingleRegister) ||
           fc == static_cast<int>(FunctionCode::WriteMultipleRegisters) ||
           fc == static_cast<int>(FunctionCode::ReadWriteMultipleRegisters);
}

std::int64_t unixNow() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

} // namespace

IoResult PlainStream::read(std::uint8_t* data, std::size_t size) {
    ssize_t n = ::read(fd_, data, size);
    if (n > 0) return {IoResult::Status::Done, static_cast<std::size_t>(n), ""};
    if (n == 0) return {IoResult::Status::Closed, 0, ""};
    if (errno == EAGAIN || errno == EINTR) return {IoResult::Status::WouldBlock, 0, ""};
    return {IoResult::Status::Failed, 0, std::strerror(errno)};
}

IoResult PlainStream::write(const std::uint8_t* data, std::size_t size) {
    ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n >= 0) return {IoResult::Status::Done, static_cast<std::size_t>(n), ""};
    if (errno == EAGAIN || errno == EINTR) return {IoResult::Status::WouldBlock, 0, ""};
    return {IoResult::Status::Failed, 0, std::strerror(errno)};
}

std::string formatHost(const sockaddr* address) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (address->sa_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, host, sizeof host);
    else if (address->sa_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, host, sizeof host);
    return host;
}

std::string formatAddress(const sockaddr* address) {
    // fmt rather than "[" + std::string(...): GCC 12 at -O3 reports a false -Wrestrict in the
    // inlined basic_string::insert of operator+(const char*, std::string&&) (GCC bug 105651).
    if (address->sa_family == AF_INET)
        return fmt::format("{}:{}", formatHost(address),
                           ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port));
    unsigned port = 0;
    if (address->sa_family == AF_INET6)
        port = ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
    return fmt::format("[{}]:{}", formatHost(address), port);
}

struct Server::Connection {
    std::uint64_t id = 0;
    core::Fd fd;
    sockaddr_storage address{};
    std::string peer;
    std::string host;                   ///< the peer's IP address, for the per-address limit
    std::unique_ptr<ByteStream> stream; ///< after fd: destroyed first (a TLS close_notify goes out)
    TlsStream* tls = nullptr;           ///< the stream, when it is TLS
    std::string role;                   ///< TLS: the certificate's role (or the default's name)
    AccessPolicy access;                ///< what this connection may do, handed to the handler
    std::uint32_t wanted = 0;           ///< EPOLLIN / EPOLLOUT the server wants, before the stream's needs
    bool readScheduled = false;         ///< a read of TLS bytes already decrypted is on its way
    bool peerClosed = false; ///< the client shut down its side: finish pending work, send, then close
    std::array<std::uint8_t, kInputBufferSize> in{};
    std::size_t inSize = 0;
    std::vector<std::uint8_t> out;
    std::size_t outOffset = 0;
    std::deque<std::vector<std::uint8_t>> queue; ///< whole frames waiting behind a pending write
    bool busy = false;                           ///< a write is in flight
    std::uint32_t interest = 0;
    core::EventLoop::Clock::time_point lastActivity;
    std::optional<core::EventLoop::Clock::time_point> partialSince; ///< when the unfinished frame began
    core::EventLoop::Clock::time_point connectedAt;
    core::EventLoop::Clock::time_point idleSince; ///< the idle timeout counts from here (see updateInterest)
    bool idlePaused = false; ///< the server is not reading from it: the idle clock stands still
    bool proven = false;     ///< completed a request, or a TLS handshake with a role (admission)
    bool backlog = false;    ///< whole frames wait in `in` for the connection's next turn (fairness)
    bool turnScheduled = false;
    // Rate-limited error log: the first exception of an interval is logged, the rest counted.
    core::EventLoop::Clock::time_point errorWindowStart;
    std::uint64_t suppressedErrors = 0;
    ClientError lastError;
};

/// A request whose reply waits for its writes (WriteCoordinator decides when and with what).
struct Server::PendingReply {
    std::uint64_t connection = 0;
    Frame request;
    std::array<std::uint8_t, kMaxAduSize> frameBytes{};
    Outcome outcome; ///< the reply to send on success; its writes were handed to the coordinator
};

Server::Server(core::EventLoop& loop, RequestHandler& handler, WriteSink& writer, ServerOptions options)
    : loop_(loop), handler_(handler), writer_(writer), options_(std::move(options)),
      writes_(options_.writeTimeout) {}

Server::~Server() {
    for (auto& fd : listeners_)
        loop_.remove(fd.get());
    for (auto& [id, c] : connections_)
        loop_.remove(c->fd.get());
}

void Server::listen() {
    if (!options_.tls.listen.empty() && !tls_) throw std::runtime_error("TLS listeners without certificates");
    for (const auto& spec : options_.listen)
        bind(spec, false);
    for (const auto& spec : options_.tls.listen)
        bind(spec, true);
    loop_.at(core::EventLoop::Clock::now() + std::chrono::seconds(1), [this] { sweep(); });
}

void Server::bind(const std::string& spec, bool tls) {
    {
        auto colon = spec.rfind(':');
        if (colon == std::string::npos)
            throw std::runtime_error("listen address '" + spec + "' is not HOST:PORT");
        std::string host = spec.substr(0, colon);
        std::string port = spec.substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        addrinfo* result = nullptr;
        if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &result);
            rc != 0)
            throw std::runtime_error("listen address '" + spec + "': " + ::gai_strerror(rc));
        std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(result, ::freeaddrinfo);
        core::Fd fd(::socket(result->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (!fd || ::bind(fd.get(), result->ai_addr, result->ai_addrlen) != 0 || ::listen(fd.get(), 128) != 0)
            throw std::runtime_error("cannot listen on " + spec + ": " + std::strerror(errno));
        sockaddr_storage local{};
        socklen_t length = sizeof local;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &length);
        (tls ? tlsBound_ : bound_).push_back(formatAddress(reinterpret_cast<sockaddr*>(&local)));
        int raw = fd.get();
        loop_.add(raw, EPOLLIN, [this, raw, tls](std::uint32_t) { accept(raw, tls); });
        listeners_.push_back(std::move(fd));
    }
}

void Server::sweep() {
    const auto now = core::EventLoop::Clock::now();
    std::vector<std::pair<std::uint64_t, const char*>> expired;
    for (auto& [id, c] : connections_) {
        if (!c->stream->isOpen() && now - c->lastActivity > options_.frameTimeout)
            expired.emplace_back(id, "TLS handshake timeout (--frame-timeout)");
        else if (c->partialSince && now - *c->partialSince > options_.frameTimeout)
            expired.emplace_back(id, "frame timeout: a request stayed incomplete");
        else if (!c->busy && !c->idlePaused && now - c->idleSince > options_.idleTimeout)
            expired.emplace_back(id, "idle timeout");
        if (c->suppressedErrors > 0 && now - c->errorWindowStart >= options_.errorLogInterval) {
            log()->warn("{}: {} more exceptions in the last {} s (last: {})", c->peer, c->suppressedErrors,
                        std::chrono::duration_cast<std::chrono::seconds>(now - c->errorWindowStart).count(),
                        c->lastError.describe());
            c->suppressedErrors = 0;
            c->errorWindowStart = now;
        }
    }
    auto summarize = [&](RateLimitedLog& l, const char* what) {
        if (l.suppressed == 0 || now - l.windowStart < options_.errorLogInterval) return;
        log()->warn("{} more {} in the last {} s (last: {})", l.suppressed, what,
                    std::chrono::duration_cast<std::chrono::seconds>(now - l.windowStart).count(), l.last);
        l.suppressed = 0;
        l.windowStart = now;
    };
    summarize(connectionLog_, "connections refused or evicted");
    summarize(clientLog_, "connections closed for an error or a timeout");
    summarize(exceptionLog_, "clients' first exceptions not logged");
    reconnects_.forgetFull(now);
    for (auto [id, why] : expired) {
        if (auto it = connections_.find(id); it != connections_.end())
            noteClientEvent(fmt::format("{}: closing: {}", it->second->peer, why));
        close(id, why);
    }
    loop_.at(now + std::chrono::seconds(1), [this] { sweep(); });
}

std::string ClientError::describe() const {
    return fmt::format("{}: unit {} function {} address {} quantity {}: exception {}", peer, unit, function,
                       address, quantity, static_cast<int>(code));
}

/// At debug level, one line a request and one its answer (the answer of a write comes when D-Bus has
/// answered: its audit line at info level).
void Server::logRequest(const Connection& c, const Frame& frame, const Outcome& outcome) {
    const auto& pdu = frame.pdu;
    auto field = [&](std::size_t at) { return pdu.size() >= at + 2 ? (pdu[at] << 8) | pdu[at + 1] : -1; };
    log()->debug("{}: request transaction {} unit {} function {} address {} quantity {} ({} bytes)", c.peer,
                 frame.transactionId, frame.unit, pdu[0], field(1), pdu[0] == 6 ? 1 : field(3), pdu.size());
    if (!outcome.writes.empty())
        log()->debug("{}: transaction {}: {} D-Bus write(s) to carry out before the answer", c.peer,
                     frame.transactionId, outcome.writes.size());
    else if (outcome.reply.isException())
        log()->debug("{}: answer transaction {}: exception {}", c.peer, frame.transactionId,
                     static_cast<int>(outcome.reply.exception()));
    else
        log()->debug("{}: answer transaction {}: {} bytes", c.peer, frame.transactionId, outcome.reply.size);
}

void Server::noteException(Connection& c, const Frame& frame, ExceptionCode code, const std::string& refusal) {
    // Only numbers are kept here: text is made when a line is logged or the diagnostics ask.
    const auto& pdu = frame.pdu;
    auto field = [&](std::size_t at) { return pdu.size() >= at + 2 ? (pdu[at] << 8) | pdu[at + 1] : -1; };
    auto& e = c.lastError;
    e.unit = frame.unit;
    e.function = pdu[0];
    e.address = field(1);
    e.quantity = pdu[0] == 6 ? 1 : field(3);
    e.code = code;
    lastError_ = e;
    lastError_.time = std::time(nullptr);
    ++lastErrorSequence_;
    const auto now = core::EventLoop::Clock::now();
    if (isWrite(e.function) && code == ExceptionCode::IllegalFunction) ++stats_.writesRefusedByRole;
    if (c.suppressedErrors == 0 && now - c.errorWindowStart >= options_.errorLogInterval) {
        // The first of an interval; the rest are counted. A refused write names the writer (for
        // TLS, its certificate's subject and role are part of the peer).
        // Across connections too: a flood of new connections with one error each is counted, not logged.
        auto line = fmt::format("{}{}{}{}", isWrite(e.function) ? "write refused: " : "", e.describe(),
                                refusal.empty() ? "" : ": ", refusal);
        auto& l = exceptionLog_;
        if (l.suppressed == 0 && now - l.windowStart >= options_.errorLogInterval) {
            log()->info("{}", line);
            l.windowStart = now;
        } else {
            ++l.suppressed;
            l.last = std::move(line);
        }
        c.errorWindowStart = now;
    } else {
        ++c.suppressedErrors;
    }
}

namespace {

bool inList(const std::vector<core::Cidr>& list, const sockaddr* address) {
    if (list.empty()) return true;
    for (const auto& cidr : list)
        if (cidr.contains(address)) return true;
    return false;
}

} // namespace

void Server::accept(int listenFd, bool tls) {
    // A bounded number per wake-up, like requests: a flood of connections (refused or evicted ones
    // reconnecting at once) waits behind the requests of the connections already open.
    for (std::size_t accepted = 0; accepted < kRequestsPerTurn; ++accepted) {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        core::Fd fd(::accept4(listenFd, reinterpret_cast<sockaddr*>(&address), &length,
                              SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) return; // EAGAIN, or a connection reset before we got to it
        const auto* peerAddress = reinterpret_cast<const sockaddr*>(&address);
        auto peer = formatAddress(peerAddress);
        auto host = formatHost(peerAddress);
        if (!admit(peerAddress, peer, host, tls)) continue; // fd closes here
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Connection>();
        c->id = nextId_++;
        c->address = address;
        c->peer = peer;
        c->host = host;
        c->lastError.peer = peer;
        c->access.addressMayWrite = inList(options_.writeAllow, peerAddress);
        if (tls) {
            std::unique_ptr<TlsStream> stream;
            try {
                stream = std::make_unique<TlsStream>(*tls_, fd.get());
            } catch (const std::exception& e) { // out of memory in OpenSSL: this client only
                noteConnectionEvent(fmt::format("{}: connection refused: {}", peer, e.what()));
                continue;
            }
            c->tls = stream.get();
            c->stream = std::move(stream);
        } else {
            c->stream = std::make_unique<PlainStream>(fd.get());
        }
        c->wanted = EPOLLIN;
        c->interest = c->stream->interest(c->wanted);
        c->lastActivity = c->connectedAt = c->idleSince = core::EventLoop::Clock::now();
        std::uint64_t id = c->id;
        loop_.add(fd.get(), c->interest, [this, id](std::uint32_t events) { onEvents(id, events); });
        c->fd = std::move(fd);
        log()->debug("{}: connected{}", peer, tls ? " (TLS)" : "");
        connections_.emplace(id, std::move(c));
    }
}

/// Whether a new connection may stay: in --allow, under the per-address limit, and a slot the
/// admission policy gives it (docs/protocol.md "Hostile clients"), made by evicting someone that has
/// proven nothing when the server is full.
bool Server::admit(const sockaddr* address, const std::string& peer, const std::string& host, bool tls) {
    auto refuse = [&](const std::string& why) {
        ++stats_.connectionsRefused;
        noteConnectionEvent(fmt::format("{}: connection refused: {}", peer, why));
        return false;
    };
    if (!inList(options_.allow, address)) return refuse("not in --allow");
    const auto fromHost = static_cast<std::size_t>(
        std::count_if(connections_.begin(), connections_.end(),
                      [&](const auto& entry) { return entry.second->host == host; }));
    if (fromHost >= options_.maxClientsPerAddress)
        return refuse(
            fmt::format("already {} connections from {} (--max-clients-per-address)", fromHost, host));
    const auto now = core::EventLoop::Clock::now();
    const auto limits = admission::limitsFor(options_.maxClients);
    const auto decision = admission::admit(slots(), tls, limits, now);
    switch (decision.reason) {
    case admission::Refusal::None:
        break;
    case admission::Refusal::Handshakes:
        return refuse(
            fmt::format("already {} TLS handshakes in progress, none older than {} ms", limits.maxHandshakes,
                        std::chrono::duration_cast<std::chrono::milliseconds>(limits.grace).count()));
    case admission::Refusal::AllWriting:
        return refuse(fmt::format("already {} clients (--max-clients), each with a write in progress",
                                  connections_.size()));
    case admission::Refusal::NoRoom:
        return refuse(
            fmt::format("already {} clients (--max-clients); none may be evicted for a newcomer (a "
                        "client that was served, or one connected less than {} ms ago)",
                        connections_.size(),
                        std::chrono::duration_cast<std::chrono::milliseconds>(limits.grace).count()));
    }
    if (decision.displaces() && !reconnects_.take(host, now))
        return refuse(
            fmt::format("already {} clients (--max-clients), and {} took the place of others too often "
                        "(reconnect limit: {} at once, then one a second)",
                        connections_.size(), host, admission::ReconnectLimit::kBurst));
    if (decision.verdict == admission::Verdict::Evict)
        evict(*connections_.at(decision.victim), peer, connections_.size());
    return true;
}

std::vector<admission::Slot> Server::slots() const {
    std::vector<admission::Slot> slots;
    slots.reserve(connections_.size());
    for (const auto& [id, c] : connections_)
        slots.push_back({id, c->proven, c->busy, !c->stream->isOpen(), c->connectedAt, c->lastActivity});
    return slots;
}

void Server::evict(Connection& victim, const std::string& peer, std::size_t others) {
    const auto idle =
        std::chrono::duration_cast<std::chrono::seconds>(core::EventLoop::Clock::now() - victim.lastActivity);
    noteConnectionEvent(
        fmt::format("{}: closing: evicted for {} (already {} clients, --max-clients), idle {} s{}",
                    victim.peer, peer, others, idle.count(), victim.proven ? "" : ", never served"));
    close(victim.id, "evicted");
}

void Server::prove(Connection& c) {
    if (c.proven) return;
    c.proven = true;
    if (connections_.size() <= options_.maxClients) return;
    // A newcomer let in on probation has proven itself: now someone makes room for it.
    const auto limits = admission::limitsFor(options_.maxClients);
    if (auto victim = admission::makeRoom(slots(), c.id, limits, core::EventLoop::Clock::now()))
        evict(*connections_.at(*victim), c.peer, connections_.size() - 1);
}

namespace {

/// The first line of an interval is logged, the rest counted (and summed up by sweep()).
bool firstOfInterval(RateLimitedLog& l, const std::string& line, std::chrono::seconds interval) {
    const auto now = core::EventLoop::Clock::now();
    if (l.suppressed == 0 && now - l.windowStart >= interval) {
        l.windowStart = now;
        return true;
    }
    ++l.suppressed;
    l.last = line;
    return false;
}

} // namespace

/// Refused and evicted connections: the first of an interval is logged, the rest counted and
/// summed up by sweep().
void Server::noteConnectionEvent(const std::string& line) {
    if (firstOfInterval(connectionLog_, line, options_.errorLogInterval)) log()->warn("{}", line);
}

void Server::noteClientEvent(const std::string& line, bool warn) {
    if (firstOfInterval(clientLog_, line, options_.errorLogInterval))
        log()->log(warn ? spdlog::level::warn : spdlog::level::info, "{}", line);
}

void Server::onEvents(std::uint64_t id, std::uint32_t events) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    auto& c = *it->second;
    if (events & (EPOLLERR | EPOLLHUP)) return close(id, "connection reset");
    if (!c.stream->isOpen()) return handshake(c);
    // A TLS stream may need the other direction's event to go on (want-read / want-write): on any
    // of its events, whatever is pending is tried again.
    const bool tls = c.tls != nullptr;
    if ((events & EPOLLOUT) || (tls && c.outOffset < c.out.size())) flush(c);
    if (!connections_.count(id)) return;
    if ((events & EPOLLIN) || (tls && (c.wanted & EPOLLIN))) readFrom(c);
}

/// Drives a TLS handshake on; once done, the certificate's role decides what the connection may do.
void Server::handshake(Connection& c) {
    const auto id = c.id;
    auto result = c.stream->open();
    switch (result.status) {
    case IoResult::Status::WouldBlock:
        return updateInterest(c);
    case IoResult::Status::Closed:
    case IoResult::Status::Failed:
        ++stats_.tlsHandshakeFailures;
        noteConnectionEvent(fmt::format("{}: TLS handshake failed: {}", c.peer, result.error));
        return close(id, "TLS handshake failed");
    case IoResult::Status::Done:
        break;
    }
    // Begun before a reload replaced the client CA or CRL: verified again against the current ones.
    if (auto why = c.tls->servedBy(*tls_) ? std::string() : c.tls->verifyWith(*tls_); !why.empty()) {
        ++stats_.tlsHandshakeFailures;
        noteConnectionEvent(
            fmt::format("{}: TLS handshake failed: client certificate: {} (reloaded CA/CRL)", c.peer, why));
        return close(id, "TLS handshake failed");
    }
    if (!assignRole(c)) return close(id, "no role");
    ++stats_.tlsConnections;
    prove(c);
    c.lastActivity = core::EventLoop::Clock::now();
    log()->info("{}: TLS connection, may {}", c.peer, c.access.describe());
    readFrom(c); // a request may have come with the handshake's last flight
}

/// The connection's access policy from its certificate's role (or the default role); false when
/// it has none, which is logged and counted.
bool Server::assignRole(Connection& c) {
    auto identity = c.tls->peer();
    auto role = roleFor(identity);
    if (!role) {
        ++stats_.tlsRoleRefusals;
        noteConnectionEvent(fmt::format("{}: closing: certificate '{}' has {} and default-role is none",
                                        formatAddress(reinterpret_cast<const sockaddr*>(&c.address)),
                                        identity.subject, roleText(identity)));
        return false;
    }
    giveRole(c, identity, std::move(role->first), std::move(role->second));
    return true;
}

/// Bytes TLS already decrypted announce no socket event: they are read from the loop.
void Server::scheduleRead(Connection& c) {
    if (c.readScheduled) return;
    c.readScheduled = true;
    const auto id = c.id;
    loop_.at(core::EventLoop::Clock::now(), [this, id] {
        auto it = connections_.find(id);
        if (it == connections_.end()) return;
        it->second->readScheduled = false;
        if (it->second->wanted & EPOLLIN) readFrom(*it->second);
    });
}

void Server::readFrom(Connection& c) {
    const auto id = c.id;
    if (c.backlog) return takeFrames(c); // the whole frames of an earlier read come first
    if (c.inSize == c.in.size()) return updateInterest(c);
    auto result = c.stream->read(c.in.data() + c.inSize, c.in.size() - c.inSize);
    if (result.status == IoResult::Status::Closed) {
        // A half-close (shutdown(SHUT_WR)) ends the requests, not the replies: the requests already
        // received are carried out and answered first. An unfinished frame can never complete.
        c.peerClosed = true;
        if (c.inSize > 0)
            noteClientEvent(
                fmt::format("{}: closed with an incomplete request of {} bytes", c.peer, c.inSize));
        c.inSize = 0;
        c.partialSince.reset();
        updateInterest(c);
        return finishIfDone(c);
    }
    if (result.status == IoResult::Status::WouldBlock) return updateInterest(c); // TLS may need EPOLLOUT
    if (result.status == IoResult::Status::Failed) {
        if (c.tls) noteClientEvent(fmt::format("{}: closing: TLS: {}", c.peer, result.error));
        return close(id, result.error);
    }
    c.inSize += result.bytes;
    c.lastActivity = c.idleSince = core::EventLoop::Clock::now();
    takeFrames(c);
}

/// Serves (or queues behind a write in progress) the whole frames in the input buffer: at most
/// kRequestsPerTurn, and none once back-pressure applies; the rest wait for the connection's next
/// turn (scheduleTurn), after every other connection ready now had its own.
void Server::takeFrames(Connection& c) {
    const auto id = c.id;
    c.backlog = false;
    std::size_t offset = 0;
    for (std::size_t taken = 0;; ++taken) {
        Frame frame;
        auto status = parseFrame({c.in.data() + offset, c.inSize - offset}, frame);
        if (status == FrameStatus::Incomplete) break;
        if (status == FrameStatus::Malformed) {
            noteClientEvent(
                fmt::format("{}: malformed MBAP header: {}: closing", c.peer, headerProblem(frame)), true);
            return close(id, "malformed frame");
        }
        if (taken == kRequestsPerTurn || c.out.size() - c.outOffset >= kMaxPendingOutput ||
            c.queue.size() >= kMaxQueuedFrames) {
            c.backlog = true;
            break;
        }
        prove(c);
        if (c.busy || !c.queue.empty())
            c.queue.emplace_back(c.in.data() + offset, c.in.data() + offset + frame.size);
        else
            serve(c, frame);
        if (!connections_.count(id)) return;
        offset += frame.size;
    }
    std::memmove(c.in.data(), c.in.data() + offset, c.inSize - offset);
    c.inSize -= offset;
    // A frame left unfinished behind whole ones began with the read that brought it: its clock starts
    // again (in updateInterest) when the server reads.
    if (c.inSize == 0 || offset > 0) c.partialSince.reset();
    updateInterest(c);
}

void Server::processQueue(Connection& c) {
    const auto id = c.id;
    for (std::size_t taken = 0; !c.busy && !c.queue.empty(); ++taken) {
        if (taken == kRequestsPerTurn) {
            scheduleTurn(c); // the others first
            break;
        }
        auto bytes = std::move(c.queue.front());
        c.queue.pop_front();
        Frame frame;
        (void)parseFrame(bytes, frame);
        serve(c, frame);
        if (!connections_.count(id)) return;
    }
    updateInterest(c);
}

/// The connection's next turn, after the connections ready now: its queued requests, then the
/// whole frames left in its input buffer.
void Server::scheduleTurn(Connection& c) {
    if (c.turnScheduled) return;
    c.turnScheduled = true;
    const auto id = c.id;
    loop_.at(core::EventLoop::Clock::now(), [this, id] {
        auto it = connections_.find(id);
        if (it == connections_.end()) return;
        auto& c = *it->second;
        c.turnScheduled = false;
        if (!c.busy && !c.queue.empty())
            processQueue(c);
        else if (c.backlog)
            takeFrames(c);
    });
}

void Server::serve(Connection& c, const Frame& frame) {
    Outcome outcome;
    try {
        if (frame.pdu.size() > kMaxPduSize) // a frame the spec does not allow, but whole: say so
            RequestHandler::exception(frame.pdu[0], ExceptionCode::IllegalDataValue, outcome.reply);
        else
            outcome = handler_.handle(frame.unit, frame.pdu, unixNow(), c.access);
    } catch (const std::exception& e) {
        log()->error("{}: unit {} function {}: internal error: {}", c.peer, frame.unit, frame.pdu[0],
                     e.what());
        outcome.writes.clear();
        RequestHandler::exception(frame.pdu[0], ExceptionCode::ServerDeviceFailure, outcome.reply);
    }
    ++stats_.requests;
    if (outcome.reply.isException()) stats_.countException(outcome.reply.exception());
    if (outcome.reply.isException()) noteException(c, frame, outcome.reply.exception(), outcome.refusal);
    if (log()->should_log(spdlog::level::debug)) logRequest(c, frame, outcome);
    if (outcome.writes.empty()) return send(c, frame, outcome.reply);

    // The writes go to the coordinator, which owns them from here: a request is applied whole even
    // when its client leaves meanwhile. This connection's later requests wait for its reply.
    for (auto& op : outcome.writes)
        op.keepAlive = mapOwner_;
    auto writes = std::move(outcome.writes);
    auto reply = std::make_unique<PendingReply>();
    reply->connection = c.id;
    std::copy(frame.pdu.begin(), frame.pdu.end(), reply->frameBytes.begin());
    reply->request = frame;
    reply->request.pdu = {reply->frameBytes.data(), frame.pdu.size()};
    reply->outcome = std::move(outcome);
    c.busy = true;
    const auto job = writes_.begin({c.peer, frame.unit, frame.pdu[0]}, std::move(writes), WriteCoordinator::Clock::now());
    replies_.emplace(job, std::move(reply));
    carryOutWrites();
}

/// Does what the write coordinator asks for: SetValues to send, replies to send, lines to log, and
/// when to wake it next. Called after every event handed to it.
void Server::carryOutWrites() {
    for (;;) {
        auto sends = writes_.takeSends();
        auto finished = writes_.takeFinished();
        auto events = writes_.takeEvents();
        if (sends.empty() && finished.empty() && events.empty()) break;
        for (const auto& event : events)
            logWriteEvent(event);
        for (auto& send : sends)
            startWrite(send);
        for (const auto& finish : finished)
            replyToWrites(finish);
    }
    scheduleWake();
}

void Server::startWrite(const WriteCoordinator::Send& send) {
    const auto token = send.token;
    try {
        writer_.write(send.op, [this, token](WriteResult result, int code) {
            // Continue from the event loop, never from inside the writer's call stack.
            loop_.at(core::EventLoop::Clock::now(), [this, token, result, code] {
                writes_.answered(token, result, code, WriteCoordinator::Clock::now());
                carryOutWrites();
            });
        });
    } catch (const std::exception& e) {
        // A write that cannot even be started is an internal error, like one in serve(): exception 4.
        // The writes already accepted stand and the rest are not sent, as after a refusal.
        if (send.origin.peer.empty())
            log()->error("fail-safe write {} {}: internal error: {}", send.op.service, send.op.path, e.what());
        else
            log()->error("{}: unit {} function {}: internal error: {}", send.origin.peer, send.origin.unit,
                         send.origin.function, e.what());
        loop_.at(core::EventLoop::Clock::now(), [this, token] {
            writes_.failedToStart(token, WriteCoordinator::Clock::now());
            carryOutWrites();
        });
    }
}

void Server::replyToWrites(const WriteCoordinator::Finish& finish) {
    auto it = replies_.find(finish.job);
    if (it == replies_.end()) return;
    auto pending = std::move(it->second);
    replies_.erase(it);
    auto& outcome = pending->outcome;
    if (finish.code != ExceptionCode::None) {
        stats_.countException(finish.code);
        RequestHandler::exception(pending->request.pdu[0], finish.code, outcome.reply);
    } else if (outcome.readAfterWrite) {
        handler_.read(pending->request.unit, pending->request.pdu[0], outcome.readAddress, outcome.readQuantity,
                      unixNow(), outcome.reply);
    }
    auto c = connections_.find(pending->connection);
    if (c == connections_.end()) return; // the client left: its writes were all carried out, the reply has no one to go to
    const auto id = c->first;
    log()->debug("{}: answer transaction {}: {}", c->second->peer, pending->request.transactionId,
                 finish.code == ExceptionCode::None ? std::string("written")
                                                    : fmt::format("exception {}", static_cast<int>(finish.code)));
    c->second->busy = false;
    send(*c->second, pending->request, outcome.reply);
    if (auto again = connections_.find(id); again != connections_.end()) processQueue(*again->second);
}

namespace {

std::string wordsOf(const WriteOp& op) {
    std::string words;
    for (auto w : op.words)
        words += fmt::format("{}0x{:04X}", words.empty() ? "" : " ", w);
    return words;
}

} // namespace

void Server::logWriteEvent(const WriteCoordinator::Event& event) {
    using Kind = WriteCoordinator::Event::Kind;
    const auto& op = event.op;
    const int address = op.reg ? op.reg->address : 0;
    auto audit = [&](const std::string& what) {
        log()->info("write from {} unit {} register {} words [{}] -> {} {} = {} ({}): {}", event.origin.peer,
                    event.origin.unit, address, wordsOf(op), op.service, op.path, codec::toText(op.value.value),
                    op.value.dbusType, what);
    };
    if (event.kind == Kind::ClientAnswered || event.kind == Kind::ClientLate || event.kind == Kind::FailsafeAnswered)
        log()->debug("SetValue {} {} answered in {} ms: {}", op.service, op.path,
                     std::chrono::duration_cast<std::chrono::milliseconds>(event.elapsed).count(),
                     describe(event.result, event.code));
    switch (event.kind) {
    case Kind::ClientAnswered:
        if (event.result == WriteResult::Accepted)
            ++stats_.writes;
        else
            ++stats_.failedWrites;
        return audit(describe(event.result, event.code));
    case Kind::ClientTimedOut:
        ++stats_.failedWrites;
        return audit(fmt::format("no answer within {} ms: exception 11 (outcome unknown: the SetValue is still "
                                 "pending and may yet apply; its fail-safe, if any, is armed)",
                                 options_.writeTimeout.count()));
    case Kind::ClientLate:
        if (event.result == WriteResult::Accepted) ++stats_.writes;
        return audit(fmt::format("answered after its request got exception 11: {}{}", describe(event.result, event.code),
                                 event.result == WriteResult::Accepted ? " (the value applied late; fail-safe armed from now)"
                                                                       : ""));
    case Kind::FailsafeFires:
        if (event.attempt == 0) {
            ++stats_.failsafeActivations;
            return log()->warn("fail-safe: no client wrote register {} ({} {}) for {} s: writing {}", address,
                               op.service, op.path, op.reg->failsafe->afterSeconds, codec::toText(op.value.value));
        }
        return log()->warn("fail-safe: register {} ({} {}): writing {} again (retry {})", address, op.service,
                           op.path, codec::toText(op.value.value), event.attempt);
    case Kind::FailsafeWaits:
        return log()->info("fail-safe: register {} ({} {}) is due but waits for a client write to that path that is "
                           "still unanswered",
                           address, op.service, op.path);
    case Kind::FailsafeAnswered:
        if (event.result == WriteResult::Accepted)
            return log()->info("fail-safe write {} {}: accepted", op.service, op.path);
        if (event.retryIn)
            return log()->error("fail-safe write {} {}: {}; retrying in {} s, until it is accepted or a client "
                                "writes register {} again",
                                op.service, op.path, describe(event.result, event.code),
                                std::chrono::duration_cast<std::chrono::seconds>(*event.retryIn).count(), address);
        return log()->warn("fail-safe write {} {}: {}; not retried: a client wrote the register since, or a "
                           "reload changed its fail-safe",
                           op.service, op.path, describe(event.result, event.code));
    case Kind::FailsafeDropped:
        return log()->info("fail-safe of {} {} disarmed: register {} has no such fail-safe in the new map",
                           op.service, op.path, address);
    }
}

void Server::send(Connection& c, const Frame& request, const Reply& reply) {
    std::array<std::uint8_t, kMaxAduSize> adu{};
    auto size = buildAdu(request, reply.pdu(), adu.data());
    c.out.insert(c.out.end(), adu.begin(), adu.begin() + static_cast<std::ptrdiff_t>(size));
    flush(c);
}

void Server::flush(Connection& c) {
    while (c.outOffset < c.out.size()) {
        auto result = c.stream->write(c.out.data() + c.outOffset, c.out.size() - c.outOffset);
        if (result.status == IoResult::Status::WouldBlock) break;
        if (result.status != IoResult::Status::Done) return close(c.id, result.error);
        c.outOffset += result.bytes;
    }
    if (c.outOffset == c.out.size()) {
        c.out.clear();
        c.outOffset = 0;
    } else if (c.outOffset >= c.out.size() / 2) {
        // A reader that never quite catches up never empties the buffer: drop what was sent once it
        // is the larger part (amortised, the buffer stays within twice what is pending).
        c.out.erase(c.out.begin(), c.out.begin() + static_cast<std::ptrdiff_t>(c.outOffset));
        c.outOffset = 0;
    }
    updateInterest(c);
    finishIfDone(c);
}

/// Closes a half-closed connection once nothing is left to do: no write in progress, no request
/// queued, every reply sent.
void Server::finishIfDone(Connection& c) {
    if (c.peerClosed && !c.busy && c.queue.empty() && c.out.empty()) close(c.id, "closed by peer");
}

void Server::updateInterest(Connection& c) {
    std::uint32_t interest = 0;
    // Stop reading from a client that does not read its replies or queues too much.
    const bool pressed =
        c.out.size() - c.outOffset >= kMaxPendingOutput || c.queue.size() >= kMaxQueuedFrames;
    if (!c.peerClosed && !pressed && !c.backlog && c.inSize < c.in.size()) interest |= EPOLLIN;
    if (c.outOffset < c.out.size()) interest |= EPOLLOUT;
    c.wanted = interest;
    if ((interest & EPOLLIN) && c.stream->buffered() > 0) scheduleRead(c);
    if (c.backlog && !pressed) scheduleTurn(c); // whole frames wait: their turn comes
    // The frame timeout is for a frame the server waits for, not one it chose not to read yet: while
    // reading is paused (back-pressure) the clock stops, and it starts again when reading resumes.
    // The idle timeout follows the same rule.
    const auto now = core::EventLoop::Clock::now();
    if (!(interest & EPOLLIN)) {
        c.partialSince.reset();
        if (pressed || !c.backlog) c.idlePaused = true; // not a turn that merely waits for the others
    } else {
        if (c.inSize > 0 && !c.partialSince) c.partialSince = now;
        if (c.idlePaused) c.idleSince = now;
        c.idlePaused = false;
    }
    interest = c.stream->interest(interest); // a handshake, or TLS needing the other direction
    if (interest != c.interest) {
        c.interest = interest;
        loop_.modify(c.fd.get(), interest);
    }
}

void Server::setOptions(ServerOptions options) {
    options.listen = options_.listen;
    options_ = std::move(options);
    writes_.setWriteTimeout(options_.writeTimeout); // for writes sent from now on
    std::vector<std::uint64_t> notAllowed;
    for (auto& [id, c] : connections_) {
        const auto* address = reinterpret_cast<const sockaddr*>(&c->address);
        if (!inList(options_.allow, address)) {
            notAllowed.push_back(id);
            continue;
        }
        const bool mayWrite = inList(options_.writeAllow, address);
        if (mayWrite != c->access.addressMayWrite)
            log()->info("{}: writes {} from now on (--write-allow reloaded)", c->peer,
                        mayWrite ? "allowed" : "refused");
        c->access.addressMayWrite = mayWrite; // a write already in progress completes
    }
    for (auto id : notAllowed) {
        log()->info("{}: closing: no longer in --allow", connections_.at(id)->peer);
        close(id, "no longer in --allow");
    }
    reassignRoles();
}

std::size_t Server::outputBufferBytes() const {
    std::size_t bytes = 0;
    for (const auto& [id, c] : connections_)
        bytes += c->out.capacity();
    return bytes;
}

void Server::setMapOwner(std::shared_ptr<const void> owner) {
    mapOwner_ = std::move(owner);
    if (auto map = std::static_pointer_cast<const regmap::RegisterMap>(mapOwner_)) {
        writes_.setMap(*map, mapOwner_);
        carryOutWrites();
    }
}

void Server::setTlsContext(std::shared_ptr<const TlsContext> context) {
    tls_ = std::move(context);
    // Open sessions follow the new client CA and CRL: a certificate they no longer pass is closed.
    std::vector<std::pair<std::uint64_t, std::string>> failed;
    for (auto& [id, c] : connections_)
        if (c->tls && c->stream->isOpen())
            if (auto why = c->tls->verifyWith(*tls_); !why.empty()) failed.emplace_back(id, std::move(why));
    for (auto& [id, why] : failed) {
        log()->warn(
            "{}: closing: its certificate no longer verifies against the reloaded client CA and CRL: {}",
            connections_.at(id)->peer, why);
        close(id, "certificate no longer valid");
    }
}

/// The role a certificate gets under the current options: the name it is logged with and its
/// permission, or nullopt when it gets none (no known role and default-role none).
std::optional<std::pair<std::string, AccessPolicy>> Server::roleFor(const PeerIdentity& identity) const {
    const auto& roles = options_.tls.roles;
    if (auto it = identity.role ? roles.find(*identity.role) : roles.end(); it != roles.end())
        return std::pair{it->first, it->second};
    if (!options_.tls.defaultRole) return std::nullopt;
    return std::pair{"default (" + roleText(identity) + ")", *options_.tls.defaultRole};
}

/// How a certificate without a known role is described: "no role", "the unknown role 'x'", or
/// what is wrong with its role extension.
std::string Server::roleText(const PeerIdentity& identity) {
    if (!identity.roleProblem.empty()) return identity.roleProblem;
    return identity.role ? "the unknown role '" + *identity.role + "'" : "no role";
}

void Server::giveRole(Connection& c, const PeerIdentity& identity, std::string name, AccessPolicy policy) {
    const bool addressMayWrite = c.access.addressMayWrite;
    c.access = std::move(policy);
    c.access.addressMayWrite = addressMayWrite;
    c.role = std::move(name);
    c.peer = fmt::format("{} ({}, role {})", formatAddress(reinterpret_cast<const sockaddr*>(&c.address)),
                         identity.subject, c.role);
    c.lastError.peer = c.peer;
}

/// After a reload of the roles: each open TLS session gets its certificate's permission under the
/// new ones at once (a write already in progress completes); one left without a role is closed.
void Server::reassignRoles() {
    std::vector<std::uint64_t> roleless;
    for (auto& [id, c] : connections_) {
        if (!c->tls || !c->stream->isOpen()) continue;
        auto identity = c->tls->peer();
        auto role = roleFor(identity);
        if (!role) {
            log()->warn("{}: closing: certificate '{}' has {} and default-role is none (roles reloaded)",
                        c->peer, identity.subject, roleText(identity));
            roleless.push_back(id);
            continue;
        }
        if (role->first == c->role && role->second.describe() == c->access.describe()) continue;
        const auto before = c->peer;
        giveRole(*c, identity, std::move(role->first), std::move(role->second));
        log()->info("{}: may {} from now on, as role {} (roles reloaded)", before, c->access.describe(),
                    c->role);
    }
    for (auto id : roleless)
        close(id, "no role");
}

void Server::scheduleWake() {
    // One timer for the earliest time the coordinator asked for; each run sets the next. A timer
    // already set for an earlier time will do that; a later one finds nothing to do.
    auto next = writes_.nextWake();
    if (!next || (wakeTimer_ && *wakeTimer_ <= *next)) return;
    wakeTimer_ = *next;
    loop_.at(*next, [this, when = *next] {
        if (wakeTimer_ == when) wakeTimer_.reset();
        writes_.tick(WriteCoordinator::Clock::now());
        carryOutWrites();
    });
}

void Server::close(std::uint64_t id, const char* why) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    log()->debug("{}: disconnected ({})", it->second->peer, why);
    loop_.remove(it->second->fd.get());
    connections_.erase(it);
}

} // namespace vmd::modbus
