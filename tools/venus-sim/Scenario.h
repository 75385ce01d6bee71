#pragma once

// Scenario model and YAML loader for venus-sim. Pure: no D-Bus here.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vmd::sim {

// A concrete value. Values stored for a path are normalised to its D-Bus type letter:
// 'b' -> bool, 'n' 'i' 'x' -> int64_t, 'y' 'q' 'u' 't' -> uint64_t, 'd' -> double, 's' -> string.
using Scalar = std::variant<bool, std::int64_t, std::uint64_t, double, std::string>;
// std::nullopt is an invalid value (published as an empty array).
using Value = std::optional<Scalar>;

enum class SetMode { Accept, Refuse, Hang };

struct Walk {
    double min = 0;
    double max = 0;
    double step = 0;
};

struct PathSpec {
    std::string path; // with leading slash
    char type = 'd';  // one D-Bus letter: y b n q i u x t d s
    Value value;      // initial value
    bool writable = false;
    SetMode set = SetMode::Accept;
    double setDelaySeconds = 0; ///< SetValue is handled (applied and answered) this much later
    int readFailsForMs = 0;     ///< GetValue on this path answers an error for this long after publishing
    std::optional<Walk> walk;
};

struct ServiceSpec {
    std::string name;
    bool getItems = true;
    bool rootGetValue = true; ///< false: GetValue on / is not offered either (a very old service)
    // Faults for tests of the mirror under churn (all off by default):
    int readDelayMs = 0;     ///< GetItems and every GetValue answer this much later
    int readsFailForMs = 0;  ///< GetItems and every GetValue answer an error for this long after publishing
    int releaseAfterMs = -1; ///< the bus name is released this long after publishing (the connection stays)
    bool queue = false;      ///< the name is queued for when its current owner releases it
    std::vector<PathSpec> paths;
    /// Items that GetItems and GetValue on / report but that have no object of their own: a service
    /// whose item names are not valid D-Bus object paths (a space, a '-'). Their keys are taken as written.
    std::vector<PathSpec> listedOnly;
};

/// An optional plant model that drives some paths from others (see EssModel.h).
struct EssModelSpec {
    double capacityWh = 10000;    ///< battery energy between 0 and 100 % SoC
    double responseSeconds = 2.0; ///< time constant of the Multi following its target
};

struct Scenario {
    int tickMs = 1000;
    std::optional<EssModelSpec> essModel;
    std::vector<ServiceSpec> services;
};

// Thrown for any scenario problem; what() is "FILE:LINE: message".
class ScenarioError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

Scenario parseScenario(const std::string& text, const std::string& sourceName);
Scenario loadScenarioFile(const std::string& path);

bool isValidTypeLetter(char type);
// Converts a value to the given D-Bus type; nullopt if impossible (not a number, out of range).
std::optional<Scalar> convertScalar(const Scalar& in, char type);
// Readable rendering: numbers in decimal, bools as true/false, empty string for invalid.
std::string toText(const Value& value);
// One walk step from the current value, upward or downward, kept inside [min, max].
Value walkStep(const Value& current, char type, const Walk& walk, bool up);

} // namespace vmd::sim
