#pragma once

// The request mixes venus-bench can send. The unit numbers of the device blocks follow the bench
// site (tools/venus-sim/scenarios/bench-50x100.yaml, made by gen-bench-scenario.py).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmd::bench {

enum class Function : std::uint8_t {
    ReadHolding = 3,
    ReadInput = 4,
    WriteSingle = 6,
    WriteMultiple = 16,
};

/// One Modbus request. Writes put `value` into every register written.
struct Request {
    Function function = Function::ReadHolding;
    std::uint8_t unit = 0;
    std::uint16_t address = 0;
    std::uint16_t count = 1;
    std::uint16_t value = 0;

    [[nodiscard]] bool isWrite() const {
        return function == Function::WriteSingle || function == Function::WriteMultiple;
    }
};

struct Mix {
    std::string name;
    std::string description;
    std::vector<Request> requests;
    /// Zero: closed loop (each connection sends the next request as soon as the last reply is in).
    /// Otherwise each connection sends the whole list once per period.
    std::chrono::milliseconds period{0};
};

/// The unit of the multi (MultiPlus-II RS) in the bench site.
inline constexpr std::uint8_t kBenchMultiUnit = 46;

[[nodiscard]] const std::vector<std::string>& mixNames();
/// A built-in mix by name, or nullopt.
[[nodiscard]] std::optional<Mix> builtInMix(std::string_view name);
/// Parses FC:UNIT:ADDR:COUNT[:VALUE]; on failure returns nullopt and sets `error`.
[[nodiscard]] std::optional<Request> parseRequest(std::string_view text, std::string& error);
[[nodiscard]] std::string formatRequest(const Request& request);

} // namespace vmd::bench
