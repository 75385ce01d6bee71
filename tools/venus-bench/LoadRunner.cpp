#include "LoadRunner.h"

#include <modbus/modbus.h>

#include <atomic>
#include <cerrno>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

namespace vmd::bench {

namespace {

using Clock = std::chrono::steady_clock;

/// Reconnections one client may make after transport errors before it gives up.
constexpr std::uint64_t kMaxReconnects = 100;

struct ContextDeleter {
    void operator()(modbus_t* ctx) const {
        modbus_close(ctx);
        modbus_free(ctx);
    }
};
using Context = std::unique_ptr<modbus_t, ContextDeleter>;

struct Shared {
    const LoadSettings& settings;
    const Mix& mix;
    std::latch connected;
    std::latch go;
    std::atomic<bool> abort{false};
    std::atomic<std::uint64_t> budget; ///< requests left to send
    Clock::time_point start{};
    std::mutex mutex; ///< guards firstError
    std::string firstError;
};

Context openConnection(const LoadSettings& settings, std::string& error) {
    const std::string service = std::to_string(settings.port);
    Context ctx(modbus_new_tcp_pi(settings.host.c_str(), service.c_str()));
    if (!ctx) {
        error = "cannot create a Modbus context for " + settings.host + ":" + service;
        return nullptr;
    }
    const auto timeout =
        std::chrono::duration_cast<std::chrono::microseconds>(settings.responseTimeout).count();
    modbus_set_response_timeout(ctx.get(), static_cast<std::uint32_t>(timeout / 1000000),
                                static_cast<std::uint32_t>(timeout % 1000000));
    if (modbus_connect(ctx.get()) != 0) {
        error = "cannot connect to " + settings.host + ":" + service + ": " + modbus_strerror(errno);
        return nullptr;
    }
    return ctx;
}

/// Sends one request; returns 0 for a data reply, the exception code for an exception reply, -1
/// for a transport error.
int send(modbus_t* ctx, const Request& request, std::vector<std::uint16_t>& buffer) {
    modbus_set_slave(ctx, request.unit);
    int rc = -1;
    switch (request.function) {
    case Function::ReadHolding:
        rc = modbus_read_registers(ctx, request.address, request.count, buffer.data());
        break;
    case Function::ReadInput:
        rc = modbus_read_input_registers(ctx, request.address, request.count, buffer.data());
        break;
    case Function::WriteSingle:
        rc = modbus_write_register(ctx, request.address, request.value);
        break;
    case Function::WriteMultiple:
        std::fill(buffer.begin(), buffer.begin() + request.count, request.value);
        rc = modbus_write_registers(ctx, request.address, request.count, buffer.data());
        break;
    }
    if (rc >= 0) return 0;
    const int code = errno - MODBUS_ENOBASE;
    if (code >= MODBUS_EXCEPTION_ILLEGAL_FUNCTION && code < MODBUS_EXCEPTION_MAX) return code;
    return -1;
}

void client(Shared& shared, unsigned index, LoadResult& result) {
    const auto& settings = shared.settings;
    const auto& requests = shared.mix.requests;
    std::string error;
    Context ctx;
    std::unique_ptr<TlsLink> tls;
    bool connected = false;
    if (settings.tls) {
        tls =
            std::make_unique<TlsLink>(*settings.tls, settings.host, settings.port, settings.responseTimeout);
        connected = tls->connect(error);
    } else {
        ctx = openConnection(settings, error);
        connected = ctx != nullptr;
    }
    if (!connected) {
        std::lock_guard lock(shared.mutex);
        if (shared.firstError.empty()) shared.firstError = error;
        shared.abort = true;
    }
    shared.connected.count_down();
    shared.go.wait();
    if (shared.abort) return;

    const auto deadline = shared.start + std::chrono::duration_cast<Clock::duration>(settings.duration);
    const bool paced = shared.mix.period.count() > 0;
    // Spread the clients over the list (closed loop) or over the period (paced).
    std::size_t next = requests.size() * index / settings.connections;
    auto cycleStart = shared.start;
    if (paced) {
        next = 0;
        cycleStart += shared.mix.period * index / settings.connections;
    }
    std::vector<std::uint16_t> buffer(MODBUS_MAX_READ_REGISTERS);
    for (;;) {
        if (paced && next == 0) {
            if (cycleStart >= deadline) { // idle to the end: the run lasts its duration
                std::this_thread::sleep_until(deadline);
                break;
            }
            std::this_thread::sleep_until(cycleStart);
            cycleStart += shared.mix.period;
        }
        const auto sent = Clock::now();
        if (sent >= deadline || shared.abort) break;
        // Take one request from the budget; stop when it is spent.
        auto left = shared.budget.load(std::memory_order_relaxed);
        do {
            if (left == 0) return;
        } while (!shared.budget.compare_exchange_weak(left, left - 1, std::memory_order_relaxed));

        const Request& request = requests[next];
        next = (next + 1) % requests.size();
        const int outcome = tls ? tls->send(request) : send(ctx.get(), request, buffer);
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - sent).count();
        if (outcome < 0) {
            ++result.transportErrors;
            // Resynchronise: a late reply would otherwise be taken for the next request's.
            if (result.reconnects >= kMaxReconnects) return;
            ++result.reconnects;
            if (tls) {
                if (!tls->connect(error)) return;
                continue;
            }
            modbus_close(ctx.get());
            if (modbus_connect(ctx.get()) != 0) return;
            continue;
        }
        const auto ns = static_cast<std::uint64_t>(elapsed);
        result.all->record(ns);
        (request.isWrite() ? *result.writes : *result.reads).record(ns);
        if (outcome == 0)
            ++result.ok;
        else
            ++result.exceptions[static_cast<std::size_t>(outcome)];
    }
}

} // namespace

std::uint64_t LoadResult::exceptionTotal() const {
    std::uint64_t total = 0;
    for (auto n : exceptions)
        total += n;
    return total;
}

void LoadResult::merge(const LoadResult& other) {
    ok += other.ok;
    for (std::size_t i = 0; i < exceptions.size(); ++i)
        exceptions[i] += other.exceptions[i];
    transportErrors += other.transportErrors;
    reconnects += other.reconnects;
    all->merge(*other.all);
    reads->merge(*other.reads);
    writes->merge(*other.writes);
}

LoadResult runLoad(const LoadSettings& settings, const Mix& mix, LoadHooks& hooks) {
    const auto n = static_cast<std::ptrdiff_t>(settings.connections);
    Shared shared{settings, mix, std::latch(n), std::latch(1), {}, {settings.maxRequests}, {}, {}, {}};
    std::vector<LoadResult> results(settings.connections);
    std::vector<std::thread> threads;
    threads.reserve(settings.connections);
    for (unsigned i = 0; i < settings.connections; ++i)
        threads.emplace_back(client, std::ref(shared), i, std::ref(results[i]));
    shared.connected.wait();
    if (!shared.abort) hooks.started();
    shared.start = Clock::now();
    shared.go.count_down();
    for (auto& t : threads)
        t.join();
    const auto end = Clock::now();
    if (shared.abort) throw ConnectError(shared.firstError);
    hooks.finished();

    LoadResult total;
    for (const auto& r : results)
        total.merge(r);
    total.seconds = std::chrono::duration<double>(end - shared.start).count();
    return total;
}

} // namespace vmd::bench
