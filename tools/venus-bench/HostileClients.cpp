#include "HostileClients.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <stdexcept>

namespace vmd::bench {

namespace {

using Clock = std::chrono::steady_clock;

/// A read of holding registers 840-843 at unit 100 (the system service), as a whole MBAP frame.
std::vector<std::uint8_t> mbapFrame() {
    return {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 100, 0x03, 0x03, 0x48, 0x00, 0x04};
}

/// The bytes of a real ClientHello from the bench's TLS context, made through memory BIOs.
std::vector<std::uint8_t> clientHello(const TlsClientContext& tls) {
    SSL* ssl = SSL_new(tls.get());
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    if (!ssl || !in || !out) {
        SSL_free(ssl);
        BIO_free(in);
        BIO_free(out);
        throw std::runtime_error("--hostile: cannot make a ClientHello");
    }
    SSL_set_bio(ssl, in, out); // ssl owns both now
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl); // wants to read the ServerHello: the ClientHello is in `out`
    std::vector<std::uint8_t> hello(static_cast<std::size_t>(BIO_ctrl_pending(out)));
    const int n = hello.empty() ? 0 : BIO_read(out, hello.data(), static_cast<int>(hello.size()));
    SSL_free(ssl);
    ERR_clear_error();
    if (n <= 0) throw std::runtime_error("--hostile: cannot make a ClientHello");
    hello.resize(static_cast<std::size_t>(n));
    return hello;
}

} // namespace

HostileClients::HostileClients(const std::string& host, std::uint16_t port, unsigned count,
                               const TlsClientContext* tls, HostileMix mix,
                               std::chrono::milliseconds dripInterval)
    : payload_(tls ? clientHello(*tls) : mbapFrame()), interval_(dripInterval) {
    for (int i = 0; i < 256; ++i) {
        const auto frame = mbapFrame();
        flood_.insert(flood_.end(), frame.begin(), frame.end());
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    const auto service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &result); rc != 0)
        throw std::runtime_error("--hostile: " + host + ": " + ::gai_strerror(rc));
    const auto* address = reinterpret_cast<const std::uint8_t*>(result->ai_addr);
    storage_.assign(address, address + result->ai_addrlen);
    ::freeaddrinfo(result);

    counts_.tls = tls != nullptr;
    counts_.connections = count;
    const unsigned kinds = tls ? 3 : 2;
    for (unsigned i = 0; i < count; ++i) {
        Connection c{static_cast<Kind>(i % kinds)};
        if (mix == HostileMix::Churn) {
            c.kind = Kind::Churn;
            c.source = (127U << 24) | (7U << 8) | (1 + i % 4);
        } else if (mix == HostileMix::Flood) {
            c.kind = Kind::Flood;
            c.source = (127U << 24) | (7U << 8) | (9 + i % 4);
        }
        switch (c.kind) {
        case Kind::HalfOpen:
            ++counts_.halfOpen;
            break;
        case Kind::Drip:
            ++counts_.drip;
            break;
        case Kind::Stalled:
            ++counts_.stalled;
            break;
        case Kind::Churn:
            ++counts_.churn;
            break;
        case Kind::Flood:
            ++counts_.flood;
            break;
        }
        connections_.push_back(c);
        open(connections_.back());
    }
    thread_ = std::thread([this] { run(); });
}

HostileClients::~HostileClients() {
    stop();
}

HostileCounts HostileClients::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& c : connections_)
        close(c, false);
    return counts_;
}

void HostileClients::open(Connection& c) {
    c.sent = 0;
    c.next = Clock::now();
    const auto* address = reinterpret_cast<const sockaddr*>(storage_.data());
    c.fd = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return; // tried again a drip interval later
    if (c.source && address->sa_family == AF_INET) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr.s_addr = htonl(c.source);
        (void)::bind(c.fd, reinterpret_cast<const sockaddr*>(&local), sizeof local);
    }
    if (::connect(c.fd, address, static_cast<socklen_t>(storage_.size())) != 0 && errno != EINPROGRESS) {
        ::close(c.fd);
        c.fd = -1;
        c.next = Clock::now() + interval_;
        return;
    }
    ++counts_.connects;
}

void HostileClients::close(Connection& c, bool byServer) {
    if (c.fd < 0) return;
    ::close(c.fd);
    c.fd = -1;
    c.next = Clock::now() + (c.kind == Kind::Churn ? Clock::duration{} : interval_); // reopened then
    if (byServer) ++counts_.closedByServer;
}

void HostileClients::feed(Connection& c) {
    if (c.kind == Kind::HalfOpen || c.kind == Kind::Churn) return;
    if (c.kind == Kind::Flood) { // as much as the socket takes, on every round
        const auto n = ::send(c.fd, flood_.data() + c.sent, flood_.size() - c.sent, MSG_NOSIGNAL);
        if (n > 0) {
            c.sent = (c.sent + static_cast<std::size_t>(n)) % flood_.size();
            counts_.bytesSent += static_cast<std::uint64_t>(n);
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN) {
            close(c, true);
        }
        return;
    }
    if (c.sent == payload_.size()) {
        if (counts_.tls) return; // a whole ClientHello sent: the handshake stalls from here
        c.sent = 0;              // a whole MBAP frame sent: drip the next one
    }
    const std::size_t size = c.kind == Kind::Stalled ? payload_.size() - c.sent : 1;
    const auto n = ::send(c.fd, payload_.data() + c.sent, size, MSG_NOSIGNAL);
    if (n > 0) {
        c.sent += static_cast<std::size_t>(n);
        counts_.bytesSent += static_cast<std::uint64_t>(n);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN) {
        close(c, true); // refused or reset
        return;
    }
    c.next = Clock::now() + interval_;
}

void HostileClients::run() {
    std::vector<pollfd> fds;
    std::vector<Connection*> owners;
    std::array<std::uint8_t, 4096> sink{};
    while (!stop_) {
        const auto now = Clock::now();
        fds.clear();
        owners.clear();
        for (auto& c : connections_) {
            if (c.fd < 0 && now >= c.next) open(c);
            if (c.fd < 0) continue;
            if (now >= c.next) feed(c);
            if (c.fd < 0) continue;
            fds.push_back(pollfd{c.fd, POLLIN, 0});
            owners.push_back(&c);
        }
        // A short tick: the drips keep their pace and stop() is seen quickly.
        if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!fds[i].revents) continue;
            // Replies (to a dripped frame, a ServerHello) are read and dropped; 0 or an error: closed.
            const auto n = ::recv(fds[i].fd, sink.data(), sink.size(), 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) close(*owners[i], true);
        }
    }
}

} // namespace vmd::bench
