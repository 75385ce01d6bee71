#include "Mix.h"

#include <array>
#include <charconv>

namespace vmd::bench {

namespace {

// Spec limits: Modbus Application Protocol v1.1b3, 6.3 (read), 6.12 (write multiple).
constexpr std::uint16_t kMaxReadCount = 125;
constexpr std::uint16_t kMaxWriteCount = 123;

struct Block {
    std::uint16_t address;
    std::uint16_t count;
};

struct DeviceGroup {
    const char* type;
    std::uint8_t firstUnit;
    std::uint8_t units;
    Block block; ///< the read a SCADA poller makes of one such device
};

// The device services of the bench site, at units 1..46 (DeviceInstance = unit).
constexpr std::array<DeviceGroup, 7> kBenchDevices{{
    {"solarcharger", 1, 12, {771, 23}},
    {"battery", 13, 8, {256, 76}},
    {"grid", 21, 5, {2600, 58}},
    {"tank", 26, 8, {3000, 18}},
    {"temperature", 34, 6, {3300, 28}},
    {"pvinverter", 40, 6, {1026, 52}},
    {"multi", kBenchMultiUnit, 1, {4500, 125}},
}};

// Every contiguous run of registers in the published list, split into reads of at most 125: what
// a client that discovers devices by probing reads at each unit.
constexpr std::array<Block, 44> kRegisterGroups{{
    {3, 125},   {128, 20},  {200, 48},  {256, 76},   {771, 23},  {800, 120},  {1026, 52},  {1282, 62},
    {2048, 6},  {2307, 31}, {2600, 58}, {2700, 25},  {2800, 10}, {2900, 4},   {3000, 18},  {3100, 88},
    {3200, 58}, {3300, 28}, {3400, 18}, {3420, 18},  {3500, 13}, {3600, 18},  {3700, 48},  {3800, 48},
    {3900, 48}, {4000, 12}, {4100, 38}, {4200, 28},  {4300, 28}, {4400, 28},  {4500, 125}, {4625, 9},
    {4700, 5},  {4800, 28}, {4900, 58}, {5000, 125}, {5125, 3},  {5200, 125}, {5325, 33},  {5400, 8},
    {5420, 11}, {5500, 18}, {5700, 8},  {5800, 20},
}};

constexpr std::uint8_t kSystemUnit = 100;
constexpr std::uint8_t kVebusUnit = 246;

Request read(std::uint8_t unit, std::uint16_t address, std::uint16_t count) {
    return Request{Function::ReadHolding, unit, address, count, 0};
}

Request writeOne(std::uint8_t unit, std::uint16_t address, std::uint16_t value) {
    return Request{Function::WriteSingle, unit, address, 1, value};
}

Mix scada() {
    Mix mix{"scada",
            "closed loop: block reads of 9-125 registers at units 100, 246 and the devices 1-46",
            {},
            {}};
    const std::array<Request, 3> site{read(kSystemUnit, 800, 67), read(kSystemUnit, 2700, 9),
                                      read(kVebusUnit, 3, 39)};
    std::size_t next = 0;
    for (const auto& group : kBenchDevices)
        for (std::uint8_t i = 0; i < group.units; ++i) {
            mix.requests.push_back(
                read(static_cast<std::uint8_t>(group.firstUnit + i), group.block.address, group.block.count));
            mix.requests.push_back(site[next++ % site.size()]);
        }
    return mix;
}

Mix haScan() {
    Mix mix{"ha-scan",
            "closed loop: every register group at every unit 0-247 (mostly exception replies)",
            {},
            {}};
    for (unsigned unit = 0; unit <= 247; ++unit)
        for (const auto& group : kRegisterGroups)
            mix.requests.push_back(read(static_cast<std::uint8_t>(unit), group.address, group.count));
    return mix;
}

Mix evcs() {
    return Mix{"evcs",
               "paced, once a second per connection: 40 registers at unit 246, 17 at the multi unit",
               {read(kVebusUnit, 3, 40), read(kBenchMultiUnit, 4500, 17)},
               std::chrono::milliseconds(1000)};
}

Mix ess() {
    // An external ESS controller: read the system and the inverter, then refresh the three
    // setpoints (registers 37, 40, 41: /Hub4/L1..L3/AcPowerSetpoint, W, int16) once a second.
    return Mix{"ess",
               "paced, once a second per connection: reads at units 100 and 246, then writes of "
               "vebus 37/40/41 at unit 246",
               {read(kSystemUnit, 800, 67), read(kVebusUnit, 3, 39), writeOne(kVebusUnit, 37, 100),
                writeOne(kVebusUnit, 40, 0), writeOne(kVebusUnit, 41, 0)},
               std::chrono::milliseconds(1000)};
}

template <typename T> bool parseNumber(std::string_view text, T& out) {
    if (text.empty()) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

} // namespace

const std::vector<std::string>& mixNames() {
    static const std::vector<std::string> names{"scada", "ha-scan", "evcs", "ess"};
    return names;
}

std::optional<Mix> builtInMix(std::string_view name) {
    if (name == "scada") return scada();
    if (name == "ha-scan") return haScan();
    if (name == "evcs") return evcs();
    if (name == "ess") return ess();
    return std::nullopt;
}

std::optional<Request> parseRequest(std::string_view text, std::string& error) {
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
        auto colon = text.find(':', start);
        fields.push_back(text.substr(start, colon == std::string_view::npos ? colon : colon - start));
        if (colon == std::string_view::npos) break;
        start = colon + 1;
    }
    if (fields.size() != 4 && fields.size() != 5) {
        error = "expected FC:UNIT:ADDR:COUNT[:VALUE]";
        return std::nullopt;
    }
    unsigned fc = 0, unit = 0, address = 0, count = 0;
    long value = 0;
    if (!parseNumber(fields[0], fc) || (fc != 3 && fc != 4 && fc != 6 && fc != 16)) {
        error = "function code must be 3, 4, 6 or 16";
        return std::nullopt;
    }
    if (!parseNumber(fields[1], unit) || unit > 255) {
        error = "unit must be 0-255";
        return std::nullopt;
    }
    if (!parseNumber(fields[2], address) || address > 65535) {
        error = "address must be 0-65535";
        return std::nullopt;
    }
    const unsigned maxCount = fc == 6 ? 1 : fc == 16 ? kMaxWriteCount : kMaxReadCount;
    if (!parseNumber(fields[3], count) || count < 1 || count > maxCount) {
        error = "count must be 1-" + std::to_string(maxCount) + " for function " + std::to_string(fc);
        return std::nullopt;
    }
    if (address + count > 65536u) {
        error = "address + count must not pass 65536";
        return std::nullopt;
    }
    if (fields.size() == 5 && (!parseNumber(fields[4], value) || value < -32768 || value > 65535)) {
        error = "value must be -32768..65535";
        return std::nullopt;
    }
    Request request;
    request.function = static_cast<Function>(fc);
    request.unit = static_cast<std::uint8_t>(unit);
    request.address = static_cast<std::uint16_t>(address);
    request.count = static_cast<std::uint16_t>(count);
    request.value = static_cast<std::uint16_t>(value < 0 ? value + 65536 : value);
    return request;
}

std::string formatRequest(const Request& r) {
    std::string text = std::to_string(static_cast<unsigned>(r.function)) + ":" + std::to_string(r.unit) +
                       ":" + std::to_string(r.address) + ":" + std::to_string(r.count);
    if (r.isWrite()) text += ":" + std::to_string(r.value);
    return text;
}

} // namespace vmd::bench
