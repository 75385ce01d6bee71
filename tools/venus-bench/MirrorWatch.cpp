#include "MirrorWatch.h"

#include "ProcessStats.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

namespace vmd::bench {

namespace {

using Clock = std::chrono::steady_clock;

struct Churned {
    std::uint64_t changes = 0, itemsChanged = 0, propertiesChanged = 0;
};

/// venus-sim --churn-count's line: "changes C items-changed I properties-changed P", kept current.
Churned readChurn(const std::string& file) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        char buffer[256] = {};
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw MirrorError("--churn-count " + file + ": " + std::strerror(errno));
        const auto n = ::pread(fd, buffer, sizeof buffer - 1, 0);
        ::close(fd);
        unsigned long long c = 0, i = 0, p = 0;
        if (n > 0 && std::memchr(buffer, '\n', static_cast<std::size_t>(n)) &&
            std::sscanf(buffer, "changes %llu items-changed %llu properties-changed %llu", &c, &i, &p) == 3)
            return {c, i, p};
        std::this_thread::sleep_for(std::chrono::milliseconds(1)); // caught mid-update: read again
    }
    throw MirrorError("--churn-count " + file + ": not a venus-sim --churn-count file");
}

struct Allocs {
    std::uint64_t allocs = 0, news = 0;
};

/// libvmd-alloccount.so's file (tools/venus-bench/AllocCount.cpp): magic, allocations, operator new.
Allocs readAllocs(const std::string& file) {
    std::uint64_t words[3] = {};
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw MirrorError("--alloc-count " + file + ": " + std::strerror(errno));
    const auto n = ::pread(fd, words, sizeof words, 0);
    ::close(fd);
    if (n != static_cast<ssize_t>(sizeof words) || words[0] != 0x544e434f4c4c4156ULL)
        throw MirrorError("--alloc-count " + file +
                          ": not written by libvmd-alloccount.so (is the server started with "
                          "LD_PRELOAD=libvmd-alloccount.so VMD_ALLOC_COUNT_FILE=" +
                          file + "?)");
    return {words[1], words[2]};
}

std::optional<SchedSample> sched(pid_t pid) {
    return sampleSched(pid);
}

ProcessCost cost(pid_t pid, const SchedSample& before) {
    auto after = sampleSched(pid);
    auto memory = sampleProcess(pid);
    if (!after || !memory) throw MirrorError("process " + std::to_string(pid) + " ended during the run");
    return ProcessCost{pid, static_cast<double>(after->cpuNanoseconds - before.cpuNanoseconds) / 1e9,
                       after->runs - before.runs, memory->currentRssKiB, memory->peakRssKiB};
}

std::string grouped(double value, int decimals = 0) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    std::string s = text;
    auto end = s.find('.');
    if (end == std::string::npos) end = s.size();
    for (auto i = static_cast<long>(end) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3)
        s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

void printProcess(const char* name, const ProcessCost& p, const MirrorReport& r, std::ostream& out) {
    out << name << " (pid " << p.pid << "): CPU " << grouped(p.cpuSeconds * 1000, 1) << " ms";
    if (r.changes && *r.changes > 0)
        out << " = " << grouped(p.cpuSeconds * 1e6 / static_cast<double>(*r.changes), 2)
            << " ms per 1,000 changes";
    out << " (" << grouped(100 * p.cpuSeconds / r.seconds, 2) << " % of a core); "
        << grouped(static_cast<double>(p.runs) / r.seconds, 1) << " wake-ups/s; RSS "
        << grouped(double(p.rssKiB)) << " KiB (peak " << grouped(double(p.peakRssKiB)) << " KiB)\n";
}

} // namespace

MirrorReport watchMirror(const MirrorSettings& s) {
    MirrorReport r;
    Churned churnBefore;
    Allocs allocsBefore;
    if (!s.churnCountFile.empty()) churnBefore = readChurn(s.churnCountFile);
    if (!s.allocCountFile.empty()) allocsBefore = readAllocs(s.allocCountFile);
    auto serverBefore = sched(s.server);
    std::optional<SchedSample> busBefore;
    if (s.busDaemon) busBefore = sched(*s.busDaemon);
    if (!serverBefore || (s.busDaemon && !busBefore))
        throw MirrorError("cannot read /proc/PID/task/*/schedstat of the watched processes");
    const auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(s.seconds));
    r.server = cost(s.server, *serverBefore);
    if (s.busDaemon) r.busDaemon = cost(*s.busDaemon, *busBefore);
    if (!s.churnCountFile.empty()) {
        const auto after = readChurn(s.churnCountFile);
        r.changes = after.changes - churnBefore.changes;
        r.itemsChanged = after.itemsChanged - churnBefore.itemsChanged;
        r.propertiesChanged = after.propertiesChanged - churnBefore.propertiesChanged;
    }
    if (!s.allocCountFile.empty()) {
        const auto after = readAllocs(s.allocCountFile);
        r.allocs = after.allocs - allocsBefore.allocs;
        r.news = after.news - allocsBefore.news;
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return r;
}

void printMirrorText(const MirrorReport& r, std::ostream& out) {
    out << "mirror: " << grouped(r.seconds, 1) << " s, no Modbus client";
    if (r.changes)
        out << ", " << grouped(double(*r.changes)) << " value changes ("
            << grouped(static_cast<double>(*r.changes) / r.seconds, 1) << "/s) in "
            << grouped(double(r.itemsChanged)) << " ItemsChanged and " << grouped(double(r.propertiesChanged))
            << " PropertiesChanged";
    out << "\n";
    printProcess("server", r.server, r, out);
    if (r.busDaemon) {
        printProcess("dbus-daemon", *r.busDaemon, r, out);
        if (r.busDaemon->cpuSeconds > 0)
            out << "ratio server / dbus-daemon CPU: "
                << grouped(r.server.cpuSeconds / r.busDaemon->cpuSeconds, 2) << "\n";
    }
    if (r.allocs) {
        out << "server allocations: " << grouped(double(*r.allocs)) << " (operator new "
            << grouped(double(*r.news)) << ")";
        if (r.changes && *r.changes > 0)
            out << " = " << grouped(static_cast<double>(*r.allocs) / static_cast<double>(*r.changes), 3)
                << " per change (operator new "
                << grouped(static_cast<double>(*r.news) / static_cast<double>(*r.changes), 3) << ")";
        out << "\n";
    }
}

void printMirrorJson(const MirrorReport& r, std::ostream& out) {
    auto process = [&](const ProcessCost& p) {
        std::ostringstream o;
        o << "{\"pid\": " << p.pid << ", \"cpu_seconds\": " << p.cpuSeconds << ", \"wakeups\": " << p.runs
          << ", \"wakeups_per_second\": " << static_cast<double>(p.runs) / r.seconds
          << ", \"rss_kib\": " << p.rssKiB << ", \"peak_rss_kib\": " << p.peakRssKiB;
        if (r.changes && *r.changes > 0)
            o << ", \"cpu_ms_per_1000_changes\": " << p.cpuSeconds * 1e6 / static_cast<double>(*r.changes);
        o << "}";
        return o.str();
    };
    out << "{\"mode\": \"mirror\", \"seconds\": " << r.seconds;
    if (r.changes)
        out << ", \"changes\": " << *r.changes << ", \"items_changed\": " << r.itemsChanged
            << ", \"properties_changed\": " << r.propertiesChanged;
    out << ", \"server\": " << process(r.server);
    if (r.busDaemon) {
        out << ", \"bus_daemon\": " << process(*r.busDaemon);
        if (r.busDaemon->cpuSeconds > 0)
            out << ", \"ratio\": " << r.server.cpuSeconds / r.busDaemon->cpuSeconds;
    }
    if (r.allocs) {
        out << ", \"allocations\": " << *r.allocs << ", \"operator_new\": " << *r.news;
        if (r.changes && *r.changes > 0)
            out << ", \"allocations_per_change\": "
                << static_cast<double>(*r.allocs) / static_cast<double>(*r.changes)
                << ", \"operator_new_per_change\": "
                << static_cast<double>(*r.news) / static_cast<double>(*r.changes);
    }
    out << "}\n";
}

} // namespace vmd::bench
