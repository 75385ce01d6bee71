#pragma once

// CPU time and peak resident memory of another process, from /proc/PID/stat and /proc/PID/status.

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace vmd::bench {

struct ProcessSample {
    double cpuSeconds = 0;           ///< user + system time so far
    std::uint64_t peakRssKiB = 0;    ///< VmHWM: the largest resident set so far
    std::uint64_t currentRssKiB = 0; ///< VmRSS
};

/// Reads both files; nullopt if the process does not exist or the files cannot be parsed.
[[nodiscard]] std::optional<ProcessSample> sampleProcess(pid_t pid);

/// The scheduler's account of a process, summed over its threads (/proc/PID/task/*/schedstat): CPU
/// time in nanoseconds (finer than the clock ticks of /proc/PID/stat) and how many times a thread was
/// put on a CPU (each wake-up is one).
struct SchedSample {
    std::uint64_t cpuNanoseconds = 0;
    std::uint64_t runs = 0;
};
[[nodiscard]] std::optional<SchedSample> sampleSched(pid_t pid);

} // namespace vmd::bench
