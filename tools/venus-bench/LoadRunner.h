#pragma once

// The load generator: one thread and one libmodbus connection per client, each sending the mix
// in a closed loop (or paced once per period) until the duration or the request budget is used up.

#include "LatencyHistogram.h"
#include "Mix.h"
#include "TlsLink.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace vmd::bench {

/// A client could not connect (exit code 1).
class ConnectError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct LoadSettings {
    std::string host;
    std::uint16_t port = 502;
    unsigned connections = 1;
    std::chrono::duration<double> duration{1.0};
    std::uint64_t maxRequests = 0; ///< across all connections; the run stops when reached
    std::chrono::duration<double> responseTimeout{3.0};
    const TlsClientContext* tls = nullptr; ///< Modbus/TCP Security (MBAP inside TLS); null: plain TCP
};

/// Counts of one run. Latencies are of every request that got a reply, exception or not.
struct LoadResult {
    std::uint64_t ok = 0;
    std::array<std::uint64_t, 256> exceptions{}; ///< by exception code
    std::uint64_t transportErrors = 0;           ///< timeouts, broken replies, lost connections
    std::uint64_t reconnects = 0;
    double seconds = 0; ///< wall time of the run
    // Big (about 135 KiB each): kept on the heap.
    std::unique_ptr<LatencyHistogram> all = std::make_unique<LatencyHistogram>();
    std::unique_ptr<LatencyHistogram> reads = std::make_unique<LatencyHistogram>();
    std::unique_ptr<LatencyHistogram> writes = std::make_unique<LatencyHistogram>();

    [[nodiscard]] std::uint64_t exceptionTotal() const;
    /// Requests that got a reply (data or exception).
    [[nodiscard]] std::uint64_t answered() const { return ok + exceptionTotal(); }
    [[nodiscard]] double requestsPerSecond() const {
        return seconds > 0 ? static_cast<double>(answered()) / seconds : 0.0;
    }
    void merge(const LoadResult& other);
};

/// Called once every connection is up, just before the clock starts, and once the run is over.
struct LoadHooks {
    virtual ~LoadHooks() = default;
    virtual void started() {}
    virtual void finished() {}
};

/// Runs the mix; throws ConnectError if a connection cannot be opened.
[[nodiscard]] LoadResult runLoad(const LoadSettings& settings, const Mix& mix, LoadHooks& hooks);

} // namespace vmd::bench
