#pragma once
// Helpers for tests that run inside with-site.sh: a Modbus client (libmodbus), a D-Bus peer
// (sdbus-c++) on the private test bus, and extra simulator processes.
#include "codec/Value.h"

#include <modbus.h>
#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vmd::test {

std::string env(const char* name);

/// The outcome of one Modbus request: words, or the errno libmodbus reported.
struct ModbusResult {
    std::vector<std::uint16_t> words;
    int error = 0; ///< 0, or EMBXILFUN, EMBXILADD, EMBXILVAL, EMBXGPATH, EMBXGTAR...
    [[nodiscard]] int exceptionCode() const { return error > MODBUS_ENOBASE ? error - MODBUS_ENOBASE : 0; }
};

class Client {
  public:
    Client();
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    ModbusResult read(int unit, int address, int quantity, int function = 3);
    ModbusResult writeSingle(int unit, int address, std::uint16_t value);
    ModbusResult writeMultiple(int unit, int address, const std::vector<std::uint16_t>& words);
    /// Sends a raw PDU (function code first) and returns the raw reply PDU; empty on failure.
    std::vector<std::uint8_t> raw(int unit, const std::vector<std::uint8_t>& pdu);

  private:
    modbus_t* ctx_;
};

/// A peer on the test bus that reads and writes BusItem values as any other service would.
class Peer {
  public:
    Peer();
    codec::Value get(const std::string& service, const std::string& path);
    std::string signature(const std::string& service, const std::string& path);
    int set(const std::string& service, const std::string& path, const sdbus::Variant& value);

  private:
    std::unique_ptr<sdbus::IConnection> connection_;
};

/// A venus-sim process with its own scenario; stopped (by PID) when destroyed or on stop().
class SimProcess {
  public:
    /// Starts the simulator and waits until it published its services and, with `waitServed`, until
    /// the server has loaded each of them ("service online: NAME" in VMD_SERVER_LOG), so that a test
    /// does not race the server's GetItems. Tests of services that never load pass false.
    explicit SimProcess(const std::string& scenario, bool waitServed = true);
    ~SimProcess();
    void stop();
    /// The SET lines the simulator printed so far.
    std::vector<std::string> setLines();
    [[nodiscard]] const std::string& logFile() const { return log_; }

  private:
    pid_t pid_ = -1;
    std::string log_;
};

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

std::vector<std::string> linesOf(const std::string& file, const std::string& containing);

} // namespace vmd::test
