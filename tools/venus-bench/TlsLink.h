#pragma once

// Modbus/TCP Security for the load generator: raw MBAP inside TLS (libmodbus has no TLS), blocking,
// one connection per client thread, with a client certificate.

#include "Mix.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;

namespace vmd::bench {

struct TlsFiles {
    std::string cert; ///< client certificate (PEM)
    std::string key;
    std::string ca; ///< verifies the server's certificate
};

/// The client side's context, shared by every connection of a run; throws std::runtime_error.
class TlsClientContext {
  public:
    explicit TlsClientContext(const TlsFiles& files);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;
    [[nodiscard]] SSL_CTX* get() const { return ctx_; }

  private:
    SSL_CTX* ctx_ = nullptr;
};

/// One TLS connection speaking MBAP.
class TlsLink {
  public:
    TlsLink(const TlsClientContext& context, std::string host, std::uint16_t port,
            std::chrono::duration<double> timeout);
    ~TlsLink();
    TlsLink(const TlsLink&) = delete;
    TlsLink& operator=(const TlsLink&) = delete;

    /// Connects and completes the handshake; false with `error` set on failure.
    bool connect(std::string& error);
    void close();
    /// 0 for a data reply, the exception code for an exception reply, -1 for a transport error.
    int send(const Request& request);

  private:
    bool readExactly(std::uint8_t* data, std::size_t size);

    const TlsClientContext& context_;
    std::string host_;
    std::uint16_t port_;
    std::chrono::duration<double> timeout_;
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    std::uint16_t transaction_ = 0;
};

/// Full handshakes per second one client gets (connect, handshake, close), over `seconds`.
[[nodiscard]] double measureHandshakes(const TlsClientContext& context, const std::string& host,
                                       std::uint16_t port, double seconds);

} // namespace vmd::bench
