#include "modbus/Server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

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

std::int64_t unixNow() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

} // namespace

std::string formatAddress(const sockaddr* address) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (address->sa_family == AF_INET) {
        auto in = reinterpret_cast<const sockaddr_in*>(address);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        return std::string(host) + ":" + std::to_string(port);
    }
    if (address->sa_family == AF_INET6) {
        auto in6 = reinterpret_cast<const sockaddr_in6*>(address);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) about
    // "[" + std::string(...), which is an error in a -Werror build (the GX bundles).
    std::string text = "[";
    text += host;
    text += "]:";
    text += std::to_string(port);
    return text;
}

struct Server::Connection {
    std::uint64_t id = 0;
    core::Fd fd;
    std::string peer;
    bool mayWrite = true;
    std::array<std::uint8_t, kInputBufferSize> in{};
    std::size_t inSize = 0;
    std::vector<std::uint8_t> out;
    std::size_t outOffset = 0;
    std::deque<std::vector<std::uint8_t>> queue; ///< whole frames waiting behind a pending write
    bool busy = false;                           ///< a write is in flight
    std::uint32_t interest = 0;
    core::EventLoop::Clock::time_point lastActivity;
    std::optional<core::EventLoop::Clock::time_point> partialSince; ///< when the unfinished frame began
    // Rate-limited error log: the first exception of an interval is logged, the rest counted.
    core::EventLoop::Clock::time_point errorWindowStart;
    std::uint64_t suppressedErrors = 0;
    ClientError lastError;
};

struct WriteJob {
    Frame request;
    std::array<std::uint8_t, kMaxAduSize> frameBytes{};
    Outcome outcome;
    std::size_t next = 0;
};

Server::Server(core::EventLoop& loop, RequestHandler& handler, WriteSink& writer, ServerOptions options)
    : loop_(loop), handler_(handler), writer_(writer), options_(std::move(options)) {}

Server::~Server() {
    for (auto& fd : listeners_)
        loop_.remove(fd.get());
    for (auto& [id, c] : connections_)
        loop_.remove(c->fd.get());
}

void Server::listen() {
    for (const auto& spec : options_.listen) {
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
        bound_.push_back(formatAddress(reinterpret_cast<sockaddr*>(&local)));
        int raw = fd.get();
        loop_.add(raw, EPOLLIN, [this, raw](std::uint32_t) { accept(raw); });
        listeners_.push_back(std::move(fd));
    }
    loop_.at(core::EventLoop::Clock::now() + std::chrono::seconds(1), [this] { sweep(); });
}

void Server::sweep() {
    const auto now = core::EventLoop::Clock::now();
    std::vector<std::pair<std::uint64_t, const char*>> expired;
    for (auto& [id, c] : connections_) {
        if (c->partialSince && now - *c->partialSince > options_.frameTimeout)
            expired.emplace_back(id, "frame timeout: a request stayed incomplete");
        else if (!c->busy && now - c->lastActivity > options_.idleTimeout)
            expired.emplace_back(id, "idle timeout");
        if (c->suppressedErrors > 0 && now - c->errorWindowStart >= options_.errorLogInterval) {
            log()->warn("{}: {} more exceptions in the last {} s (last: {})", c->peer, c->suppressedErrors,
                        std::chrono::duration_cast<std::chrono::seconds>(now - c->errorWindowStart).count(),
                        c->lastError.describe());
            c->suppressedErrors = 0;
            c->errorWindowStart = now;
        }
    }
    for (auto [id, why] : expired) {
        if (auto it = connections_.find(id); it != connections_.end())
            log()->info("{}: closing: {}", it->second->peer, why);
        close(id, why);
    }
    loop_.at(now + std::chrono::seconds(1), [this] { sweep(); });
}

std::string ClientError::describe() const {
    return fmt::format("{}: unit {} function {} address {} quantity {}: exception {}", peer, unit, function,
                       address, quantity, static_cast<int>(code));
}

void Server::noteException(Connection& c, const Frame& frame, ExceptionCode code) {
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
    if (c.suppressedErrors == 0 && now - c.errorWindowStart >= options_.errorLogInterval) {
        log()->info("{}", e.describe()); // the first of an interval; the rest are counted
        c.errorWindowStart = now;
    } else {
        ++c.suppressedErrors;
    }
}

void Server::accept(int listenFd) {
    for (;;) {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        core::Fd fd(::accept4(listenFd, reinterpret_cast<sockaddr*>(&address), &length,
                              SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) return; // EAGAIN, or a connection reset before we got to it
        auto peer = formatAddress(reinterpret_cast<sockaddr*>(&address));
        auto allowed = [&](const std::vector<core::Cidr>& list) {
            if (list.empty()) return true;
            for (const auto& cidr : list)
                if (cidr.contains(reinterpret_cast<sockaddr*>(&address))) return true;
            return false;
        };
        if (!allowed(options_.allow)) {
            ++stats_.connectionsRefused;
            log()->warn("{}: connection refused: not in --allow", peer);
            continue;
        }
        if (connections_.size() >= options_.maxClients) {
            ++stats_.connectionsRefused;
            log()->warn("{}: connection refused: already {} clients (--max-clients)", peer,
                        connections_.size());
            continue;
        }
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Connection>();
        c->id = nextId_++;
        c->peer = peer;
        c->lastError.peer = peer;
        c->mayWrite = allowed(options_.writeAllow);
        c->interest = EPOLLIN;
        c->lastActivity = core::EventLoop::Clock::now();
        std::uint64_t id = c->id;
        loop_.add(fd.get(), EPOLLIN, [this, id](std::uint32_t events) { onEvents(id, events); });
        c->fd = std::move(fd);
        log()->debug("{}: connected", peer);
        connections_.emplace(id, std::move(c));
    }
}

void Server::onEvents(std::uint64_t id, std::uint32_t events) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    auto& c = *it->second;
    if (events & (EPOLLERR | EPOLLHUP)) return close(id, "connection reset");
    if (events & EPOLLOUT) flush(c);
    if (!connections_.count(id)) return;
    if (events & EPOLLIN) readFrom(c);
}

void Server::readFrom(Connection& c) {
    const auto id = c.id;
    ssize_t n = ::read(c.fd.get(), c.in.data() + c.inSize, c.in.size() - c.inSize);
    if (n == 0) return close(id, "closed by peer");
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        return close(id, std::strerror(errno));
    }
    c.inSize += static_cast<std::size_t>(n);
    c.lastActivity = core::EventLoop::Clock::now();
    std::size_t offset = 0;
    for (;;) {
        Frame frame;
        auto status = parseFrame({c.in.data() + offset, c.inSize - offset}, frame);
        if (status == FrameStatus::Incomplete) break;
        if (status == FrameStatus::Malformed) {
            log()->warn("{}: malformed MBAP header (protocol id {}, length out of range): closing", c.peer,
                        frame.protocolId);
            return close(id, "malformed frame");
        }
        if (c.busy || !c.queue.empty())
            c.queue.emplace_back(c.in.data() + offset, c.in.data() + offset + frame.size);
        else
            serve(c, frame);
        if (!connections_.count(id)) return;
        offset += frame.size;
    }
    std::memmove(c.in.data(), c.in.data() + offset, c.inSize - offset);
    c.inSize -= offset;
    if (c.inSize == 0)
        c.partialSince.reset();
    else if (offset > 0 || !c.partialSince)
        c.partialSince = c.lastActivity;
    updateInterest(c);
}

void Server::processQueue(Connection& c) {
    const auto id = c.id;
    while (!c.busy && !c.queue.empty()) {
        auto bytes = std::move(c.queue.front());
        c.queue.pop_front();
        Frame frame;
        (void)parseFrame(bytes, frame);
        serve(c, frame);
        if (!connections_.count(id)) return;
    }
    updateInterest(c);
}

void Server::serve(Connection& c, const Frame& frame) {
    Outcome outcome;
    try {
        outcome = handler_.handle(frame.unit, frame.pdu, unixNow());
        if (!outcome.writes.empty() && !c.mayWrite) {
            outcome.writes.clear();
            RequestHandler::exception(frame.pdu[0], ExceptionCode::IllegalDataAddress, outcome.reply);
        }
    } catch (const std::exception& e) {
        log()->error("{}: unit {} function {}: internal error: {}", c.peer, frame.unit, frame.pdu[0],
                     e.what());
        outcome.writes.clear();
        RequestHandler::exception(frame.pdu[0], ExceptionCode::ServerDeviceFailure, outcome.reply);
    }
    ++stats_.requests;
    if (outcome.reply.isException()) stats_.countException(outcome.reply.exception());
    if (outcome.reply.isException()) noteException(c, frame, outcome.reply.exception());
    if (outcome.writes.empty()) return send(c, frame, outcome.reply);

    auto job = std::make_shared<WriteJob>();
    std::copy(frame.pdu.begin(), frame.pdu.end(), job->frameBytes.begin());
    job->request = frame;
    job->request.pdu = {job->frameBytes.data(), frame.pdu.size()};
    job->outcome = std::move(outcome);
    for (auto& op : job->outcome.writes)
        op.keepAlive = mapOwner_;
    c.busy = true;
    runWrites(c.id, std::move(job));
}

void Server::runWrites(std::uint64_t id, std::shared_ptr<WriteJob> job) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return; // the client left; the writes already sent stand
    auto& c = *it->second;
    auto& outcome = job->outcome;
    if (job->next == outcome.writes.size()) {
        if (outcome.readAfterWrite)
            handler_.read(job->request.unit, job->request.pdu[0], outcome.readAddress, outcome.readQuantity,
                          unixNow(), outcome.reply);
        c.busy = false;
        send(c, job->request, outcome.reply);
        if (connections_.count(id)) processQueue(c);
        return;
    }
    const auto& op = outcome.writes[job->next];
    auto peer = c.peer;
    writer_.write(op, [this, id, job, peer](WriteResult result, int code) {
        const auto& op = job->outcome.writes[job->next];
        std::string words;
        for (auto w : op.words)
            words += fmt::format("{}0x{:04X}", words.empty() ? "" : " ", w);
        log()->info("write from {} unit {} register {} words [{}] -> {} {} = {} ({}): {}", peer,
                    job->request.unit, op.reg ? op.reg->address : 0, words, op.service, op.path,
                    codec::toText(op.value.value), op.value.dbusType, describe(result, code));
        if (result == WriteResult::Accepted) {
            ++stats_.writes;
            armFailsafe(op);
        } else {
            ++stats_.failedWrites;
        }
        if (result != WriteResult::Accepted) {
            job->outcome.readAfterWrite = false;
            job->next = job->outcome.writes.size();
            stats_.countException(exceptionFor(result));
            RequestHandler::exception(job->request.pdu[0], exceptionFor(result), job->outcome.reply);
        } else {
            ++job->next;
        }
        // Continue from the event loop, never from inside the writer's call stack.
        loop_.at(core::EventLoop::Clock::now(), [this, id, job] { runWrites(id, job); });
    });
}

void Server::send(Connection& c, const Frame& request, const Reply& reply) {
    std::array<std::uint8_t, kMaxAduSize> adu{};
    auto size = buildAdu(request, reply.pdu(), adu.data());
    c.out.insert(c.out.end(), adu.begin(), adu.begin() + static_cast<std::ptrdiff_t>(size));
    flush(c);
}

void Server::flush(Connection& c) {
    while (c.outOffset < c.out.size()) {
        ssize_t n = ::send(c.fd.get(), c.out.data() + c.outOffset, c.out.size() - c.outOffset, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) break;
            return close(c.id, std::strerror(errno));
        }
        c.outOffset += static_cast<std::size_t>(n);
    }
    if (c.outOffset == c.out.size()) {
        c.out.clear();
        c.outOffset = 0;
    }
    updateInterest(c);
}

void Server::updateInterest(Connection& c) {
    std::uint32_t interest = 0;
    // Stop reading from a client that does not read its replies or queues too much.
    if (c.out.size() - c.outOffset < kMaxPendingOutput && c.queue.size() < kMaxQueuedFrames &&
        c.inSize < c.in.size())
        interest |= EPOLLIN;
    if (c.outOffset < c.out.size()) interest |= EPOLLOUT;
    if (interest != c.interest) {
        c.interest = interest;
        loop_.modify(c.fd.get(), interest);
    }
}

void Server::setOptions(ServerOptions options) {
    options.listen = options_.listen;
    options_ = std::move(options);
}

void Server::setMapOwner(std::shared_ptr<const void> owner) {
    mapOwner_ = std::move(owner);
    if (auto map = std::static_pointer_cast<const regmap::RegisterMap>(mapOwner_))
        failsafe_.rebind(*map, mapOwner_);
}

void Server::armFailsafe(const WriteOp& op) {
    if (!op.reg || !op.reg->failsafe) return;
    failsafe_.clientWrote(op, Failsafe::Clock::now());
    if (auto deadline = failsafe_.nextDeadline()) loop_.at(*deadline, [this] { runFailsafe(); });
}

void Server::runFailsafe() {
    for (auto& op : failsafe_.due(Failsafe::Clock::now())) {
        ++stats_.failsafeActivations;
        log()->warn("fail-safe: no client wrote register {} ({} {}) for {} s: writing {}", op.reg->address,
                    op.service, op.path, op.reg->failsafe->afterSeconds, codec::toText(op.value.value));
        auto service = op.service;
        auto path = op.path;
        writer_.write(op, [service, path](WriteResult result, int code) {
            auto level = result == WriteResult::Accepted ? spdlog::level::info : spdlog::level::err;
            log()->log(level, "fail-safe write {} {}: {}", service, path, describe(result, code));
        });
    }
}

void Server::close(std::uint64_t id, const char* why) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    log()->debug("{}: disconnected ({})", it->second->peer, why);
    loop_.remove(it->second->fd.get());
    connections_.erase(it);
}

} // namespace vmd::modbus
