#include "app/App.h"

#include "app/Diagnostics.h"
#include "app/Options.h"
#include "core/EventLoop.h"
#include "core/ServiceIndex.h"
#include "dbus/BusItem.h"
#include "dbus/BusMirror.h"
#include "dbus/Writer.h"
#include "modbus/RequestHandler.h"
#include "modbus/Server.h"
#include "regmap/MapLoader.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <iostream>
#include <set>

namespace vmd::app {

namespace {

constexpr auto kInitialLoadTimeout = std::chrono::seconds(3);

void setUpLogging(const std::string& level) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    for (const char* name : {"app", "modbus", "dbus", "map"}) {
        auto logger = std::make_shared<spdlog::logger>(name, sink);
        logger->set_pattern("%^%-5l%$ [%n] %v");
        logger->set_level(spdlog::level::from_str(level));
        spdlog::register_logger(logger);
    }
    spdlog::set_default_logger(spdlog::get("app"));
}

void printSummary(const regmap::RegisterMap& map, const Options& options) {
    std::size_t words = 0, writable = 0;
    for (const auto& reg : map.registers()) {
        words += reg.words;
        writable += reg.writable() ? 1u : 0u;
    }
    std::cout << options.map << ": OK\n";
    for (const auto& overlay : options.overlays)
        std::cout << overlay << ": OK (overlay)\n";
    std::cout << map.registers().size() << " registers (" << writable << " writable), " << words << " words, "
              << map.serviceTypes().size() << " service types, " << map.unitMappings().size()
              << " unit-ID mappings\n";
}

std::uint32_t toEpoll(short pollEvents) {
    std::uint32_t events = 0;
    if (pollEvents & POLLIN) events |= EPOLLIN;
    if (pollEvents & POLLOUT) events |= EPOLLOUT;
    return events;
}

int serve(const Options& options, const regmap::RegisterMap& map) {
    auto log = spdlog::get("app");
    std::unique_ptr<sdbus::IConnection> bus;
    try {
        bus = dbus::openBus(options.bus);
    } catch (const sdbus::Error& e) {
        log->error("cannot connect to the D-Bus '{}': {}", options.bus, e.getMessage());
        return 1;
    }

    core::EventLoop loop;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGPIPE);
    ::sigprocmask(SIG_BLOCK, &signals, nullptr);
    core::Fd signalFd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
    loop.add(signalFd.get(), EPOLLIN, [&](std::uint32_t) {
        signalfd_siginfo info{};
        while (::read(signalFd.get(), &info, sizeof info) == sizeof info)
            if (info.ssi_signo != SIGPIPE) {
                log->info("stopping on signal {}", info.ssi_signo);
                loop.stop();
            }
    });

    // The D-Bus connection shares the loop: its fd, its timeouts, and processing after every wake-up.
    const int busFd = bus->getEventLoopPollData().fd;
    loop.add(busFd, EPOLLIN, [](std::uint32_t) {});
    loop.addPrepare([&] {
        auto poll = bus->getEventLoopPollData();
        loop.modify(busFd, toEpoll(poll.events));
        return poll.getPollTimeout();
    });
    loop.addIdle([&] {
        for (int i = 0; i < 512 && bus->processPendingRequest(); ++i) {
        }
    });

    core::ServiceIndex index(map);
    dbus::BusMirror mirror(*bus, index);
    dbus::Writer writer(*bus, options.writeTimeout);
    modbus::RequestHandler handler(index, {options.notAvailable, options.readOnly});
    modbus::ServerOptions serverOptions;
    serverOptions.listen = options.listen;
    serverOptions.maxClients = options.maxClients;
    serverOptions.allow = options.allow;
    serverOptions.writeAllow = options.writeAllow;
    serverOptions.idleTimeout = options.idleTimeout;
    serverOptions.frameTimeout = options.frameTimeout;
    modbus::Server server(loop, handler, writer, serverOptions);

    // The GX device's global write switch: honoured live; read-only while it is not known yet.
    const std::string kSettings = "com.victronenergy.settings";
    const std::string kReadWrite = "/Settings/ModbusServer/ReadWrite";
    mirror.watch(kReadWrite);
    bool listening = false;
    std::optional<bool> gxWritable;
    auto updateWriteSwitch = [&] {
        bool writable = true; // no such setting on this bus: not a GX device
        const auto* value = mirror.watched(kSettings, kReadWrite);
        if (value && codec::isValid(*value)) writable = codec::toText(*value) != "0";
        else if (!listening || (index.find(kSettings) && !mirror.loaded(kSettings))) writable = false;
        if (gxWritable != writable)
            log->info("writes {} by {} {}", writable ? "enabled" : "disabled", kSettings, kReadWrite);
        gxWritable = writable;
        handler.setReadOnly(options.readOnly || !writable);
    };
    mirror.onWatchedChange = updateWriteSwitch;
    updateWriteSwitch();
    mirror.start();
    // The diagnostics service, refreshed once a second. On a GX device running the stock server the
    // name is taken: then there are no diagnostics, and serving goes on.
    std::optional<dbus::ItemExporter> exporter;
    std::optional<Diagnostics> diagnostics;
    try {
        exporter.emplace(*bus);
        bus->requestName(dbus::kOwnServiceName);
        diagnostics.emplace(*exporter, map);
    } catch (const sdbus::Error& e) {
        log->warn("no diagnostics service: cannot own {}: {}", dbus::kOwnServiceName, e.getMessage());
        exporter.reset();
    }
    // Serve once the services present at start are loaded (or after a bounded wait).
    auto deadline = core::EventLoop::Clock::now() + kInitialLoadTimeout;
    auto startListening = [&] {
        if (listening) return;
        listening = true;
        if (!mirror.initialLoadDone())
            log->warn("serving before every service answered GetItems ({} still loading)",
                      mirror.serviceCount());
        server.listen();
        updateWriteSwitch();
        if (diagnostics) diagnostics->update(index, server);
        for (const auto& address : server.boundAddresses())
            log->info("listening on {} ({} services on the bus)", address, index.services().size());
        for (const auto& [chosen, other] : index.conflicts())
            log->warn("two services share a type and instance: {} answers, {} is not reachable", chosen,
                      other);
    };
    loop.addIdle([&] {
        if (!listening && mirror.initialLoadDone()) startListening();
    });
    loop.at(deadline, startListening);

    std::function<void()> refresh = [&] {
        if (diagnostics && listening) diagnostics->update(index, server);
        loop.at(core::EventLoop::Clock::now() + std::chrono::seconds(1), refresh);
    };
    refresh();
    if (mirror.initialLoadDone()) startListening();
    try {
        loop.run();
    } catch (const sdbus::Error& e) {
        log->error("D-Bus failure: {}", e.getMessage());
        return 1;
    } catch (const std::exception& e) {
        log->error("{}", e.what());
        return 1;
    }
    return 0;
}

} // namespace

int run(int argc, char** argv) {
    Options options;
    try {
        options = parseOptions(argc, argv);
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
    std::unique_ptr<regmap::RegisterMap> map;
    try {
        map = std::make_unique<regmap::RegisterMap>(regmap::loadMapFile(options.map, options.overlays));
    } catch (const regmap::MapError& e) {
        for (const auto& d : e.diagnostics())
            std::cerr << d.format() << "\n";
        std::cerr << "venus-modbusd: " << e.diagnostics().size() << " problem(s) in the register map\n";
        return 2;
    }
    if (options.check) {
        printSummary(*map, options);
        return 0;
    }
    spdlog::get("map")->info("{}: {} registers", options.map, map->registers().size());
    return serve(options, *map);
}

} // namespace vmd::app
