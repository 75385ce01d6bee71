#include "ModbusClient.h"

#include <modbus/modbus.h>

#include <cerrno>
#include <charconv>
#include <cmath>

namespace vmd::regmaptool {

bool parseEndpoint(const std::string& text, Endpoint& out, std::string& error) {
    std::string host = text;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string::npos) {
            error = "'" + text + "': a '[' without its ']'";
            return false;
        }
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') {
                error = "'" + text + "': expected ':PORT' after ']'";
                return false;
            }
            port = text.substr(close + 2);
        }
    } else if (auto colon = text.rfind(':'); colon != std::string::npos && text.find(':') == colon) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty()) {
        error = "'" + text + "': no host";
        return false;
    }
    out.host = host;
    out.port = Endpoint{}.port;
    if (!port.empty()) {
        int value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
            error = "'" + text + "': the port must be a number from 1 to 65535";
            return false;
        }
        out.port = value;
    }
    return true;
}

struct ModbusClient::Context {
    modbus_t* ctx = nullptr;
};

ModbusClient::ModbusClient(const Endpoint& endpoint, int unit, double timeoutSeconds)
    : context_(std::make_unique<Context>()) {
    context_->ctx = modbus_new_tcp_pi(endpoint.host.c_str(), std::to_string(endpoint.port).c_str());
    if (!context_->ctx) return;
    modbus_set_slave(context_->ctx, unit);
    auto seconds = static_cast<std::uint32_t>(timeoutSeconds);
    auto micros = static_cast<std::uint32_t>(std::lround((timeoutSeconds - seconds) * 1e6));
    modbus_set_response_timeout(context_->ctx, seconds, micros);
}

ModbusClient::~ModbusClient() {
    if (!context_->ctx) return;
    modbus_close(context_->ctx);
    modbus_free(context_->ctx);
}

std::string ModbusClient::connect() {
    if (!context_->ctx) return "cannot create a Modbus-TCP context";
    if (modbus_connect(context_->ctx) == -1) return modbus_strerror(errno);
    return {};
}

Reply ModbusClient::failure() const {
    Reply r;
    r.error = modbus_strerror(errno);
    if (errno >= EMBXILFUN && errno <= EMBXGTAR) r.exception = errno - MODBUS_ENOBASE;
    return r;
}

Reply ModbusClient::read(int address, int count) {
    Reply r;
    r.words.resize(static_cast<std::size_t>(count));
    if (modbus_read_registers(context_->ctx, address, count, r.words.data()) != count) return failure();
    r.ok = true;
    return r;
}

Reply ModbusClient::write(int address, const std::vector<std::uint16_t>& words) {
    int done = words.size() == 1 ? modbus_write_register(context_->ctx, address, words.front())
                                 : modbus_write_registers(context_->ctx, address,
                                                          static_cast<int>(words.size()), words.data());
    if (done != 1 && done != static_cast<int>(words.size())) return failure();
    Reply r;
    r.ok = true;
    r.words = words;
    return r;
}

} // namespace vmd::regmaptool
