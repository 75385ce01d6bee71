#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace vmd::modbus {

/// What a read or write of a connection's byte stream did.
struct IoResult {
    enum class Status : std::uint8_t {
        Done,       ///< `bytes` moved (a read of 0 bytes is never Done)
        WouldBlock, ///< nothing now; the stream says which event to wait for in interest()
        Closed,     ///< the peer ended the stream (end of file, a TLS close_notify)
        Failed,     ///< an error; `error` says what
    };
    Status status = Status::Done;
    std::size_t bytes = 0;
    const char* error = "";
};

/// A connection's byte stream beneath MBAP framing (DESIGN section 3, "Transport seam"): plain
/// TCP or TLS. Framing, queueing, back-pressure and limits are the Server's and the same for both;
/// a TLS stream's handshake and its want-read / want-write needs stay inside it.
class ByteStream {
  public:
    virtual ~ByteStream() = default;
    /// Drives the stream towards carrying data (the TLS handshake); Done once it does.
    virtual IoResult open() { return {}; }
    [[nodiscard]] virtual bool isOpen() const { return true; }
    virtual IoResult read(std::uint8_t* data, std::size_t size) = 0;
    virtual IoResult write(const std::uint8_t* data, std::size_t size) = 0;
    /// Bytes already received and decrypted that no socket event will announce again.
    [[nodiscard]] virtual std::size_t buffered() const { return 0; }
    /// The epoll events the stream needs given what the Server wants (`wanted`: EPOLLIN to read,
    /// EPOLLOUT to send): a TLS read may need the socket writable and a write may need it readable.
    [[nodiscard]] virtual std::uint32_t interest(std::uint32_t wanted) const { return wanted; }
};

/// Plain TCP: the socket's bytes as they are.
class PlainStream final : public ByteStream {
  public:
    explicit PlainStream(int fd) : fd_(fd) {}
    IoResult read(std::uint8_t* data, std::size_t size) override;
    IoResult write(const std::uint8_t* data, std::size_t size) override;

  private:
    int fd_;
};

} // namespace vmd::modbus
