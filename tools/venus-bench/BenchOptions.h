#pragma once

#include "Mix.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vmd::bench {

/// A bad command line (exit code 2).
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct BenchOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 502;
    bool portGiven = false;
    unsigned connections = 16;
    double durationSeconds = 10;
    std::string mixName = "scada";
    std::vector<Request> custom; ///< --request: when not empty, the mix is this list
    std::optional<pid_t> pid;
    bool ceiling = false;
    bool json = false;
    std::uint64_t maxRequests = 100'000'000;
    double timeoutSeconds = 3;
    std::string tlsCert; ///< --tls-cert: Modbus/TCP Security with this client certificate
    std::string tlsKey;
    std::string tlsCa;
    bool mirror = false;              ///< --mirror: the cost of mirroring (MirrorWatch.h)
    std::optional<pid_t> busPid;      ///< --bus-pid: the dbus-daemon, measured beside the server
    std::string churnCount;           ///< --churn-count: venus-sim's count file
    std::string allocCount;           ///< --alloc-count: the server's libvmd-alloccount.so file
    unsigned hostile = 0;             ///< --hostile: hostile connections kept at work during a second run
    std::string hostileKind = "drip"; ///< --hostile-kind: drip, churn or flood (HostileClients.h)
    bool help = false;
};

inline constexpr unsigned kMaxConnections = 1000;
inline constexpr double kMaxDurationSeconds = 3600;

[[nodiscard]] BenchOptions parseOptions(int argc, char** argv);
[[nodiscard]] const char* usage();
/// The mix the options select: the built-in one, or the --request list.
[[nodiscard]] Mix selectedMix(const BenchOptions& options);

} // namespace vmd::bench
