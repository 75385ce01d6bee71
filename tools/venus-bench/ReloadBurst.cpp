#include "ReloadBurst.h"

#include <csignal>

namespace vmd::bench {

ReloadBurst::ReloadBurst(pid_t pid, unsigned count, std::chrono::microseconds interval)
    : thread_([this, pid, count, interval] { run(pid, count, interval); }) {}

ReloadBurst::~ReloadBurst() {
    stop();
}

unsigned ReloadBurst::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    return sent_;
}

void ReloadBurst::run(pid_t pid, unsigned count, std::chrono::microseconds interval) {
    auto next = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    for (unsigned i = 0; i < count; ++i) {
        // The pace is kept from the start, not from each send.
        if (wake_.wait_until(lock, next, [this] { return stop_; })) return;
        next += interval;
        if (::kill(pid, SIGHUP) != 0) {
            failed_ = true;
            return;
        }
        ++sent_;
    }
}

} // namespace vmd::bench
