#pragma once

// Hostile clients for --hostile: connections that hold a server's attention without ever finishing
// a request (half-open, a frame or a ClientHello drip-fed a byte at a time, a handshake stalled
// after the ClientHello), kept at work by one helper thread over non-blocking sockets while the
// measured clients run. When the server closes one (a frame or handshake timeout, a limit), it is
// opened again a drip interval later.

#include "TlsLink.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace vmd::bench {

/// What the hostile connections do: hold the server's attention without finishing a request (drip),
/// reconnect as soon as the server closes them, silent, from 127.0.7.1-4 (churn: the eviction abuse of
/// issue 24), or pipeline reads as fast as the server answers them, from 127.0.7.9-12 (flood). Churn
/// and flood bind their source addresses and so need a server on the loopback (IPv4).
enum class HostileMix { Drip, Churn, Flood };

/// What the hostile connections did, read once they are stopped.
struct HostileCounts {
    unsigned connections = 0;   ///< kept open at once
    unsigned halfOpen = 0;      ///< ... of them: connected, silent
    unsigned drip = 0;          ///< ... an MBAP frame (plain) or a ClientHello (TLS), a byte at a time
    unsigned stalled = 0;       ///< ... a whole ClientHello, then silence (TLS only)
    unsigned churn = 0;         ///< ... silent, reopened at once when closed, from 127.0.7.1-4
    unsigned flood = 0;         ///< ... pipelined reads as fast as they are answered, from 127.0.7.9-12
    std::uint64_t connects = 0; ///< connections opened, reopenings included
    std::uint64_t closedByServer = 0;
    std::uint64_t bytesSent = 0;
    bool tls = false;
    unsigned reloads = 0;                        ///< --hostile-kind reload: SIGHUPs sent (no connections)
    std::chrono::microseconds reloadInterval{0}; ///< ... one every this long
};

class HostileClients {
  public:
    /// Opens `count` hostile connections to host:port and starts the helper thread. With `tls`,
    /// they go at a TLS port (half-open, drip-fed ClientHello, stalled handshake); otherwise at a
    /// plain one (half-open, drip-fed MBAP frame). Throws std::runtime_error if host:port does not
    /// resolve.
    HostileClients(const std::string& host, std::uint16_t port, unsigned count, const TlsClientContext* tls,
                   HostileMix mix = HostileMix::Drip,
                   std::chrono::milliseconds dripInterval = std::chrono::milliseconds(100));
    ~HostileClients();
    HostileClients(const HostileClients&) = delete;
    HostileClients& operator=(const HostileClients&) = delete;

    /// Stops the thread and closes every connection; returns the counts.
    HostileCounts stop();

  private:
    enum class Kind { HalfOpen, Drip, Stalled, Churn, Flood };
    struct Connection {
        Kind kind;
        std::uint32_t source = 0; ///< the IPv4 source address to bind (host order), 0: any
        int fd = -1;
        std::size_t sent = 0; ///< bytes of the payload sent on this connection
        std::chrono::steady_clock::time_point next{};
    };

    void run();
    void open(Connection& c);
    void close(Connection& c, bool byServer);
    void feed(Connection& c);

    std::vector<std::uint8_t> storage_; ///< the server's address (a sockaddr)
    std::vector<std::uint8_t> payload_; ///< the MBAP frame or the ClientHello
    std::vector<std::uint8_t> flood_;   ///< pipelined MBAP reads
    std::chrono::milliseconds interval_;
    std::vector<Connection> connections_;
    HostileCounts counts_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace vmd::bench
