// venus-sim: simulates the D-Bus services of a Venus OS GX device from a YAML scenario.

#include "Churn.h"
#include "EssModel.h"
#include "Scenario.h"
#include "SimService.h"

#include "core/DataDir.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vmd::sim {
namespace {

constexpr const char* kUsage =
    "usage: venus-sim [--bus session|system|ADDRESS] [--private] [--scenario FILE]\n"
    "                 [--only SERVICE_NAME]... [--churn N [--churn-count FILE] | --still] [--log-level "
    "LEVEL] [--help]\n"
    "  --bus        bus to publish on (default session); ADDRESS like unix:path=/tmp/bus\n"
    "  --private    start a private dbus-daemon and print DBUS_ADDRESS=<address> and DBUS_PID=<pid>\n"
    "  --scenario   scenario YAML: a file, or the name of an installed one (ess-site.yaml,\n"
    "               switches.yaml ...: in <prefix>/share/venus-modbusd/scenarios; in\n"
    "               tools/venus-sim/scenarios when run from the build tree) (default ess-site.yaml)\n"
    "  --only       publish only this service of the scenario (repeatable)\n"
    "  --churn      N value changes a second over every numeric path of every service, instead of\n"
    "               the scenario's walks, once per tick-ms: half the services batch a tick's changes\n"
    "               into one ItemsChanged, half emit one PropertiesChanged per path\n"
    "  --churn-count  keep the churn's counts in FILE, one line: changes C items-changed I\n"
    "               properties-changed P (also printed on stop)\n"
    "  --still      no value ever changes: no walks, no plant model (a bus with no traffic)\n"
    "  --log-level  trace|debug|info|warn|error|critical|off (default info)\n";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct RuntimeError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    std::string bus = "session";
    bool privateBus = false;
    std::string scenario = core::dataDir().scenarios + "/ess-site.yaml";
    std::vector<std::string> only;
    double churn = 0;       ///< --churn: value changes a second, 0 = off
    std::string churnCount; ///< --churn-count FILE
    bool still = false;     ///< --still: nothing changes by itself
    spdlog::level::level_enum logLevel = spdlog::level::info;
    bool help = false;
};

Options parseArgs(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::optional<std::string> inlineValue;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            inlineValue = arg.substr(eq + 1);
            arg.resize(eq);
        }
        auto value = [&]() -> std::string {
            if (inlineValue) return *inlineValue;
            if (i + 1 >= argc) throw UsageError(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h")
            o.help = true;
        else if (arg == "--private")
            o.privateBus = true;
        else if (arg == "--bus")
            o.bus = value();
        else if (arg == "--scenario") {
            auto name = value();
            o.scenario = core::scenarioFile(name, core::dataDir().scenarios);
            if (!std::filesystem::exists(o.scenario))
                throw UsageError("no scenario file '" + name + "' here nor in " + core::dataDir().scenarios);
        } else if (arg == "--only")
            o.only.push_back(value());
        else if (arg == "--churn") {
            const std::string text = value();
            std::size_t used = 0;
            try {
                o.churn = std::stod(text, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != text.size() || !(o.churn > 0) || o.churn > 1e6)
                throw UsageError("--churn " + text + ": not a number of changes a second (0 < N <= 1000000)");
        } else if (arg == "--churn-count")
            o.churnCount = value();
        else if (arg == "--still")
            o.still = true;
        else if (arg == "--log-level") {
            const std::string name = value();
            o.logLevel = spdlog::level::from_str(name);
            if (o.logLevel == spdlog::level::off && name != "off")
                throw UsageError("unknown log level '" + name + "'");
        } else
            throw UsageError("unknown argument '" + arg + "'");
    }
    if (o.bus.empty()) throw UsageError("--bus needs a value");
    if (!o.churnCount.empty() && o.churn <= 0) throw UsageError("--churn-count needs --churn");
    if (o.still && o.churn > 0) throw UsageError("--still and --churn exclude each other");
    return o;
}

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }

  private:
    int fd_;
};

// A dbus-daemon child process, killed when this object goes away. The child also gets
// SIGTERM from the kernel if venus-sim dies without cleaning up.
class PrivateBus {
  public:
    PrivateBus() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw RuntimeError("pipe2 failed");
        Fd readEnd(fds[0]);
        Fd writeEnd(fds[1]);
        const std::string printArg = "--print-address=" + std::to_string(fds[1]);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw RuntimeError("fork failed");
        if (pid_ == 0) {
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            std::signal(SIGPIPE, SIG_DFL);
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent) ::_exit(127);
            ::fcntl(fds[1], F_SETFD, 0);
            ::execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", printArg.c_str(), nullptr);
            ::_exit(127);
        }
        writeEnd.reset();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        char buf[512];
        while (address_.find('\n') == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{readEnd.get(), POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            const ssize_t n = ::read(readEnd.get(), buf, sizeof buf);
            if (n <= 0) break;
            address_.append(buf, static_cast<std::size_t>(n));
        }
        if (auto nl = address_.find('\n'); nl != std::string::npos)
            address_.resize(nl);
        else
            throw RuntimeError("dbus-daemon did not print its address (is dbus-daemon installed?)");
        spdlog::info("private dbus-daemon (pid {}) at {}", pid_, address_);
    }
    PrivateBus(const PrivateBus&) = delete;
    PrivateBus& operator=(const PrivateBus&) = delete;
    ~PrivateBus() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    const std::string& address() const { return address_; }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    std::string address_;
};

std::unique_ptr<sdbus::IConnection> connect(const std::string& bus) {
    if (bus == "session") return sdbus::createSessionBusConnection();
    if (bus == "system") return sdbus::createSystemBusConnection();
    return sdbus::createSessionBusConnectionWithAddress(bus);
}

void printLine(const std::string& line) {
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

int serve(const Scenario& scenario, const Options& options, int signalFd) {
    std::optional<PrivateBus> privateBus; // declared first: the daemon outlives the services
    std::string bus = options.bus;
    if (options.privateBus) {
        privateBus.emplace();
        bus = privateBus->address();
        printLine("DBUS_ADDRESS=" + bus);
        printLine("DBUS_PID=" + std::to_string(privateBus->pid()));
    }

    std::vector<std::unique_ptr<SimService>> services;
    bool walking = false;
    for (const auto& spec : scenario.services) {
        walking = walking || std::any_of(spec.paths.begin(), spec.paths.end(),
                                         [](auto& p) { return p.walk.has_value(); });
        services.push_back(std::make_unique<SimService>(spec, connect(bus)));
        services.back()->publish();
    }
    std::optional<EssModel> model;
    if (options.still) walking = false;
    if (scenario.essModel && !options.still) {
        std::vector<SimService*> raw;
        for (auto& s : services)
            raw.push_back(s.get());
        model.emplace(*scenario.essModel, raw);
        walking = true;
    }
    std::optional<Churn> churn;
    if (options.churn > 0) {
        std::vector<SimService*> raw;
        for (auto& s : services)
            raw.push_back(s.get());
        churn.emplace(raw, options.churn, options.churnCount);
        walking = true;
        spdlog::info("churn: {} changes a second over {} paths, every {} ms", options.churn, churn->paths(),
                     scenario.tickMs);
    }
    printLine("venus-sim: " + std::to_string(services.size()) + " services ready");

    using Clock = std::chrono::steady_clock;
    const auto tick = std::chrono::milliseconds(scenario.tickMs);
    auto nextTick = Clock::now() + tick;
    std::vector<pollfd> fds(services.size() + 1);
    for (;;) {
        for (auto& s : services)
            while (s->connection().processPendingRequest()) {
            }
        for (auto& s : services)
            s->runDue(Clock::now());
        const auto now = Clock::now();
        if (walking && now >= nextTick) {
            if (churn)
                churn->tick(tick);
            else
                for (auto& s : services)
                    s->tick();
            if (model) model->tick(static_cast<double>(scenario.tickMs) / 1000.0);
            nextTick += tick;
            if (nextTick <= now) nextTick = now + tick; // fell behind: skip, do not burst
        }
        auto timeout = walking ? std::chrono::ceil<std::chrono::milliseconds>(nextTick - now)
                               : std::chrono::milliseconds(-1);
        for (auto& s : services) // SetValue calls of paths with a set-delay
            if (auto due = s->runDelayedSets(Clock::now())) {
                const auto ms = std::max(std::chrono::ceil<std::chrono::milliseconds>(*due - Clock::now()),
                                         std::chrono::milliseconds(0));
                timeout = timeout.count() < 0 ? ms : std::min(timeout, ms);
            }
        for (std::size_t i = 0; i < services.size(); ++i) {
            if (auto due = services[i]->nextDue()) {
                const auto ms = std::max(std::chrono::ceil<std::chrono::milliseconds>(*due - now),
                                         std::chrono::milliseconds(0));
                timeout = timeout.count() < 0 ? ms : std::min(timeout, ms);
            }
            const auto poll = services[i]->connection().getEventLoopPollData();
            fds[i] = pollfd{poll.fd, poll.events, 0};
            if (auto rel = poll.getRelativeTimeout()) {
                const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*rel);
                timeout = timeout.count() < 0 ? ms : std::min(timeout, ms);
            }
        }
        fds.back() = pollfd{signalFd, POLLIN, 0};
        const int timeoutMs =
            static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(timeout.count(), -1, 60000));
        if (::poll(fds.data(), fds.size(), timeoutMs) < 0 && errno != EINTR)
            throw RuntimeError("poll failed");
        if (fds.back().revents & POLLIN) {
            signalfd_siginfo info{};
            if (::read(signalFd, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
                spdlog::info("signal {} received, stopping", info.ssi_signo);
            if (churn) printLine("CHURN " + Churn::countLine(churn->counts()));
            return 0;
        }
    }
}

int run(int argc, char** argv) {
    spdlog::set_default_logger(spdlog::stderr_logger_st("venus-sim"));
    spdlog::set_pattern("[%H:%M:%S.%e] [%l] %v");

    Options options;
    Scenario scenario;
    try {
        options = parseArgs(argc, argv);
        if (options.help) {
            std::fputs(kUsage, stdout);
            return 0;
        }
        spdlog::set_level(options.logLevel);
        scenario = loadScenarioFile(options.scenario);
        for (const auto& name : options.only)
            if (std::none_of(scenario.services.begin(), scenario.services.end(),
                             [&](auto& s) { return s.name == name; }))
                throw ScenarioError(options.scenario + ":1: --only " + name +
                                    ": no such service in the scenario");
        if (!options.only.empty())
            std::erase_if(scenario.services, [&](const ServiceSpec& s) {
                return std::find(options.only.begin(), options.only.end(), s.name) == options.only.end();
            });
    } catch (const UsageError& e) {
        std::fprintf(stderr, "venus-sim: %s\n%s", e.what(), kUsage);
        return 2;
    } catch (const ScenarioError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    if (options.privateBus && options.bus != "session")
        spdlog::warn("--private given: ignoring --bus {}", options.bus);

    // SIGTERM/SIGINT arrive through a signalfd polled by the main loop.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    ::sigprocmask(SIG_BLOCK, &stopSignals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    Fd signalFd(::signalfd(-1, &stopSignals, SFD_CLOEXEC | SFD_NONBLOCK));
    try {
        if (signalFd.get() < 0) throw RuntimeError("signalfd failed");
        return serve(scenario, options, signalFd.get());
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
}

} // namespace
} // namespace vmd::sim

int main(int argc, char** argv) {
    return vmd::sim::run(argc, argv);
}
