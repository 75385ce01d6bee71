#include "app/App.h"

#include "app/Config.h"
#include "app/Diagnostics.h"
#include "app/Options.h"
#include "app/SlotStateFile.h"
#include "app/WriteSwitch.h"
#include "core/EventLoop.h"
#include "core/ServiceIndex.h"
#include "dbus/BusItem.h"
#include "dbus/BusMirror.h"
#include "dbus/ItemExporter.h"
#include "dbus/MirrorPaths.h"
#include "dbus/Writer.h"
#include "modbus/RequestHandler.h"
#include "modbus/Server.h"
#include "modbus/Tls.h"
#include "regmap/MapLoader.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <set>
#include <thread>
#include <utility>

namespace vmd::app {

namespace {

constexpr auto kInitialLoadTimeout = std::chrono::seconds(3);
constexpr const char* kSettingsService = "com.victronenergy.settings";
constexpr const char* kReadWriteSetting = "/Settings/ModbusServer/ReadWrite";

void setUpLogging(const std::string& level) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    for (const char* name : {"app", "modbus", "dbus", "map"}) {
        auto logger = spdlog::get(name);
        if (!logger) {
            logger = std::make_shared<spdlog::logger>(name, sink);
            logger->set_pattern("%^%-5l%$ [%n] %v");
            spdlog::register_logger(logger);
        }
        logger->set_level(spdlog::level::from_str(level));
    }
    spdlog::set_default_logger(spdlog::get("app"));
}

/// Options from the command line, then the config file, then the defaults.
Options loadOptions(int argc, char** argv) {
    auto options = parseOptions(argc, argv);
    if (!options.help && !options.version)
        if (auto file = configFileFor(options); !file.empty()) applyConfigFile(options, file);
    applyDefaults(options);
    return options;
}

std::shared_ptr<const regmap::RegisterMap> loadMap(const Options& options) {
    return std::make_shared<const regmap::RegisterMap>(regmap::loadMapFile(options.map, options.overlays));
}

/// "1 role", "2 roles".
std::string counted(std::size_t n, const std::string& noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// "0.0.0.0:502, [::]:502", or "none".
std::string addressList(const std::vector<std::string>& addresses) {
    std::string out;
    for (const auto& a : addresses)
        out += (out.empty() ? "" : ", ") + a;
    return out.empty() ? "none" : out;
}

void printSummary(const regmap::RegisterMap& map, const Options& options) {
    std::size_t words = 0, writable = 0, failsafes = 0;
    for (const auto& reg : map.registers()) {
        words += reg.words;
        writable += reg.writable() ? 1u : 0u;
        failsafes += reg.failsafe ? 1u : 0u;
    }
    if (auto config = configFileFor(options); !config.empty()) std::cout << config << ": OK (config)\n";
    std::cout << options.map << ": OK\n";
    for (const auto& overlay : options.overlays) {
        auto added = std::count_if(map.registers().begin(), map.registers().end(),
                                   [&](const auto& reg) { return reg.source == overlay; });
        std::cout << overlay << ": OK (overlay, " << counted(static_cast<std::size_t>(added), "register")
                  << " added)\n";
    }
    std::cout << counted(map.registers().size(), "register") << " (" << writable << " writable, " << failsafes
              << " with a fail-safe), " << words << " words, " << map.serviceTypes().size()
              << " service types, " << map.unitMappings().size() << " unit-ID mappings\n";
    std::cout << "listen: " << addressList(options.listen) << "\n";
}

std::uint32_t toEpoll(short pollEvents) {
    std::uint32_t events = 0;
    if (pollEvents & POLLIN) events |= EPOLLIN;
    if (pollEvents & POLLOUT) events |= EPOLLOUT;
    return events;
}

modbus::ServerOptions serverOptions(const Options& options) {
    modbus::ServerOptions s;
    s.listen = options.listen;
    s.maxClients = options.maxClients;
    s.maxClientsPerAddress = options.maxClientsPerAddress;
    s.allow = options.allow;
    s.writeAllow = options.writeAllow;
    s.idleTimeout = options.idleTimeout;
    s.frameTimeout = options.frameTimeout;
    s.writeTimeout = options.writeTimeout;
    s.tls.listen = options.tls.listen;
    s.tls.roles = options.tls.roles;
    if (auto it = options.tls.roles.find(options.tls.defaultRole);
        options.tls.defaultRole != "none" && it != options.tls.roles.end())
        s.tls.defaultRole = it->second;
    return s;
}

modbus::TlsFiles tlsFiles(const Options& options) {
    return {options.tls.cert, options.tls.key, options.tls.clientCa, options.tls.crl};
}

std::string cidrs(const std::vector<core::Cidr>& list) {
    std::string text;
    for (const auto& c : list)
        text += (text.empty() ? "" : " ") + c.text();
    return text.empty() ? "everyone" : text;
}

/// "map N registers: A added ..., R removed ...": what a reload changes in the register map.
std::string mapChanges(const regmap::RegisterMap& before, const regmap::RegisterMap& after) {
    std::set<std::uint16_t> old, now;
    for (const auto& r : before.registers())
        old.insert(r.address);
    for (const auto& r : after.registers())
        now.insert(r.address);
    std::vector<std::uint16_t> added, removed;
    std::set_difference(now.begin(), now.end(), old.begin(), old.end(), std::back_inserter(added));
    std::set_difference(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(removed));
    auto list = [](const std::vector<std::uint16_t>& v) {
        std::string text;
        for (std::size_t i = 0; i < v.size() && i < 20; ++i)
            text += (i ? ", " : "") + std::to_string(v[i]);
        return v.size() > 20 ? text + ", ..." : text;
    };
    return fmt::format("map {} registers: {} added{}{}, {} removed{}{}", after.registers().size(),
                       added.size(), added.empty() ? "" : " ", list(added), removed.size(),
                       removed.empty() ? "" : " ", list(removed));
}

/// What the reload thread makes of the files: everything validated, or the errors that keep the
/// running configuration. It touches nothing of the running daemon (no logging either: the loop
/// logs the outcome), so the loop can go on serving while the files are read.
struct PreparedReload {
    std::optional<Options> options;
    std::shared_ptr<const regmap::RegisterMap> map;
    std::shared_ptr<const modbus::TlsContext> tls; ///< when TLS is on and its files load
    std::string tlsError;                          ///< when TLS is on and they do not
    std::string mapChanges;
    core::RebuildPlan index;         ///< the new map's index, but for the services' values
    dbus::MirrorPaths paths;         ///< what the mirror keeps of each path, by service type
    std::vector<std::string> errors; ///< each a log line; non-empty: nothing is applied
};

PreparedReload prepareReload(int argc, char** argv, const regmap::RegisterMap& running, bool tlsEnabled,
                             const std::set<std::string>& watched) {
    PreparedReload prepared;
    try {
        auto options = loadOptions(argc, argv);
        prepared.map = loadMap(options);
        if (tlsEnabled) {
            try {
                prepared.tls = std::make_shared<modbus::TlsContext>(tlsFiles(options));
            } catch (const std::exception& e) {
                prepared.tlsError = e.what();
            }
        }
        prepared.mapChanges = mapChanges(running, *prepared.map);
        prepared.index = core::ServiceIndex::planRebuild(running, *prepared.map);
        prepared.paths = dbus::MirrorPaths(*prepared.map, watched);
        prepared.options = std::move(options);
    } catch (const UsageError& e) {
        prepared.errors.push_back(fmt::format("reload: {}; keeping the running configuration", e.what()));
    } catch (const regmap::MapError& e) {
        for (const auto& d : e.diagnostics())
            prepared.errors.push_back("reload: " + d.format());
        prepared.errors.push_back(fmt::format(
            "reload: {} problem(s) in the register map; keeping the running map", e.diagnostics().size()));
    } catch (const std::exception& e) {
        prepared.errors.push_back(fmt::format("reload: {}; keeping the running configuration", e.what()));
    }
    return prepared;
}

/// One reload on its own thread: it reads and validates, then wakes the loop through `done`.
struct ReloadJob {
    core::Fd done{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    PreparedReload result;
    std::thread thread;
};

/// Everything the running daemon is made of, and what it does on its signals.
class Daemon {
  public:
    Daemon(int argc, char** argv, Options options, std::shared_ptr<const regmap::RegisterMap> map,
           std::unique_ptr<sdbus::IConnection> bus)
        : argc_(argc), argv_(argv), options_(std::move(options)), map_(std::move(map)), bus_(std::move(bus)),
          slotFile_(options_.stateDir), slots_(slotFile_.load()),
          index_(std::make_unique<core::ServiceIndex>(*map_, slots_)), mirror_(*bus_, *index_),
          writer_(*bus_, dbus::Writer::callLimitFor(options_.writeTimeout)),
          handler_(*index_, {options_.notAvailable,
                             options_.readOnly,
                             {VMD_VERSION_MAJOR, VMD_VERSION_MINOR, VMD_VERSION_PATCH}}),
          server_(loop_, handler_, writer_, serverOptions(options_)) {
        server_.setMapOwner(map_);
        // A new output slot is saved before the next wait of the loop: one write for a batch of them.
        slots_->onChange = [this] {
            if (std::exchange(slotSaveQueued_, true)) return;
            loop_.at(core::EventLoop::Clock::now(), [this] {
                slotSaveQueued_ = false;
                slotFile_.save(*slots_);
            });
        };
        // A certificate, key, client CA or CRL that does not load stops the start (exit 1, named).
        if (options_.tls.enabled)
            server_.setTlsContext(std::make_shared<modbus::TlsContext>(tlsFiles(options_)));
    }

    ~Daemon() {
        // A reload still reading its files (a hung network mount, a FIFO) is not waited for: the
        // thread touches only its job, which it keeps alive, and the process is ending.
        if (reload_ && reload_->thread.joinable()) {
            log_->warn("stopping while a reload still reads its files: not waiting for it");
            reload_->thread.detach();
        }
        if (disposer_.joinable()) disposer_.join();
    }
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    int run() {
        watchSignals();
        attachBus();
        startDiagnostics();
        mirror_.watch(kReadWriteSetting);
        mirror_.onWatchedChange = [this] { updateWriteSwitch(); };
        mirror_.setScheduler([this](std::chrono::milliseconds delay, std::function<void()> callback) {
            loop_.at(core::EventLoop::Clock::now() + delay, std::move(callback));
        });
        updateWriteSwitch();
        mirror_.start();
        // Serve once the services present at start are loaded (or after a bounded wait).
        loop_.addIdle([this] {
            if (!listening_ && mirror_.initialLoadDone()) startListening();
        });
        loop_.at(core::EventLoop::Clock::now() + kInitialLoadTimeout, [this] { startListening(); });
        startWatchdog();
        try {
            loop_.run();
        } catch (const sdbus::Error& e) {
            log_->error("D-Bus failure: {}", e.getMessage());
            return 1;
        } catch (const std::exception& e) {
            log_->error("{}", e.what());
            return 1;
        }
        sd_notify(0, "STOPPING=1");
        slotFile_.save(*slots_);
        return 0;
    }

  private:
    void watchSignals() {
        sigset_t signals;
        sigemptyset(&signals);
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE})
            sigaddset(&signals, s);
        ::sigprocmask(SIG_BLOCK, &signals, nullptr);
        signalFd_ = core::Fd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
        loop_.add(signalFd_.get(), EPOLLIN, [this](std::uint32_t) {
            signalfd_siginfo info{};
            while (::read(signalFd_.get(), &info, sizeof info) == sizeof info) {
                if (info.ssi_signo == SIGHUP)
                    reload();
                else if (info.ssi_signo != SIGPIPE) {
                    log_->info("stopping on signal {}", info.ssi_signo);
                    sd_notify(0, "STOPPING=1");
                    loop_.stop();
                }
            }
        });
    }

    /// The D-Bus connection shares the loop: its fd, its timeouts, and processing after every wake-up.
    void attachBus() {
        busFd_ = bus_->getEventLoopPollData().fd;
        loop_.add(busFd_, EPOLLIN, [this](std::uint32_t) { busWoke_ = true; });
        busEvents_ = EPOLLIN;
        loop_.addPrepare([this] {
            auto poll = bus_->getEventLoopPollData();
            if (auto events = toEpoll(poll.events); events != busEvents_) { // no system call when unchanged
                loop_.modify(busFd_, events);
                busEvents_ = events;
            }
            int timeout = poll.getPollTimeout();
            busDeadline_ = timeout < 0 ? core::EventLoop::Clock::time_point::max()
                                       : core::EventLoop::Clock::now() + std::chrono::milliseconds(timeout);
            return timeout;
        });
        // D-Bus work only when its fd fired or sd-bus asked to be called (a timeout, queued messages).
        loop_.addIdle([this] {
            if (!busWoke_ && core::EventLoop::Clock::now() < busDeadline_) return;
            busWoke_ = false;
            for (int i = 0; i < 512 && bus_->processPendingRequest(); ++i) {
            }
        });
    }

    /// On a GX device running the stock server the name is taken: no diagnostics then; serving goes on.
    void startDiagnostics() {
        try {
            exporter_.emplace(*bus_);
            bus_->requestName(dbus::kOwnServiceName);
            diagnostics_.emplace(*exporter_, *map_);
        } catch (const sdbus::Error& e) {
            log_->warn("no diagnostics service: cannot own {}: {}", dbus::kOwnServiceName, e.getMessage());
            diagnostics_.reset();
            exporter_.reset();
        }
    }

    void startListening() {
        if (listening_) return;
        listening_ = true;
        if (!mirror_.initialLoadDone())
            log_->warn("serving before every service answered GetItems ({} still loading)",
                       mirror_.stillLoading());
        server_.listen();
        // In step with the server's once-a-second sweep, scheduled just now: one wake-up a second for both.
        loop_.at(core::EventLoop::Clock::now() + std::chrono::seconds(1), [this] { everySecond(); });
        updateWriteSwitch();
        if (diagnostics_) diagnostics_->update(*index_, server_);
        for (const auto& address : server_.boundAddresses())
            log_->info("listening on {} ({} services on the bus)", address, index_->services().size());
        if (options_.readOnly) // safe default of the packaged config: say once how to allow writes
            log_->warn("every write is refused (exception 2): {}",
                       options_.given.count("read-only")
                           ? std::string("--read-only is on the command line")
                           : readOnlySource() + "; set 'read-only: false' there and reload to allow writes");
        for (const auto& address : server_.boundTlsAddresses())
            log_->info("listening on {} (TLS, client certificates required; {} roles, default-role {})",
                       address, options_.tls.roles.size(), options_.tls.defaultRole);
        for (const auto& [chosen, other] : index_->conflicts())
            log_->warn("two services share a type and instance: {} answers, {} is not reachable", chosen,
                       other);
        sd_notify(0, "READY=1");
        notifyStatus();
    }

    /// Where read-only was set, as the user wrote it: the option, or the config file's key.
    [[nodiscard]] std::string readOnlySource() const {
        return options_.given.count("read-only") ? std::string("--read-only")
                                                 : "'read-only: true' in " + configFileFor(options_);
    }

    /// The GX device's global write switch, honoured live. Once the bus has shown a settings service,
    /// writes stay refused while the setting is unknown (settings absent or still loading, its read
    /// failed, not an integer); only a bus that never had one is "not a GX device". Before listening
    /// nothing is decided (nobody is served).
    void updateWriteSwitch() {
        if (mirror_.present(kSettingsService)) settingsSeen_ = true;
        if (!listening_) {
            handler_.setReadOnly(true, "not serving yet");
            return;
        }
        const auto* setting = mirror_.watched(kSettingsService, kReadWriteSetting);
        auto [writable, reason] =
            decideWriteSwitch({options_.readOnly, settingsSeen_, mirror_.present(kSettingsService),
                               mirror_.loaded(kSettingsService), setting ? &setting->value : nullptr,
                               setting ? setting->readError : std::string(), readOnlySource()});
        if (reason != writeSwitchReason_) log_->info("writes {}", reason);
        writeSwitchReason_ = reason;
        handler_.setReadOnly(!writable, "writes " + reason);
    }

    void everySecond() {
        if (listening_) {
            if (diagnostics_) diagnostics_->update(*index_, server_);
            notifyStatus();
        }
        loop_.at(core::EventLoop::Clock::now() + std::chrono::seconds(1), [this] { everySecond(); });
    }

    void notifyStatus() {
        auto status = fmt::format("STATUS={} clients, {} services, {} requests", server_.clientCount(),
                                  index_->services().size(), server_.stats().requests);
        sd_notify(0, status.c_str());
    }

    /// systemd's watchdog (WatchdogSec=): fed from this loop, so a hung loop gets the daemon restarted.
    void startWatchdog() {
        std::uint64_t usec = 0;
        if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
        watchdogInterval_ = std::chrono::microseconds(usec / 2);
        log_->info("systemd watchdog: feeding every {} ms",
                   std::chrono::duration_cast<std::chrono::milliseconds>(watchdogInterval_).count());
        feedWatchdog();
    }
    void feedWatchdog() {
        sd_notify(0, "WATCHDOG=1");
        loop_.at(core::EventLoop::Clock::now() + watchdogInterval_, [this] { feedWatchdog(); });
    }

    /// SIGHUP: the config, map, overlays and TLS files are read and validated on a thread of their
    /// own while the loop goes on serving; the loop swaps the result in when all of them validate.
    /// One reload at a time: SIGHUPs that arrive meanwhile make exactly one more reload after it.
    void reload() {
        if (reload_) {
            if (sighupsWhileReloading_++ == 0)
                log_->info("reload: SIGHUP while a reload runs: one more reload follows it");
            return;
        }
        sd_notify(0, "RELOADING=1");
        log_->info("reloading on SIGHUP");
        reload_ = std::make_shared<ReloadJob>();
        if (!reload_->done) { // no eventfd (out of file descriptors): read the files here, as before
            log_->warn("reload: no eventfd ({}): reading the files on the event loop", std::strerror(errno));
            reload_->result =
                prepareReload(argc_, argv_, *map_, options_.tls.enabled, mirror_.watchedPaths());
            return finishReload();
        }
        loop_.add(reload_->done.get(), EPOLLIN, [this](std::uint32_t) { finishReload(); });
        reload_->thread = std::thread([job = reload_, argc = argc_, argv = argv_, running = map_,
                                       tlsEnabled = options_.tls.enabled, watched = mirror_.watchedPaths()] {
            job->result = prepareReload(argc, argv, *running, tlsEnabled, watched);
            const std::uint64_t one = 1;
            (void)!::write(job->done.get(), &one, sizeof one);
        });
    }

    /// On the loop, once the reload thread is done: the result swapped in (or its errors logged).
    void finishReload() {
        auto job = std::move(reload_);
        if (job->thread.joinable()) {
            job->thread.join();
            loop_.remove(job->done.get());
        }
        auto& prepared = job->result;
        for (const auto& line : prepared.errors)
            log_->error("{}", line);
        if (prepared.options) {
            const auto started = core::EventLoop::Clock::now();
            apply(prepared);
            log_->debug(
                "reload: the new configuration took over in {} us on the event loop",
                std::chrono::duration_cast<std::chrono::microseconds>(core::EventLoop::Clock::now() - started)
                    .count());
        }
        sd_notify(0, "READY=1");
        notifyStatus();
        if (auto coalesced = std::exchange(sighupsWhileReloading_, 0); coalesced > 0) {
            log_->info("reload: reloading again for the {} SIGHUP(s) that arrived during the last reload",
                       coalesced);
            reload();
        }
    }

    void apply(PreparedReload& prepared) {
        auto options = std::move(*prepared.options);
        auto map = std::move(prepared.map);
        if (options.bus != options_.bus)
            log_->warn("reload: bus changed to '{}': needs a restart", options.bus);
        if (options.listen != options_.listen) log_->warn("reload: listen addresses changed: need a restart");
        if (options.readOnly != options_.readOnly)
            log_->info("reload: read-only {}", options.readOnly ? "on" : "off");
        if (cidrs(options.allow) != cidrs(options_.allow))
            log_->info("reload: connections allowed from {}", cidrs(options.allow));
        if (cidrs(options.writeAllow) != cidrs(options_.writeAllow))
            log_->info("reload: writes allowed from {}", cidrs(options.writeAllow));
        if (options.maxClients != options_.maxClients ||
            options.maxClientsPerAddress != options_.maxClientsPerAddress)
            log_->info("reload: {} clients at once, {} per address (for new connections)", options.maxClients,
                       options.maxClientsPerAddress);
        if (options.stateDir != options_.stateDir) log_->warn("reload: state-dir changed: needs a restart");
        options.bus = options_.bus;
        options.listen = options_.listen;
        options.stateDir = options_.stateDir;
        setUpLogging(options.logLevel);
        writer_.setTimeout(dbus::Writer::callLimitFor(options.writeTimeout));
        handler_.setNotAvailable(options.notAvailable);
        server_.setOptions(serverOptions(options));
        reloadTls(options, prepared);
        log_->info("reload: {}", prepared.mapChanges);

        // The new map takes over: an index that already holds every value both maps know, so that
        // no request sees a gap; the mirror reads the services again for what is new.
        auto index = index_->rebuiltFor(std::move(prepared.index));
        mirror_.rebind(*index, std::move(prepared.paths));
        handler_.rebind(*index);
        if (diagnostics_) diagnostics_->rebind(*map);
        server_.setMapOwner(map); // in-flight writes and armed fail-safes keep the old map alive
        auto oldIndex = std::exchange(index_, std::move(index));
        auto oldMap = std::exchange(map_, std::move(map));
        options_ = std::move(options);
        updateWriteSwitch();
        dispose(std::move(oldIndex), std::move(oldMap));
    }

    /// Freeing a map and its index takes milliseconds (thousands of registers): when nothing else
    /// holds the old map any more, they are freed on a thread of their own, not on the loop.
    void dispose(std::unique_ptr<core::ServiceIndex> index, std::shared_ptr<const regmap::RegisterMap> map) {
        if (map.use_count() != 1) return;           // a write in flight or an armed fail-safe frees it later
        if (disposer_.joinable()) disposer_.join(); // the previous reload's: long done
        disposer_ = std::thread([index = std::move(index), map = std::move(map)]() mutable {
            index.reset(); // it points into the map
            map.reset();
        });
    }

    /// The certificate, key, client CA and CRL read again (by the reload thread): new connections get
    /// them, open sessions are verified again against the new client CA and CRL (a revoked one is
    /// closed); a file that does not load keeps the running ones serving.
    void reloadTls(Options& options, const PreparedReload& prepared) {
        if (options.tls.listen != options_.tls.listen)
            log_->warn("reload: TLS listen addresses changed: need a restart");
        options.tls.listen = options_.tls.listen;
        if (!options_.tls.enabled) return;
        if (!prepared.tls) {
            log_->error("reload: TLS: {}; keeping the running certificate, key and CRL", prepared.tlsError);
            return;
        }
        log_->info("reload: TLS certificate '{}' serves new connections{}", prepared.tls->serverSubject(),
                   options.tls.crl.empty() ? ""
                                           : fmt::format(", CRL {} read ({})", options.tls.crl,
                                                         prepared.tls->crlIssuers() > 1
                                                             ? "every certificate of a client's chain checked"
                                                             : "client certificates checked"));
        server_.setTlsContext(prepared.tls);
    }

    int argc_;
    char** argv_;
    Options options_;
    std::shared_ptr<spdlog::logger> log_ = spdlog::get("app");
    std::shared_ptr<const regmap::RegisterMap> map_;
    std::unique_ptr<sdbus::IConnection> bus_;
    core::EventLoop loop_;
    SlotStateFile slotFile_;
    std::shared_ptr<core::SlotAssignment> slots_; ///< output slots, shared by every map a reload brings
    bool slotSaveQueued_ = false;
    std::unique_ptr<core::ServiceIndex> index_;
    dbus::BusMirror mirror_;
    dbus::Writer writer_;
    modbus::RequestHandler handler_;
    modbus::Server server_;
    std::optional<dbus::ItemExporter> exporter_;
    std::optional<Diagnostics> diagnostics_;
    core::Fd signalFd_;
    int busFd_ = -1;
    std::uint32_t busEvents_ = 0;
    bool busWoke_ = false;
    core::EventLoop::Clock::time_point busDeadline_{};
    bool listening_ = false;
    bool settingsSeen_ = false;     ///< the bus has shown a com.victronenergy.settings
    std::string writeSwitchReason_; ///< what decided the write switch last, as logged
    std::chrono::microseconds watchdogInterval_{0};
    std::shared_ptr<ReloadJob> reload_; ///< the reload being read, if any
    std::size_t sighupsWhileReloading_ = 0;
    std::thread disposer_; ///< frees the map a reload replaced
};

} // namespace

int run(int argc, char** argv) {
    Options options;
    try {
        options = loadOptions(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << "venus-modbusd: " << e.what() << "\n";
        return 2;
    }
    if (options.help) {
        std::cout << usage();
        return 0;
    }
    if (options.version) {
        std::cout << "venus-modbusd " << VMD_VERSION << "\n";
        return 0;
    }
    setUpLogging(options.logLevel);
    std::shared_ptr<const regmap::RegisterMap> map;
    try {
        map = loadMap(options);
    } catch (const regmap::MapError& e) {
        for (const auto& d : e.diagnostics())
            std::cerr << d.format() << "\n";
        std::cerr << "venus-modbusd: " << e.diagnostics().size() << " problem(s) in the register map\n";
        return 2;
    }
    if (options.check) {
        printSummary(*map, options);
        if (options.tls.enabled) { // the certificate, key, client CA and CRL load and match
            try {
                modbus::TlsContext context(tlsFiles(options));
                std::cout << "tls: OK (listen " << addressList(options.tls.listen) << ", server certificate '"
                          << context.serverSubject() << "', " << counted(options.tls.roles.size(), "role")
                          << ", default-role " << options.tls.defaultRole << ")\n";
            } catch (const std::exception& e) {
                std::cerr << "venus-modbusd: tls: " << e.what() << "\n";
                return 2;
            }
        }
        return 0;
    }
    spdlog::get("map")->info("{}: {} registers", options.map, map->registers().size());
    std::unique_ptr<sdbus::IConnection> bus;
    if (dbus::needsAnonymousAuth(options.bus))
        spdlog::get("app")->info("D-Bus '{}': TCP with ANONYMOUS authentication (no identity is checked: a "
                                 "trusted network only)",
                                 options.bus);
    try {
        bus = dbus::openBus(options.bus);
    } catch (const sdbus::Error& e) {
        spdlog::get("app")->error("cannot connect to the D-Bus '{}': {}", options.bus, e.getMessage());
        return 1;
    }
    try {
        Daemon daemon(argc, argv, std::move(options), std::move(map), std::move(bus));
        return daemon.run();
    } catch (const std::exception& e) {
        spdlog::get("app")->error("{}", e.what());
        return 1;
    }
}

} // namespace vmd::app
