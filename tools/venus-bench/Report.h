#pragma once

// The results of a venus-bench invocation, printed for people or as JSON.

#include "HostileClients.h"
#include "LoadRunner.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace vmd::bench {

/// What the watched server process used during a run.
struct ServerUsage {
    pid_t pid = 0;
    double cpuSeconds = 0;        ///< user + system during the run
    double wallSeconds = 0;       ///< the span over which cpuSeconds was measured
    std::uint64_t peakRssKiB = 0; ///< VmHWM at the end
    std::uint64_t rssKiB = 0;     ///< VmRSS at the end
};

struct RunReport {
    std::string label;   ///< "target" or "ceiling"
    std::string address; ///< HOST:PORT
    LoadResult result;
    std::optional<ServerUsage> server;
};

struct Report {
    std::string mix;
    std::string description;
    unsigned connections = 0;
    double durationSeconds = 0;
    std::optional<RunReport> target;
    std::optional<RunReport> ceiling;
    std::optional<RunReport> hostile; ///< --hostile: the target again, with hostile connections at work
    HostileCounts hostileCounts;

    /// target requests/s over ceiling requests/s, when both ran.
    [[nodiscard]] std::optional<double> ratio() const;
};

void printText(const Report& report, std::ostream& out);
void printJson(const Report& report, std::ostream& out);

} // namespace vmd::bench
