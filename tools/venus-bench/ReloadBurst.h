#pragma once

// The reload burst of --hostile-kind reload: SIGHUPs sent to the measured server at an even pace
// from a helper thread while the measured clients run (issue 24: reloads must not stop the world).

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace vmd::bench {

class ReloadBurst {
  public:
    /// Starts sending `count` SIGHUPs to `pid`, the first at once, then one every `interval`.
    ReloadBurst(pid_t pid, unsigned count, std::chrono::microseconds interval);
    ~ReloadBurst();
    ReloadBurst(const ReloadBurst&) = delete;
    ReloadBurst& operator=(const ReloadBurst&) = delete;

    /// Stops the thread at once (early if the run ended first); returns how many SIGHUPs were sent.
    unsigned stop();
    /// Whether a kill() failed (the server gone): the run's figures then mean nothing.
    [[nodiscard]] bool failed() const { return failed_; }

  private:
    void run(pid_t pid, unsigned count, std::chrono::microseconds interval);

    std::mutex mutex_;
    std::condition_variable wake_; ///< stop() ends the wait for the next SIGHUP
    bool stop_ = false;            ///< under mutex_
    std::atomic<unsigned> sent_{0};
    std::atomic<bool> failed_{false};
    std::thread thread_;
};

} // namespace vmd::bench
