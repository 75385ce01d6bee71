#include "app/Options.h"

#include <getopt.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

namespace vmd::app {

std::string usage() {
    return R"(Usage: venus-modbusd [OPTIONS]
Serve the D-Bus data of a Victron Venus OS system as Modbus TCP registers.

  --bus system|session|ADDRESS  D-Bus to mirror (default: system)
  --listen HOST:PORT            address to serve on, repeatable; [::]:502 for IPv6
                                (default: 0.0.0.0:502)
  --map FILE                    register map (default: )" +
           defaultMapPath() + R"()
  --overlay FILE                extra registers merged over the map, repeatable
  --read-only                   refuse every write (exception 2)
  --allow CIDR                  accept connections only from these networks, repeatable
  --write-allow CIDR            accept writes only from these networks, repeatable
  --max-clients N               connections served at once (default: 32)
  --not-available zero|max      what a missing value reads as (default: zero)
  --write-timeout MS            how long a D-Bus write may take (default: 1000)
  --idle-timeout SECONDS        disconnect a client silent this long (default: 300)
  --frame-timeout MS            disconnect a client whose request stays incomplete this long
                                (default: 5000)
  --log-level LEVEL             trace, debug, info, warn, error, off (default: info)
  --check                       validate the map and overlays, print a summary, exit 0 or 2
  --version                     print the version and exit
  --help                        print this help and exit

Exit status: 0 clean stop, 1 runtime failure, 2 bad arguments or configuration.
)";
}

std::string defaultMapPath() {
    namespace fs = std::filesystem;
    if (fs::exists(VMD_DEFAULT_MAP)) return VMD_DEFAULT_MAP;
    return VMD_SOURCE_MAP;
}

namespace {

long number(const std::string& option, const char* text, long min, long max) {
    std::string_view s(text);
    long value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || ptr != s.data() + s.size() || value < min || value > max)
        throw UsageError("--" + option + ": '" + s.data() + "' is not a number in " + std::to_string(min) +
                         ".." + std::to_string(max));
    return value;
}

core::Cidr cidr(const std::string& option, const char* text) {
    auto parsed = core::Cidr::parse(text);
    if (!parsed) throw UsageError("--" + option + ": '" + text + "' is not an address or CIDR network");
    return *parsed;
}

} // namespace

Options parseOptions(int argc, char** argv) {
    enum {
        Bus = 1000,
        Listen,
        Map,
        Overlay,
        ReadOnly,
        Allow,
        WriteAllow,
        MaxClients,
        NotAvail,
        WriteTimeout,
        LogLevel,
        Check,
        Version,
        Help,
        IdleTimeout,
        FrameTimeout
    };
    static const option longOptions[] = {
        {"bus", required_argument, nullptr, Bus},
        {"listen", required_argument, nullptr, Listen},
        {"map", required_argument, nullptr, Map},
        {"overlay", required_argument, nullptr, Overlay},
        {"read-only", no_argument, nullptr, ReadOnly},
        {"allow", required_argument, nullptr, Allow},
        {"write-allow", required_argument, nullptr, WriteAllow},
        {"max-clients", required_argument, nullptr, MaxClients},
        {"not-available", required_argument, nullptr, NotAvail},
        {"write-timeout", required_argument, nullptr, WriteTimeout},
        {"log-level", required_argument, nullptr, LogLevel},
        {"idle-timeout", required_argument, nullptr, IdleTimeout},
        {"frame-timeout", required_argument, nullptr, FrameTimeout},
        {"check", no_argument, nullptr, Check},
        {"version", no_argument, nullptr, Version},
        {"help", no_argument, nullptr, Help},
        {nullptr, 0, nullptr, 0},
    };
    Options o;
    optind = 1;
    opterr = 0;
    for (;;) {
        int index = 0;
        int c = ::getopt_long(argc, argv, ":", longOptions, &index);
        if (c == -1) break;
        if (c == '?') throw UsageError(std::string("unknown option '") + argv[optind - 1] + "' (see --help)");
        if (c == ':') throw UsageError(std::string("option '") + argv[optind - 1] + "' needs a value");
        std::string name = longOptions[index].name;
        switch (c) {
        case Bus:
            o.bus = optarg;
            break;
        case Listen:
            o.listen.emplace_back(optarg);
            break;
        case Map:
            o.map = optarg;
            break;
        case Overlay:
            o.overlays.emplace_back(optarg);
            break;
        case ReadOnly:
            o.readOnly = true;
            break;
        case Allow:
            o.allow.push_back(cidr(name, optarg));
            break;
        case WriteAllow:
            o.writeAllow.push_back(cidr(name, optarg));
            break;
        case MaxClients:
            o.maxClients = static_cast<std::size_t>(number(name, optarg, 1, 100000));
            break;
        case NotAvail:
            if (std::string(optarg) == "zero")
                o.notAvailable = codec::NotAvailable::Zero;
            else if (std::string(optarg) == "max")
                o.notAvailable = codec::NotAvailable::Max;
            else
                throw UsageError(std::string("--not-available: '") + optarg + "' is not zero or max");
            break;
        case WriteTimeout:
            o.writeTimeout = std::chrono::milliseconds(number(name, optarg, 1, 600000));
            break;
        case LogLevel: {
            static const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
            if (std::find(levels.begin(), levels.end(), std::string(optarg)) == levels.end())
                throw UsageError(std::string("--log-level: '") + optarg +
                                 "' is not trace, debug, info, warn, error or off");
            o.logLevel = optarg;
            break;
        }
        case IdleTimeout: o.idleTimeout = std::chrono::seconds(number(name, optarg, 1, 86400)); break;
        case FrameTimeout: o.frameTimeout = std::chrono::milliseconds(number(name, optarg, 10, 600000)); break;
        case Check:
            o.check = true;
            break;
        case Version:
            o.version = true;
            break;
        case Help:
            o.help = true;
            break;
        default: throw UsageError("option '" + name + "' is not handled"); // a table entry without a case
        }
    }
    if (optind < argc) throw UsageError(std::string("unexpected argument '") + argv[optind] + "'");
    if (o.listen.empty()) o.listen.emplace_back("0.0.0.0:502");
    if (o.map.empty()) o.map = defaultMapPath();
    return o;
}

} // namespace vmd::app
