#pragma once

#include "codec/Codec.h"
#include "core/Cidr.h"
#include "modbus/AccessPolicy.h"

#include <chrono>
#include <map>
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

/// Modbus/TCP Security: the `tls:` map of the config file, or the --tls-* options (which win, key
/// by key; a --tls-role wins over the config's role of the same name).
struct TlsOptions {
    bool enabled = false;            ///< the config has a `tls:` map, or a --tls-* option is given
    std::vector<std::string> listen; ///< default 0.0.0.0:802
    std::string cert;
    std::string key;
    std::string clientCa;
    std::string crl; ///< optional
    std::map<std::string, modbus::AccessPolicy> roles;
    std::string defaultRole = "none"; ///< none, or a name in `roles`
};

/// The command-line contract of DESIGN section 5.
struct Options {
    std::string bus = "system";
    std::vector<std::string> listen;
    bool listenSet = false; ///< `listen:` in the config, even empty (`[]`: no plain listener)
    TlsOptions tls;
    std::string map;
    std::vector<std::string> overlays;
    bool readOnly = false;
    std::vector<core::Cidr> allow;
    std::vector<core::Cidr> writeAllow;
    std::size_t maxClients = 32;
    std::size_t maxClientsPerAddress = 8;
    codec::NotAvailable notAvailable = codec::NotAvailable::Zero;
    std::chrono::milliseconds writeTimeout{500};
    std::chrono::seconds idleTimeout{300};
    std::chrono::milliseconds frameTimeout{5000};
    std::string logLevel = "info";
    /// Where the output slots are kept across restarts (SlotStateFile); "": nowhere.
    std::string stateDir = "/var/lib/venus-modbusd";
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
/// "HOST:PORT", "[V6ADDRESS]:PORT" or ":PORT", returned as it is; throws UsageError naming `option`.
[[nodiscard]] std::string parseListenAddress(const std::string& value, const std::string& option = "listen");
/// Fills in what neither the command line nor the config file set (listen addresses, map); throws
/// UsageError when the TLS settings are incomplete or nothing would be listened on.
void applyDefaults(Options& options);
[[nodiscard]] std::string usage();
/// The map used when --map is not given: the installed one, else the one in the source tree.
[[nodiscard]] std::string defaultMapPath();

} // namespace vmd::app
