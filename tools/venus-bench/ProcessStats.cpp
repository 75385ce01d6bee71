#include "ProcessStats.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vmd::bench {

namespace {

std::optional<double> cpuSeconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(close + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // Field 3 is the state; utime and stime are fields 14 and 15 (proc(5)).
    for (int index = 3; index <= 15 && fields >> field; ++index) {
        if (index == 14) utime = std::stoull(field);
        if (index == 15) stime = std::stoull(field);
    }
    if (!fields) return std::nullopt;
    const long ticks = ::sysconf(_SC_CLK_TCK);
    return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

} // namespace

std::optional<ProcessSample> sampleProcess(pid_t pid) {
    ProcessSample sample;
    try {
        auto cpu = cpuSeconds(pid);
        if (!cpu) return std::nullopt;
        sample.cpuSeconds = *cpu;
        std::ifstream status("/proc/" + std::to_string(pid) + "/status");
        std::string line;
        bool found = false;
        while (std::getline(status, line)) {
            auto value = [&] { return std::stoull(line.substr(line.find(':') + 1)); }; // "   1234 kB"
            if (line.rfind("VmHWM:", 0) == 0) {
                sample.peakRssKiB = value();
                found = true;
            } else if (line.rfind("VmRSS:", 0) == 0) {
                sample.currentRssKiB = value();
            }
        }
        if (!found) return std::nullopt;
    } catch (const std::exception&) { // std::stoull on something unexpected
        return std::nullopt;
    }
    return sample;
}

std::optional<SchedSample> sampleSched(pid_t pid) {
    SchedSample sample;
    std::error_code error;
    bool any = false;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
        std::ifstream in(task.path() / "schedstat");
        std::uint64_t cpu = 0, waiting = 0, runs = 0;  // proc(5): run time, wait time (ns), timeslices
        if (!(in >> cpu >> waiting >> runs)) continue; // a thread that just ended
        sample.cpuNanoseconds += cpu;
        sample.runs += runs;
        any = true;
    }
    if (error || !any) return std::nullopt;
    return sample;
}

} // namespace vmd::bench
