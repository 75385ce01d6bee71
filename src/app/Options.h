#pragma once

#include "codec/Codec.h"
#include "core/Cidr.h"

#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace vmd::app {

/// A bad command line: printed as one line, exit code 2.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// The command-line contract of DESIGN section 5.
struct Options {
    std::string bus = "system";
    std::vector<std::string> listen;
    std::string map;
    std::vector<std::string> overlays;
    bool readOnly = false;
    std::vector<core::Cidr> allow;
    std::vector<core::Cidr> writeAllow;
    std::size_t maxClients = 32;
    std::size_t maxClientsPerAddress = 8;
    codec::NotAvailable notAvailable = codec::NotAvailable::Zero;
    std::chrono::milliseconds writeTimeout{1000};
    std::chrono::seconds idleTimeout{300};
    std::chrono::milliseconds frameTimeout{5000};
    std::string logLevel = "info";
    std::string config; ///< --config FILE
    bool check = false;
    bool version = false;
    bool help = false;
    std::set<std::string> given; ///< the long options given on the command line (they beat the config file)
};

/// Parses argv (without applying defaults); throws UsageError naming the bad option.
[[nodiscard]] Options parseOptions(int argc, char** argv);
/// Sets one option from its long name and text value, validated; the config file uses it too.
void applyOption(Options& options, const std::string& name, const std::string& value);
/// Fills in what neither the command line nor the config file set (listen address, map).
void applyDefaults(Options& options);
[[nodiscard]] std::string usage();
/// The map used when --map is not given: the installed one, else the one in the source tree.
[[nodiscard]] std::string defaultMapPath();

} // namespace vmd::app
