#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vmd::regmaptool {

/// Where a Modbus-TCP server listens: HOST, HOST:PORT or [IPv6]:PORT (port 502 by default).
struct Endpoint {
    std::string host;
    int port = 502;
};

/// Parses HOST[:PORT]; false (and `error` set) when the port is not a number from 1 to 65535.
[[nodiscard]] bool parseEndpoint(const std::string& text, Endpoint& out, std::string& error);

/// What a request came back with: words on success; otherwise the Modbus exception code (0 when the
/// failure was not an exception: no connection, a timeout) and the reason in words.
struct Reply {
    bool ok = false;
    std::vector<std::uint16_t> words;
    int exception = 0;
    std::string error;
};

/// A libmodbus TCP client for one unit ID: one connection, requests one at a time.
class ModbusClient {
  public:
    ModbusClient(const Endpoint& endpoint, int unit, double timeoutSeconds = 5.0);
    ~ModbusClient();
    ModbusClient(const ModbusClient&) = delete;
    ModbusClient& operator=(const ModbusClient&) = delete;

    /// Connects; an empty string on success, else why not.
    [[nodiscard]] std::string connect();
    /// FC 3: `count` holding registers from `address`.
    [[nodiscard]] Reply read(int address, int count);
    /// FC 6 for one word, FC 16 for more.
    [[nodiscard]] Reply write(int address, const std::vector<std::uint16_t>& words);

  private:
    Reply failure() const;

    struct Context;
    std::unique_ptr<Context> context_;
};

} // namespace vmd::regmaptool
