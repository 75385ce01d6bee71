#pragma once

// The "in-memory ceiling": the most trivial Modbus-TCP server libmodbus allows, run in-process on a
// free loopback port. One thread, one poll loop, modbus_receive + modbus_reply over a flat mapping
// of 10,000 holding and input registers, every unit ID answered. What venus-modbusd achieves is
// compared with what this achieves on the same machine in the same run.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <thread>

namespace vmd::bench {

class CeilingError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class CeilingServer {
  public:
    static constexpr int kRegisters = 10000;

    /// Binds 127.0.0.1 on a free port and starts serving; throws CeilingError.
    CeilingServer();
    ~CeilingServer();
    CeilingServer(const CeilingServer&) = delete;
    CeilingServer& operator=(const CeilingServer&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    /// CPU time the serving thread has used so far (user + system).
    [[nodiscard]] double cpuSeconds() const;
    /// Requests answered so far.
    [[nodiscard]] std::uint64_t served() const { return served_.load(std::memory_order_relaxed); }

  private:
    void serve();

    struct Resources; // the libmodbus context and mapping, the sockets, the wake-up pipe
    std::unique_ptr<Resources> resources_;
    std::uint16_t port_ = 0;
    std::atomic<std::uint64_t> served_{0};
    clockid_t cpuClock_{};
    bool hasCpuClock_ = false;
    std::thread thread_;
};

} // namespace vmd::bench
