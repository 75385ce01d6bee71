#pragma once

#include "modbus/ByteStream.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;

namespace vmd::modbus {

/// The role extension of Modbus/TCP Security client certificates (an ASN.1 UTF8String).
inline constexpr const char* kRoleOid = "1.3.6.1.4.1.50316.802.1";

/// The files a TLS listener serves with.
struct TlsFiles {
    std::string cert;     ///< server certificate (PEM, chain after it)
    std::string key;      ///< its private key (PEM)
    std::string clientCa; ///< CA certificate(s) client certificates must chain to (PEM)
    std::string crl;      ///< optional: revoked client certificates (PEM CRL)
    friend bool operator==(const TlsFiles&, const TlsFiles&) = default;
};

/// An OpenSSL server context: TLS 1.2 at least, client certificates required and verified against
/// the client CA (and the CRL when given). Connections keep the context they began with, so a
/// reload replaces it for new connections only.
class TlsContext {
  public:
    /// Throws std::runtime_error naming the file and OpenSSL's reason when a file does not load.
    explicit TlsContext(const TlsFiles& files);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;
    [[nodiscard]] SSL_CTX* get() const { return ctx_; }
    [[nodiscard]] const TlsFiles& files() const { return files_; }
    [[nodiscard]] const std::string& serverSubject() const { return serverSubject_; }
    /// The number of CAs whose CRL the CRL file holds (0: no CRL). More than one: every certificate
    /// of a client's chain is checked (X509_V_FLAG_CRL_CHECK_ALL), not the client's alone.
    [[nodiscard]] std::size_t crlIssuers() const { return crlIssuers_; }

  private:
    SSL_CTX* ctx_ = nullptr;
    TlsFiles files_;
    std::string serverSubject_;
    std::size_t crlIssuers_ = 0;
};

/// The verified client certificate of an open TLS stream.
struct PeerIdentity {
    std::string subject;             ///< RFC 2253, e.g. "CN=ess-controller,O=Site"
    std::optional<std::string> role; ///< the role extension's text, when present once and well-formed
    std::string roleProblem;         ///< why a role extension that is present gives no role, else empty
};

/// TLS on a non-blocking socket, server side. The handshake, and the want-read / want-write of
/// reads and writes, are handled here; the Server sees bytes.
class TlsStream final : public ByteStream {
  public:
    TlsStream(const TlsContext& context, int fd);
    ~TlsStream() override;
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    IoResult open() override;
    [[nodiscard]] bool isOpen() const override { return open_; }
    IoResult read(std::uint8_t* data, std::size_t size) override;
    IoResult write(const std::uint8_t* data, std::size_t size) override;
    [[nodiscard]] std::size_t buffered() const override;
    [[nodiscard]] std::uint32_t interest(std::uint32_t wanted) const override;

    /// After open() is Done: the client certificate's subject and role.
    [[nodiscard]] PeerIdentity peer() const;
    [[nodiscard]] const std::string& failure() const { return failure_; }
    /// Whether the stream was opened with `context` (not one a reload replaced since).
    [[nodiscard]] bool servedBy(const TlsContext& context) const;
    /// The client's certificate and the chain it presented verified again against `context`'s client
    /// CA and CRL (a reload's): empty when they pass, else OpenSSL's reason ("certificate revoked").
    [[nodiscard]] std::string verifyWith(const TlsContext& context) const;

  private:
    IoResult result(int rc, bool reading);

    SSL* ssl_ = nullptr;
    bool open_ = false;
    bool readNeedsWritable_ = false;  ///< the last read asked for EPOLLOUT
    bool writeNeedsReadable_ = false; ///< the last write asked for EPOLLIN
    bool openNeedsWritable_ = false;
    std::string failure_;
};

/// The role text of a DER-encoded role extension value (one ASN.1 UTF8String of well-formed UTF-8 in
/// strict DER: shortest length form, nothing after it); nullopt when it is not exactly that.
/// Pure: the fuzz target feeds it arbitrary bytes.
[[nodiscard]] std::optional<std::string> decodeRole(const unsigned char* der, long size);

} // namespace vmd::modbus
