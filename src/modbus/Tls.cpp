#include "modbus/Tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/epoll.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

namespace vmd::modbus {

namespace {

/// OpenSSL's queued errors as one line (and the queue emptied).
std::string sslErrors() {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        if (!text.empty()) text += "; ";
        text += buffer;
    }
    return text.empty() ? "unknown error" : text;
}

std::string nameText(const X509_NAME* name) {
    if (!name) return "";
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(size)};
}

/// The CRLs of `path` into the context's store; returns how many CA's CRLs it holds. With one CA's,
/// a client certificate is checked against it; with several (a root's and its intermediates'),
/// every certificate of a client's chain is checked, and each of its CAs needs its CRL in the file.
std::size_t loadCrl(SSL_CTX* ctx, const std::string& path) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), BIO_free);
    if (!bio) throw std::runtime_error("crl " + path + ": " + sslErrors());
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    std::set<std::string> issuers;
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
        X509_STORE_add_crl(store, crl);
        issuers.insert(nameText(X509_CRL_get_issuer(crl)));
        X509_CRL_free(crl);
    }
    ERR_clear_error(); // the end of the file
    if (issuers.empty())
        throw std::runtime_error("crl " + path + ": no PEM certificate revocation list in it");
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | (issuers.size() > 1 ? X509_V_FLAG_CRL_CHECK_ALL : 0));
    return issuers.size();
}

} // namespace

TlsContext::TlsContext(const TlsFiles& files) : ctx_(SSL_CTX_new(TLS_server_method())), files_(files) {
    auto fail = [&](const std::string& what, const std::string& path) {
        auto message = what + " " + path + ": " + sslErrors();
        SSL_CTX_free(ctx_);
        ctx_ = nullptr;
        throw std::runtime_error(message);
    };
    if (!ctx_) fail("TLS", "context");
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    // No renegotiation, no resumption (every connection's certificate is verified, against the
    // current CRL), and an end of file without close_notify reads as an ordinary end.
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx_, 0);
    // Replies are appended to the output buffer while a write waits: it may move and grow.
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(ctx_, files.cert.c_str()) != 1) fail("cert", files.cert);
    if (SSL_CTX_use_PrivateKey_file(ctx_, files.key.c_str(), SSL_FILETYPE_PEM) != 1) fail("key", files.key);
    if (SSL_CTX_check_private_key(ctx_) != 1) fail("key", files.key + " does not match " + files.cert);
    if (SSL_CTX_load_verify_locations(ctx_, files.clientCa.c_str(), nullptr) != 1)
        fail("client-ca", files.clientCa);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.clientCa.c_str()))
        SSL_CTX_set_client_CA_list(ctx_, names);
    else
        fail("client-ca", files.clientCa);
    if (!files.crl.empty()) {
        try {
            crlIssuers_ = loadCrl(ctx_, files.crl);
        } catch (...) {
            SSL_CTX_free(ctx_);
            ctx_ = nullptr;
            throw;
        }
    }
    // Mutual authentication: a client without a certificate fails the handshake.
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    if (X509* own = SSL_CTX_get0_certificate(ctx_)) serverSubject_ = nameText(X509_get_subject_name(own));
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);
}

TlsStream::TlsStream(const TlsContext& context, int fd) : ssl_(SSL_new(context.get())) {
    if (!ssl_ || SSL_set_fd(ssl_, fd) != 1) throw std::runtime_error(std::string("TLS: ") + sslErrors());
    SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() {
    if (open_) {
        ERR_clear_error();
        (void)SSL_shutdown(ssl_); // close_notify, best effort: the socket closes right after
        ERR_clear_error();
    }
    SSL_free(ssl_);
}

IoResult TlsStream::result(int rc, bool reading) {
    const int error = SSL_get_error(ssl_, rc);
    switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: {
        const bool needsWritable = error == SSL_ERROR_WANT_WRITE;
        if (!open_)
            openNeedsWritable_ = needsWritable;
        else if (reading)
            readNeedsWritable_ = needsWritable;
        else
            writeNeedsReadable_ = !needsWritable;
        return {IoResult::Status::WouldBlock, 0, ""};
    }
    case SSL_ERROR_ZERO_RETURN:
        return {IoResult::Status::Closed, 0, ""};
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0 && errno == 0) return {IoResult::Status::Closed, 0, ""};
        failure_ = ERR_peek_error() ? sslErrors() : std::strerror(errno);
        break;
    default:
        if (!open_ && SSL_get_verify_result(ssl_) != X509_V_OK)
            failure_ = std::string("client certificate: ") +
                       X509_verify_cert_error_string(SSL_get_verify_result(ssl_));
        else
            failure_ = sslErrors();
        break;
    }
    ERR_clear_error();
    return {IoResult::Status::Failed, 0, failure_.c_str()};
}

IoResult TlsStream::open() {
    if (open_) return {};
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_do_handshake(ssl_);
    if (rc == 1) {
        open_ = true;
        return {};
    }
    auto r = result(rc, true);
    if (r.status == IoResult::Status::Closed) {
        failure_ = "closed during the handshake";
        return {IoResult::Status::Failed, 0, failure_.c_str()};
    }
    return r;
}

IoResult TlsStream::read(std::uint8_t* data, std::size_t size) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int rc = SSL_read_ex(ssl_, data, size, &n);
    if (rc == 1) {
        readNeedsWritable_ = false;
        return {IoResult::Status::Done, n, ""};
    }
    return result(rc, true);
}

IoResult TlsStream::write(const std::uint8_t* data, std::size_t size) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int rc = SSL_write_ex(ssl_, data, size, &n);
    if (rc == 1) {
        writeNeedsReadable_ = false;
        return {IoResult::Status::Done, n, ""};
    }
    return result(rc, false);
}

std::size_t TlsStream::buffered() const {
    return static_cast<std::size_t>(SSL_pending(ssl_));
}

std::uint32_t TlsStream::interest(std::uint32_t wanted) const {
    if (!open_) return openNeedsWritable_ ? EPOLLOUT : EPOLLIN;
    std::uint32_t events = wanted;
    if (readNeedsWritable_ && (wanted & EPOLLIN)) events |= EPOLLOUT;
    if (writeNeedsReadable_ && (wanted & EPOLLOUT)) events = (events & ~std::uint32_t{EPOLLOUT}) | EPOLLIN;
    return events;
}

PeerIdentity TlsStream::peer() const {
    PeerIdentity identity;
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (!cert) return identity;
    identity.subject = nameText(X509_get_subject_name(cert));
    if (ASN1_OBJECT* oid = OBJ_txt2obj(kRoleOid, 1)) {
        // RFC 5280 4.2: an extension appears at most once; a second role is no role, not the first.
        const int at = X509_get_ext_by_OBJ(cert, oid, -1);
        if (at >= 0 && X509_get_ext_by_OBJ(cert, oid, at) >= 0) {
            identity.roleProblem = "the role extension more than once";
        } else if (at >= 0) {
            const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(cert, at));
            if (value) identity.role = decodeRole(ASN1_STRING_get0_data(value), ASN1_STRING_length(value));
            if (!identity.role) identity.roleProblem = "a role extension that is not one DER UTF8String";
        }
        ASN1_OBJECT_free(oid);
    }
    ERR_clear_error();
    return identity;
}

bool TlsStream::servedBy(const TlsContext& context) const {
    return SSL_get_SSL_CTX(ssl_) == context.get();
}

std::string TlsStream::verifyWith(const TlsContext& context) const {
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (!cert) return "no client certificate";
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> verify(X509_STORE_CTX_new(),
                                                                           X509_STORE_CTX_free);
    // The chain the client sent (its certificate first, then the intermediates it presented).
    if (!verify || X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(context.get()), cert,
                                       SSL_get_peer_cert_chain(ssl_)) != 1) {
        ERR_clear_error();
        return "cannot verify (out of memory)";
    }
    // As the handshake verifies a client: the TLS client purpose, the store's CRL flags.
    X509_STORE_CTX_set_default(verify.get(), "ssl_client");
    const int ok = X509_verify_cert(verify.get());
    const int error = X509_STORE_CTX_get_error(verify.get());
    ERR_clear_error();
    if (ok == 1) return "";
    return X509_verify_cert_error_string(error == X509_V_OK ? X509_V_ERR_UNSPECIFIED : error);
}

} // namespace vmd::modbus
