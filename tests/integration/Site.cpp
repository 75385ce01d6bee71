#include "Site.h"

#include "dbus/BusItem.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vmd::test {

std::string env(const char* name) {
    const char* value = std::getenv(name);
    if (!value)
        throw std::runtime_error(std::string(name) + " is not set: run this test through with-site.sh");
    return value;
}

Client::Client() : ctx_(modbus_new_tcp(env("VMD_HOST").c_str(), std::stoi(env("VMD_PORT")))) {
    if (!ctx_ || modbus_connect(ctx_) != 0) throw std::runtime_error("cannot connect to the server");
    modbus_set_response_timeout(ctx_, 5, 0);
}

Client::~Client() {
    modbus_close(ctx_);
    modbus_free(ctx_);
}

ModbusResult Client::read(int unit, int address, int quantity, int function) {
    ModbusResult r;
    r.words.resize(static_cast<std::size_t>(quantity));
    modbus_set_slave(ctx_, unit);
    int n = function == 4 ? modbus_read_input_registers(ctx_, address, quantity, r.words.data())
                          : modbus_read_registers(ctx_, address, quantity, r.words.data());
    if (n < 0) {
        r.error = errno;
        r.words.clear();
    }
    return r;
}

ModbusResult Client::writeSingle(int unit, int address, std::uint16_t value) {
    ModbusResult r;
    modbus_set_slave(ctx_, unit);
    if (modbus_write_register(ctx_, address, value) < 0) r.error = errno;
    return r;
}

ModbusResult Client::writeMultiple(int unit, int address, const std::vector<std::uint16_t>& words) {
    ModbusResult r;
    modbus_set_slave(ctx_, unit);
    if (modbus_write_registers(ctx_, address, static_cast<int>(words.size()), words.data()) < 0)
        r.error = errno;
    return r;
}

std::vector<std::uint8_t> Client::raw(int unit, const std::vector<std::uint8_t>& pdu) {
    std::vector<std::uint8_t> request{static_cast<std::uint8_t>(unit)};
    request.insert(request.end(), pdu.begin(), pdu.end());
    if (modbus_send_raw_request(ctx_, request.data(), static_cast<int>(request.size())) < 0) return {};
    std::vector<std::uint8_t> reply(MODBUS_TCP_MAX_ADU_LENGTH);
    int n = modbus_receive_confirmation(ctx_, reply.data());
    if (n < 7) return {};
    return {reply.begin() + 7, reply.begin() + n}; // drop the MBAP header
}

Peer::Peer() : connection_(dbus::openBus(env("VMD_BUS"))) {}

codec::Value Peer::get(const std::string& service, const std::string& path) {
    auto proxy = sdbus::createProxy(*connection_, service, path);
    sdbus::Variant value;
    proxy->callMethod("GetValue").onInterface(dbus::kBusItemInterface).storeResultsTo(value);
    return dbus::fromVariant(value);
}

std::string Peer::signature(const std::string& service, const std::string& path) {
    auto proxy = sdbus::createProxy(*connection_, service, path);
    sdbus::Variant value;
    proxy->callMethod("GetValue").onInterface(dbus::kBusItemInterface).storeResultsTo(value);
    return value.peekValueType();
}

int Peer::set(const std::string& service, const std::string& path, const sdbus::Variant& value) {
    auto proxy = sdbus::createProxy(*connection_, service, path);
    std::int32_t result = -1;
    proxy->callMethod("SetValue")
        .onInterface(dbus::kBusItemInterface)
        .withArguments(value)
        .storeResultsTo(result);
    return result;
}

namespace {
/// Whether the server logged, after its first `skip` lines, that `name` came online (loaded: served or
/// not).
bool onlineSince(const std::string& serverLog, std::size_t skip, const std::string& name) {
    auto lines = linesOf(serverLog, "");
    for (auto i = skip; i < lines.size(); ++i) {
        const auto& line = lines[i];
        auto at = line.find("service online: " + name);
        if (at == std::string::npos) continue;
        auto end = at + std::string("service online: ").size() + name.size();
        if (end == line.size() || line[end] == ' ' || line[end] == ',') return true;
    }
    return false;
}
} // namespace

SimProcess::SimProcess(const std::string& scenario, bool waitServed) {
    const std::string serverLog = env("VMD_SERVER_LOG");
    const std::size_t mark = linesOf(serverLog, "").size(); // what the server logged before this process
    log_ = env("VMD_WORK") + "/sim-" + std::to_string(::getpid()) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".log";
    std::string binary = env("VMD_BUILD") + "/venus-sim";
    std::string bus = env("VMD_BUS");
    std::vector<std::string> args{binary, "--bus", bus, "--scenario", scenario};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0)
        throw std::runtime_error("cannot start " + binary);
    posix_spawn_file_actions_destroy(&actions);
    if (!eventually([&] { return !linesOf(log_, "services ready").empty(); }))
        throw std::runtime_error("venus-sim did not get ready: see " + log_);
    if (!waitServed) return;
    // "[time] [info] NAME: published N paths": the names this process owns.
    std::vector<std::string> names;
    for (const auto& line : linesOf(log_, ": published ")) {
        auto end = line.find(": published ");
        auto start = line.rfind(' ', end);
        names.push_back(line.substr(start + 1, end - start - 1));
    }
    if (!eventually([&] {
            return std::all_of(names.begin(), names.end(),
                               [&](const auto& name) { return onlineSince(serverLog, mark, name); });
        }))
        throw std::runtime_error("the server did not load the services of " + scenario + ": see " +
                                 serverLog);
}

SimProcess::~SimProcess() {
    stop();
}

void SimProcess::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

std::vector<std::string> SimProcess::setLines() {
    return linesOf(log_, "SET ");
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
}

std::vector<std::string> linesOf(const std::string& file, const std::string& containing) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (line.find(containing) != std::string::npos) lines.push_back(line);
    return lines;
}

} // namespace vmd::test
