// venus-bench: a closed-loop Modbus-TCP load generator for venus-modbusd, with an in-process
// libmodbus "ceiling" server to compare against. See docs/benchmarks.md.

#include "BenchOptions.h"
#include "CeilingServer.h"
#include "HostileClients.h"
#include "LoadRunner.h"
#include "MirrorWatch.h"
#include "ProcessStats.h"
#include "ReloadBurst.h"
#include "Report.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

namespace vmd::bench {

namespace {

using Clock = std::chrono::steady_clock;

/// Samples the watched server when the load starts and when it ends.
class ServerWatch : public LoadHooks {
  public:
    explicit ServerWatch(std::optional<pid_t> pid) : pid_(pid) {}

    void started() override {
        if (!pid_) return;
        before_ = sampleProcess(*pid_);
        startedAt_ = Clock::now();
    }
    void finished() override {
        if (!pid_ || !before_) return;
        auto after = sampleProcess(*pid_);
        if (!after) return;
        usage_ = ServerUsage{*pid_, after->cpuSeconds - before_->cpuSeconds,
                             std::chrono::duration<double>(Clock::now() - startedAt_).count(),
                             after->peakRssKiB, after->currentRssKiB};
    }
    [[nodiscard]] const std::optional<ServerUsage>& usage() const { return usage_; }

  private:
    std::optional<pid_t> pid_;
    std::optional<ProcessSample> before_;
    Clock::time_point startedAt_{};
    std::optional<ServerUsage> usage_;
};

/// Samples the CPU time of the in-process ceiling server's thread.
class CeilingWatch : public LoadHooks {
  public:
    explicit CeilingWatch(const CeilingServer& server) : server_(server) {}

    void started() override {
        before_ = server_.cpuSeconds();
        startedAt_ = Clock::now();
    }
    void finished() override {
        usage_ = ServerUsage{::getpid(), server_.cpuSeconds() - before_,
                             std::chrono::duration<double>(Clock::now() - startedAt_).count(), 0, 0};
    }
    [[nodiscard]] const std::optional<ServerUsage>& usage() const { return usage_; }

  private:
    const CeilingServer& server_;
    double before_ = 0;
    Clock::time_point startedAt_{};
    std::optional<ServerUsage> usage_;
};

/// Keeps hostile connections at work from just before the clock starts until the run is over,
/// around the server's watch.
class HostileWatch : public LoadHooks {
  public:
    HostileWatch(const BenchOptions& options, const TlsClientContext* tls, ServerWatch& watch)
        : options_(options), tls_(tls), watch_(watch) {}

    void started() override {
        if (options_.hostileKind == "reload") { // SIGHUPs spread evenly over the run
            const auto interval = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::duration<double>(options_.durationSeconds / options_.hostile));
            counts_.reloadInterval = interval;
            watch_.started();
            reloads_ = std::make_unique<ReloadBurst>(*options_.pid, options_.hostile, interval);
            return;
        }
        try { // thrown here, the error would leave the client threads waiting for the start
            const auto mix = options_.hostileKind == "churn"   ? HostileMix::Churn
                             : options_.hostileKind == "flood" ? HostileMix::Flood
                                                               : HostileMix::Drip;
            clients_ =
                std::make_unique<HostileClients>(options_.host, options_.port, options_.hostile, tls_, mix);
        } catch (const std::runtime_error& e) {
            error_ = e.what();
        }
        // Three drip intervals: every hostile connection is open and the drips are under way.
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        watch_.started();
    }
    void finished() override {
        watch_.finished();
        if (clients_) counts_ = clients_->stop();
        if (reloads_) {
            counts_.reloads = reloads_->stop();
            if (reloads_->failed()) error_ = "--hostile-kind reload: cannot signal the server (gone?)";
        }
    }
    [[nodiscard]] const HostileCounts& counts() const { return counts_; }
    [[nodiscard]] const std::string& error() const { return error_; }

  private:
    const BenchOptions& options_;
    const TlsClientContext* tls_;
    ServerWatch& watch_;
    std::unique_ptr<HostileClients> clients_;
    std::unique_ptr<ReloadBurst> reloads_;
    HostileCounts counts_;
    std::string error_;
};

LoadSettings settingsFor(const BenchOptions& options) {
    LoadSettings s;
    s.host = options.host;
    s.port = options.port;
    s.connections = options.connections;
    s.duration = std::chrono::duration<double>(options.durationSeconds);
    s.maxRequests = options.maxRequests;
    s.responseTimeout = std::chrono::duration<double>(options.timeoutSeconds);
    return s;
}

std::string hostPort(const std::string& host, std::uint16_t port) {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

int runMirror(const BenchOptions& options) {
    try {
        auto report = watchMirror(
            {*options.pid, options.busPid, options.churnCount, options.allocCount, options.durationSeconds});
        if (options.json)
            printMirrorJson(report, std::cout);
        else
            printMirrorText(report, std::cout);
    } catch (const MirrorError& e) {
        std::cerr << "venus-bench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

int run(int argc, char** argv) {
    BenchOptions options;
    try {
        options = parseOptions(argc, argv);
        if (options.pid && !sampleProcess(*options.pid))
            throw UsageError("--pid " + std::to_string(*options.pid) +
                             ": no such process (or /proc unreadable)");
        if (options.busPid && !sampleProcess(*options.busPid))
            throw UsageError("--bus-pid " + std::to_string(*options.busPid) +
                             ": no such process (or /proc unreadable)");
    } catch (const UsageError& e) {
        std::cerr << "venus-bench: " << e.what() << "\n" << usage();
        return 2;
    }
    if (options.help) {
        std::cout << usage();
        return 0;
    }
    std::signal(SIGPIPE, SIG_IGN);
    if (options.mirror) return runMirror(options);

    const Mix mix = selectedMix(options);
    Report report{mix.name, mix.description, options.connections, options.durationSeconds, {}, {}, {}, {}};
    if (options.connections == 0) {
        report.mix = "none";
        report.description = "no Modbus client: the server's CPU and memory only";
    }
    const bool runTarget = options.portGiven || !options.ceiling;
    std::unique_ptr<TlsClientContext> tls;
    std::optional<double> handshakes;
    try {
        if (!options.tlsCert.empty()) {
            tls =
                std::make_unique<TlsClientContext>(TlsFiles{options.tlsCert, options.tlsKey, options.tlsCa});
            if (options.connections > 0) // full handshakes, one client, before the load
                handshakes = measureHandshakes(*tls, options.host, options.port,
                                               std::min(options.durationSeconds, 3.0));
        }
        if (runTarget) {
            ServerWatch watch(options.pid);
            LoadResult result;
            if (options.connections == 0) { // only watch the server
                watch.started();
                std::this_thread::sleep_for(std::chrono::duration<double>(options.durationSeconds));
                watch.finished();
                result.seconds = options.durationSeconds;
            } else {
                auto settings = settingsFor(options);
                settings.tls = tls.get();
                result = runLoad(settings, mix, watch);
            }
            report.target =
                RunReport{"target", hostPort(options.host, options.port), std::move(result), watch.usage()};
            if (options.hostile) { // the same run again, with hostile connections at work
                auto settings = settingsFor(options);
                settings.tls = tls.get();
                ServerWatch hostileWatch(options.pid);
                HostileWatch hostile(options, tls.get(), hostileWatch);
                auto hostileResult = runLoad(settings, mix, hostile);
                if (!hostile.error().empty()) throw std::runtime_error(hostile.error());
                report.hostile = RunReport{
                    options.hostileKind == "reload"
                        ? "target during " + std::to_string(options.hostile) + " SIGHUPs (reloads)"
                        : "target with " + std::to_string(options.hostile) + " hostile connections",
                    hostPort(options.host, options.port), std::move(hostileResult), hostileWatch.usage()};
                report.hostileCounts = hostile.counts();
            }
        }
        if (options.ceiling) {
            CeilingServer server;
            auto settings = settingsFor(options);
            settings.host = "127.0.0.1";
            settings.port = server.port();
            CeilingWatch watch(server);
            auto result = runLoad(settings, mix, watch);
            report.ceiling =
                RunReport{"ceiling (in-process libmodbus)", hostPort(settings.host, settings.port),
                          std::move(result), watch.usage()};
        }
    } catch (const ConnectError& e) {
        std::cerr << "venus-bench: " << e.what() << "\n";
        return 1;
    } catch (const CeilingError& e) {
        std::cerr << "venus-bench: " << e.what() << "\n";
        return 1;
    } catch (const std::runtime_error& e) { // TLS files or handshakes
        std::cerr << "venus-bench: " << e.what() << "\n";
        return 1;
    }
    if (options.json) {
        printJson(report, std::cout);
    } else {
        if (tls) std::cout << "transport: Modbus/TCP Security (MBAP inside TLS)\n";
        if (handshakes)
            std::cout << "TLS handshakes: " << static_cast<long>(*handshakes)
                      << " per second (one client: connect, full handshake, close)\n";
        printText(report, std::cout);
    }
    return 0;
}

} // namespace
} // namespace vmd::bench

int main(int argc, char** argv) {
    return vmd::bench::run(argc, argv);
}
