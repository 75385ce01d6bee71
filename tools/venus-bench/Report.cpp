#include "Report.h"

#include <chrono>
#include <cstdio>
#include <string>

namespace vmd::bench {

namespace {

std::string fixed(double value, int decimals = 1) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

double us(std::uint64_t ns) {
    return static_cast<double>(ns) / 1000.0;
}

std::string jsonString(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
            out += buffer;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string latencyJson(const LatencyHistogram& h) {
    if (h.count() == 0) return "null";
    return "{\"count\": " + std::to_string(h.count()) + ", \"p50\": " + fixed(us(h.quantileNs(0.5))) +
           ", \"p99\": " + fixed(us(h.quantileNs(0.99))) + ", \"p999\": " + fixed(us(h.quantileNs(0.999))) +
           ", \"max\": " + fixed(us(h.maxNs())) + ", \"mean\": " + fixed(h.meanNs() / 1000.0) + "}";
}

std::string latencyText(const LatencyHistogram& h) {
    return "p50 " + fixed(us(h.quantileNs(0.5))) + "  p99 " + fixed(us(h.quantileNs(0.99))) + "  p99.9 " +
           fixed(us(h.quantileNs(0.999))) + "  max " + fixed(us(h.maxNs())) + "  mean " +
           fixed(h.meanNs() / 1000.0);
}

const char* exceptionName(std::size_t code) {
    switch (code) {
    case 1:
        return "illegal function";
    case 2:
        return "illegal data address";
    case 3:
        return "illegal data value";
    case 4:
        return "server device failure";
    case 6:
        return "server busy";
    case 10:
        return "gateway path unavailable";
    case 11:
        return "gateway target failed to respond";
    default:
        return "other";
    }
}

void printRun(const RunReport& run, std::ostream& out) {
    const auto& r = run.result;
    out << run.label << " " << run.address << "\n";
    out << "  requests     " << r.answered() << " in " << fixed(r.seconds, 2)
        << " s = " << fixed(r.requestsPerSecond()) << "/s  (ok " << r.ok << ", exceptions "
        << r.exceptionTotal() << ", transport errors " << r.transportErrors << ", reconnects " << r.reconnects
        << ")\n";
    for (std::size_t code = 0; code < r.exceptions.size(); ++code)
        if (r.exceptions[code])
            out << "  exception " << code << " (" << exceptionName(code) << "): " << r.exceptions[code]
                << "\n";
    if (r.all->count()) out << "  latency us   " << latencyText(*r.all) << "\n";
    if (r.writes->count()) {
        out << "    reads      " << latencyText(*r.reads) << "\n";
        out << "    writes     " << latencyText(*r.writes) << "\n";
    }
    if (run.server) {
        const auto& s = *run.server;
        out << (s.peakRssKiB ? "  server pid " : "  server thread in pid ") << s.pid << ": cpu "
            << fixed(s.cpuSeconds, 2) << " s over " << fixed(s.wallSeconds, 2) << " s ("
            << fixed(s.wallSeconds > 0 ? 100.0 * s.cpuSeconds / s.wallSeconds : 0.0) << " % of one core)";
        if (r.answered())
            out << ", " << fixed(1e6 * s.cpuSeconds / static_cast<double>(r.answered()), 2)
                << " us cpu/request";
        if (s.peakRssKiB)
            out << "; peak RSS " << fixed(static_cast<double>(s.peakRssKiB) / 1024.0) << " MiB (VmHWM), now "
                << fixed(static_cast<double>(s.rssKiB) / 1024.0) << " MiB";
        out << "\n";
    }
}

std::string runJson(const RunReport& run) {
    const auto& r = run.result;
    std::string exceptions = "{";
    for (std::size_t code = 0; code < r.exceptions.size(); ++code)
        if (r.exceptions[code])
            exceptions += (exceptions.size() > 1 ? ", \"" : "\"") + std::to_string(code) +
                          "\": " + std::to_string(r.exceptions[code]);
    exceptions += "}";
    std::string server = "null";
    if (run.server) {
        const auto& s = *run.server;
        server = "{\"pid\": " + std::to_string(s.pid) + ", \"cpu_s\": " + fixed(s.cpuSeconds, 3) +
                 ", \"wall_s\": " + fixed(s.wallSeconds, 3) + ", \"cpu_percent\": " +
                 fixed(s.wallSeconds > 0 ? 100.0 * s.cpuSeconds / s.wallSeconds : 0.0, 2) +
                 ", \"cpu_us_per_request\": " +
                 (r.answered() ? fixed(1e6 * s.cpuSeconds / static_cast<double>(r.answered()), 3) : "null") +
                 ", \"peak_rss_kib\": " + (s.peakRssKiB ? std::to_string(s.peakRssKiB) : "null") +
                 ", \"rss_kib\": " + (s.rssKiB ? std::to_string(s.rssKiB) : "null") + "}";
    }
    return "{\"address\": " + jsonString(run.address) + ", \"requests\": " + std::to_string(r.answered()) +
           ", \"seconds\": " + fixed(r.seconds, 3) + ", \"requests_per_s\": " + fixed(r.requestsPerSecond()) +
           ", \"ok\": " + std::to_string(r.ok) + ", \"exceptions\": " + exceptions +
           ", \"transport_errors\": " + std::to_string(r.transportErrors) +
           ", \"reconnects\": " + std::to_string(r.reconnects) + ", \"latency_us\": " + latencyJson(*r.all) +
           ", \"read_latency_us\": " + latencyJson(*r.reads) +
           ", \"write_latency_us\": " + latencyJson(*r.writes) + ", \"server\": " + server + "}";
}

double reloadIntervalMs(const HostileCounts& h) {
    return std::chrono::duration<double, std::milli>(h.reloadInterval).count();
}

std::string hostileJson(const HostileCounts& h) {
    return "{\"connections\": " + std::to_string(h.connections) + ", \"tls\": " + (h.tls ? "true" : "false") +
           ", \"half_open\": " + std::to_string(h.halfOpen) + ", \"drip\": " + std::to_string(h.drip) +
           ", \"stalled\": " + std::to_string(h.stalled) + ", \"churn\": " + std::to_string(h.churn) +
           ", \"flood\": " + std::to_string(h.flood) + ", \"connects\": " + std::to_string(h.connects) +
           ", \"closed_by_server\": " + std::to_string(h.closedByServer) +
           ", \"bytes_sent\": " + std::to_string(h.bytesSent) +
           ", \"reloads\": " + std::to_string(h.reloads) +
           ", \"reload_interval_ms\": " + fixed(reloadIntervalMs(h), 3) + "}";
}

void printHostileConnections(const HostileCounts& h, std::ostream& out) {
    out << "  hostile      " << h.connections << " connections: ";
    if (h.churn)
        out << h.churn << " silent from 127.0.7.1-4, reopened at once when closed (eviction churn)";
    else if (h.flood)
        out << h.flood << " pipelining reads from 127.0.7.9-12 (request flood)";
    else
        out << h.halfOpen << " half-open, " << h.drip
            << (h.tls ? " drip-feeding a ClientHello, " + std::to_string(h.stalled) + " stalled after it"
                      : std::string(" drip-feeding an MBAP frame"));
    out << "; " << h.connects << " opened, " << h.closedByServer << " closed by the server, " << h.bytesSent
        << " bytes sent\n";
}

void printHostile(const Report& report, std::ostream& out) {
    const auto& h = report.hostileCounts;
    printRun(*report.hostile, out);
    if (h.reloads)
        out << "  hostile      " << h.reloads << " SIGHUPs (reload requests), one every "
            << fixed(reloadIntervalMs(h)) << " ms\n";
    else
        printHostileConnections(h, out);
    if (!report.target || !report.target->result.all->count() || !report.hostile->result.all->count()) return;
    const auto& quiet = *report.target->result.all;
    const auto& busy = *report.hostile->result.all;
    out << "isolation, latency us alone -> with hostile " << (h.reloads ? "reloads" : "connections")
        << ": p50 " << fixed(us(quiet.quantileNs(0.5))) << " -> " << fixed(us(busy.quantileNs(0.5)))
        << ", p99 " << fixed(us(quiet.quantileNs(0.99))) << " -> " << fixed(us(busy.quantileNs(0.99)))
        << ", max " << fixed(us(quiet.maxNs())) << " -> " << fixed(us(busy.maxNs())) << "\n";
}

} // namespace

std::optional<double> Report::ratio() const {
    if (!target || !ceiling || ceiling->result.requestsPerSecond() <= 0) return std::nullopt;
    return target->result.requestsPerSecond() / ceiling->result.requestsPerSecond();
}

void printText(const Report& report, std::ostream& out) {
    out << "venus-bench: mix " << report.mix << " (" << report.description << "), " << report.connections
        << " connections, " << fixed(report.durationSeconds, 1) << " s\n";
    if (report.target) printRun(*report.target, out);
    if (report.ceiling) printRun(*report.ceiling, out);
    if (report.hostile) printHostile(report, out);
    if (auto r = report.ratio()) out << "ratio target/ceiling: " << fixed(*r, 3) << "\n";
}

void printJson(const Report& report, std::ostream& out) {
    auto ratio = report.ratio();
    out << "{\"mix\": " << jsonString(report.mix) << ", \"description\": " << jsonString(report.description)
        << ", \"connections\": " << report.connections
        << ", \"duration_s\": " << fixed(report.durationSeconds, 3)
        << ", \"target\": " << (report.target ? runJson(*report.target) : "null")
        << ", \"ceiling\": " << (report.ceiling ? runJson(*report.ceiling) : "null")
        << ", \"ratio\": " << (ratio ? fixed(*ratio, 4) : "null")
        << ", \"hostile\": " << (report.hostile ? runJson(*report.hostile) : "null")
        << ", \"hostile_clients\": " << (report.hostile ? hostileJson(report.hostileCounts) : "null")
        << "}\n";
}

} // namespace vmd::bench
