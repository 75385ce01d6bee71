#include "TlsLink.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

namespace vmd::bench {

namespace {

std::string sslError() {
    char buffer[256] = "unknown error";
    if (unsigned long code = ERR_get_error()) ERR_error_string_n(code, buffer, sizeof buffer);
    ERR_clear_error();
    return buffer;
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

} // namespace

TlsClientContext::TlsClientContext(const TlsFiles& files) : ctx_(SSL_CTX_new(TLS_client_method())) {
    auto fail = [&](const std::string& what) {
        auto message = what + ": " + sslError();
        SSL_CTX_free(ctx_);
        throw std::runtime_error(message);
    };
    if (!ctx_) fail("TLS context");
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx_, files.cert.c_str()) != 1) fail("--tls-cert " + files.cert);
    if (SSL_CTX_use_PrivateKey_file(ctx_, files.key.c_str(), SSL_FILETYPE_PEM) != 1)
        fail("--tls-key " + files.key);
    if (SSL_CTX_load_verify_locations(ctx_, files.ca.c_str(), nullptr) != 1) fail("--tls-ca " + files.ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
}

TlsClientContext::~TlsClientContext() {
    SSL_CTX_free(ctx_);
}

TlsLink::TlsLink(const TlsClientContext& context, std::string host, std::uint16_t port,
                 std::chrono::duration<double> timeout)
    : context_(context), host_(std::move(host)), port_(port), timeout_(timeout) {}

TlsLink::~TlsLink() {
    close();
}

void TlsLink::close() {
    if (ssl_) {
        SSL_shutdown(ssl_);
        SSL_free(ssl_);
        ssl_ = nullptr;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ERR_clear_error();
}

bool TlsLink::connect(std::string& error) {
    close();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    const auto service = std::to_string(port_);
    if (int rc = ::getaddrinfo(host_.c_str(), service.c_str(), &hints, &result); rc != 0) {
        error = host_ + ": " + ::gai_strerror(rc);
        return false;
    }
    fd_ = ::socket(result->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool connected = fd_ >= 0 && ::connect(fd_, result->ai_addr, result->ai_addrlen) == 0;
    ::freeaddrinfo(result);
    if (!connected) {
        error = "cannot connect to " + host_ + ":" + service;
        close();
        return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout_).count();
    timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssl_ = SSL_new(context_.get());
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1 || SSL_connect(ssl_) != 1) {
        error = "TLS handshake with " + host_ + ":" + service + ": " + sslError();
        close();
        return false;
    }
    return true;
}

bool TlsLink::readExactly(std::uint8_t* data, std::size_t size) {
    while (size > 0) {
        std::size_t n = 0;
        if (SSL_read_ex(ssl_, data, size, &n) != 1) return false;
        data += n;
        size -= n;
    }
    return true;
}

int TlsLink::send(const Request& request) {
    if (!ssl_) return -1;
    std::vector<std::uint8_t> adu;
    adu.reserve(7u + 6u + 2u * request.count);
    put16(adu, ++transaction_);
    put16(adu, 0);
    put16(adu, 0); // length, filled in below
    adu.push_back(request.unit);
    switch (request.function) {
    case Function::ReadHolding:
    case Function::ReadInput:
        adu.push_back(request.function == Function::ReadHolding ? 3 : 4);
        put16(adu, request.address);
        put16(adu, request.count);
        break;
    case Function::WriteSingle:
        adu.push_back(6);
        put16(adu, request.address);
        put16(adu, request.value);
        break;
    case Function::WriteMultiple:
        adu.push_back(16);
        put16(adu, request.address);
        put16(adu, request.count);
        adu.push_back(static_cast<std::uint8_t>(2 * request.count));
        for (unsigned i = 0; i < request.count; ++i)
            put16(adu, request.value);
        break;
    }
    const auto length = static_cast<std::uint16_t>(adu.size() - 6);
    adu[4] = static_cast<std::uint8_t>(length >> 8);
    adu[5] = static_cast<std::uint8_t>(length & 0xFF);
    std::size_t written = 0;
    if (SSL_write_ex(ssl_, adu.data(), adu.size(), &written) != 1 || written != adu.size()) return -1;
    std::array<std::uint8_t, 7 + 260> reply{};
    if (!readExactly(reply.data(), 7)) return -1;
    const auto transaction = static_cast<std::uint16_t>((reply[0] << 8) | reply[1]);
    const auto replyLength = static_cast<std::size_t>((reply[4] << 8) | reply[5]);
    if (transaction != transaction_ || replyLength < 2 || replyLength > 254) return -1;
    if (!readExactly(reply.data() + 7, replyLength - 1)) return -1;
    return (reply[7] & 0x80) ? reply[8] : 0;
}

double measureHandshakes(const TlsClientContext& context, const std::string& host, std::uint16_t port,
                         double seconds) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto end =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::uint64_t count = 0;
    TlsLink link(context, host, port, std::chrono::seconds(3));
    std::string error;
    while (Clock::now() < end) {
        if (!link.connect(error)) throw std::runtime_error(error);
        link.close();
        ++count;
    }
    return static_cast<double>(count) / std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace vmd::bench
