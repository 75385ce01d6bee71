#pragma once

// venus-bench --mirror: what mirroring a busy bus costs (docs/benchmarks.md, "Mirroring a busy bus").
// Watches the server and the dbus-daemon for a while, no Modbus client, and divides their CPU time by
// the value changes venus-sim --churn published meanwhile.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

namespace vmd::bench {

struct MirrorSettings {
    pid_t server = 0;
    std::optional<pid_t> busDaemon; ///< --bus-pid: the dbus-daemon routing the changes
    std::string churnCountFile;     ///< --churn-count: venus-sim's count file ("" = no churn)
    std::string allocCountFile;     ///< --alloc-count: the server's libvmd-alloccount.so file
    double seconds = 10;
};

/// One process over the run.
struct ProcessCost {
    pid_t pid = 0;
    double cpuSeconds = 0;
    std::uint64_t runs = 0; ///< times a thread of it was put on a CPU (wake-ups)
    std::uint64_t rssKiB = 0;
    std::uint64_t peakRssKiB = 0;
};

struct MirrorReport {
    double seconds = 0;
    std::optional<std::uint64_t> changes; ///< with --churn-count
    std::uint64_t itemsChanged = 0;
    std::uint64_t propertiesChanged = 0;
    ProcessCost server;
    std::optional<ProcessCost> busDaemon;
    std::optional<std::uint64_t> allocs; ///< with --alloc-count: malloc/calloc/realloc calls
    std::optional<std::uint64_t> news;   ///< operator new calls (also counted in allocs)
};

/// A count file that cannot be read (exit code 1).
class MirrorError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

[[nodiscard]] MirrorReport watchMirror(const MirrorSettings& settings);
void printMirrorText(const MirrorReport& report, std::ostream& out);
void printMirrorJson(const MirrorReport& report, std::ostream& out);

} // namespace vmd::bench
