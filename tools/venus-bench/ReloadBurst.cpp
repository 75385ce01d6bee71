#include "ReloadBurst.h"

#include <csignal>

namespace vmd::bench {

ReloadBurst::ReloadBurst(pid_t pid, unsigned count, std::chrono::microseconds interval)
    : thread_([this, pid, count, interval] { run(pid, count, interval); }) {}

ReloadBurst::~ReloadBurst() {
    stop();
}

unsigned ReloadBurst::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return sent_;
}

void ReloadBurst::run(pid_t pid, unsigned count, std::chrono::microseconds interval) {
    auto next = std::chrono::steady_clock::now();
    for (unsigned i = 0; i < count && !stop_; ++i) {
        std::this_thread::sleep_until(next); // the pace is kept from the start, not from each send
        next += interval;
        if (::kill(pid, SIGHUP) != 0) {
            failed_ = true;
            return;
        }
        ++sent_;
    }
}

} // namespace vmd::bench
