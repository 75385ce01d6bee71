#include "BenchOptions.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace vmd::bench {

namespace {

template <typename T> T number(const std::string& option, const std::string& text, T min, T max) {
    T value{};
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || p != end || !(value >= min && value <= max))
        throw UsageError(option + " '" + text + "': expected a number from " + std::to_string(min) + " to " +
                         std::to_string(max));
    return value;
}

} // namespace

const char* usage() {
    return "usage: venus-bench [--host HOST] [--port PORT] [--connections N] [--duration SECONDS]\n"
           "                   [--mix NAME | --request FC:UNIT:ADDR:COUNT[:VALUE]...] [--pid PID]\n"
           "                   [--ceiling] [--json] [--max-requests N] [--timeout SECONDS] [--hostile N]\n"
           "                   [--hostile-kind drip|churn|flood|reload]\n"
           "                   [--tls-cert PEM --tls-key PEM --tls-ca PEM]\n"
           "                   [--mirror --pid PID [--bus-pid PID] [--churn-count FILE] [--alloc-count "
           "FILE]]\n"
           "                   [--help]\n"
           "  --host         server address (default 127.0.0.1)\n"
           "  --port         server port (default 502)\n"
           "  --connections  clients, one thread and one TCP connection each (default 16); 0 with --pid\n"
           "                 only watches the server for --duration (its CPU with no Modbus clients)\n"
           "  --duration     seconds of load (default 10, at most 3600)\n"
           "  --mix          scada (default), ha-scan, evcs or ess\n"
           "  --request      a custom mix, repeatable: function 3, 4, 6 or 16, unit, start address,\n"
           "                 register count, and for writes the value put in every register (default 0)\n"
           "  --pid          report this server process's CPU time during the run and its peak RSS\n"
           "  --ceiling      also run the mix against a trivial in-process libmodbus server on a free\n"
           "                 loopback port and print the ratio; without --port, only the ceiling runs\n"
           "  --json         machine-readable output\n"
           "  --max-requests stop after this many requests in all (default 100000000)\n"
           "  --timeout      response timeout in seconds (default 3)\n"
           "  --tls-cert     Modbus/TCP Security: MBAP inside TLS with this client certificate (PEM),\n"
           "                 and the handshakes one client makes per second, measured first\n"
           "  --tls-key      its private key (PEM); needed with --tls-cert\n"
           "  --tls-ca       the CA certificate that verifies the server's; needed with --tls-cert\n"
           "  --hostile      isolation: run the mix twice, first alone, then while N hostile connections\n"
           "                 to the same port hold the server's attention (half-open; an MBAP frame, or\n"
           "                 with TLS a ClientHello, sent a byte every 100 ms; with TLS, handshakes\n"
           "                 stalled after the ClientHello), and report both runs' latencies\n"
           "  --hostile-kind churn: the hostile connections are silent, from 127.0.7.1-4, and reconnect\n"
           "                 as soon as the server closes them; flood: they pipeline reads as fast as\n"
           "                 they are answered, from 127.0.7.9-12 (both: a server on the loopback);\n"
           "                 reload: no connections; N SIGHUPs sent to --pid, evenly spread over the\n"
           "                 run (--duration 1 --hostile 50: one every 20 ms; --duration 10: every 200 ms)\n"
           "                 drip (default): as described for --hostile\n"
           "  --mirror       no Modbus client: the cost of mirroring the bus over --duration: the CPU time\n"
           "                 and wake-ups of --pid and of --bus-pid (the dbus-daemon), per 1,000 value\n"
           "                 changes counted by venus-sim --churn --churn-count FILE, and with\n"
           "                 --alloc-count FILE the server's heap allocations per change (the server run\n"
           "                 with LD_PRELOAD=libvmd-alloccount.so VMD_ALLOC_COUNT_FILE=FILE)\n"
           "Exit codes: 0 done, 1 cannot connect (or a count file unreadable), 2 bad arguments.\n";
}

BenchOptions parseOptions(int argc, char** argv) {
    BenchOptions o;
    bool mixGiven = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::optional<std::string> inlineValue;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            inlineValue = arg.substr(eq + 1);
            arg.resize(eq);
        }
        auto value = [&]() -> std::string {
            if (inlineValue) return *inlineValue;
            if (i + 1 >= argc) throw UsageError(arg + " needs a value");
            return argv[++i];
        };
        auto flag = [&] {
            if (inlineValue) throw UsageError(arg + " takes no value");
        };
        if (arg == "--help" || arg == "-h") {
            flag();
            o.help = true;
        } else if (arg == "--host") {
            o.host = value();
            if (o.host.empty()) throw UsageError("--host needs a value");
        } else if (arg == "--port") {
            o.port = number<std::uint16_t>(arg, value(), 1, 65535);
            o.portGiven = true;
        } else if (arg == "--connections")
            o.connections = number<unsigned>(arg, value(), 0, kMaxConnections);
        else if (arg == "--duration") {
            o.durationSeconds = number<double>(arg, value(), 0.001, kMaxDurationSeconds);
        } else if (arg == "--mix") {
            o.mixName = value();
            mixGiven = true;
            if (!builtInMix(o.mixName)) {
                std::string names;
                for (const auto& n : mixNames())
                    names += (names.empty() ? "" : ", ") + n;
                throw UsageError("unknown mix '" + o.mixName + "' (one of " + names + ")");
            }
        } else if (arg == "--request") {
            const std::string text = value();
            std::string error;
            auto request = parseRequest(text, error);
            if (!request) throw UsageError("--request '" + text + "': " + error);
            o.custom.push_back(*request);
        } else if (arg == "--pid") {
            o.pid = static_cast<pid_t>(number<int>(arg, value(), 1, 1 << 30));
        } else if (arg == "--mirror") {
            flag();
            o.mirror = true;
        } else if (arg == "--bus-pid") {
            o.busPid = static_cast<pid_t>(number<int>(arg, value(), 1, 1 << 30));
        } else if (arg == "--churn-count") {
            o.churnCount = value();
        } else if (arg == "--alloc-count") {
            o.allocCount = value();
        } else if (arg == "--ceiling") {
            flag();
            o.ceiling = true;
        } else if (arg == "--json") {
            flag();
            o.json = true;
        } else if (arg == "--max-requests")
            o.maxRequests = number<std::uint64_t>(arg, value(), 1, 10'000'000'000ULL);
        else if (arg == "--tls-cert")
            o.tlsCert = value();
        else if (arg == "--tls-key")
            o.tlsKey = value();
        else if (arg == "--tls-ca")
            o.tlsCa = value();
        else if (arg == "--hostile")
            o.hostile = number<unsigned>(arg, value(), 1, kMaxConnections);
        else if (arg == "--hostile-kind") {
            o.hostileKind = value();
            if (o.hostileKind != "drip" && o.hostileKind != "churn" && o.hostileKind != "flood" &&
                o.hostileKind != "reload")
                throw UsageError("--hostile-kind must be drip, churn, flood or reload, not '" +
                                 o.hostileKind + "'");
        } else if (arg == "--timeout")
            o.timeoutSeconds = number<double>(arg, value(), 0.001, 60);
        else
            throw UsageError("unknown argument '" + arg + "'");
    }
    if (o.help) return o;
    if ((o.tlsCert.empty() || o.tlsKey.empty() || o.tlsCa.empty()) &&
        !(o.tlsCert.empty() && o.tlsKey.empty() && o.tlsCa.empty()))
        throw UsageError("--tls-cert, --tls-key and --tls-ca go together");
    if (!o.tlsCert.empty() && o.ceiling) throw UsageError("--ceiling is plain TCP: not with --tls-cert");
    if (o.hostile && o.ceiling)
        throw UsageError("--hostile measures the server at --port: not with --ceiling");
    if (o.hostile && o.connections == 0) throw UsageError("--hostile needs at least one measured connection");
    if (o.hostileKind == "reload" && (!o.hostile || !o.pid))
        throw UsageError(
            "--hostile-kind reload sends --hostile N SIGHUPs to the server: it needs --hostile and --pid");
    if (!o.mirror && (o.busPid || !o.churnCount.empty() || !o.allocCount.empty()))
        throw UsageError("--bus-pid, --churn-count and --alloc-count go with --mirror");
    if (o.mirror && !o.pid) throw UsageError("--mirror watches a server: it needs --pid");
    if (o.mirror && (o.ceiling || o.hostile || !o.tlsCert.empty() || mixGiven || !o.custom.empty()))
        throw UsageError(
            "--mirror runs no Modbus client: not with --ceiling, --hostile, --tls-*, --mix or --request");
    if (mixGiven && !o.custom.empty()) throw UsageError("--mix and --request exclude each other");
    if (o.connections == 0 && !o.pid)
        throw UsageError("--connections 0 only watches a server: it needs --pid");
    if (o.connections == 0 && o.ceiling) throw UsageError("--ceiling needs at least one connection");
    if (o.pid && o.ceiling && !o.portGiven)
        throw UsageError("--pid watches the server at --port: give --port too, or drop --pid");
    return o;
}

Mix selectedMix(const BenchOptions& options) {
    if (!options.custom.empty())
        return Mix{"custom", "closed loop over the --request list", options.custom, {}};
    return *builtInMix(options.mixName);
}

} // namespace vmd::bench
