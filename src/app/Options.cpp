#include "app/Options.h"

#include "core/DataDir.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace vmd::app {

std::string usage() {
    return R"(Usage: venus-modbusd [OPTIONS]
Serve the D-Bus data of a Victron Venus OS system as Modbus TCP registers.

  --config FILE                 options from a YAML file whose keys are the long options
                                (default: /etc/venus-modbusd/venus-modbusd.yaml if it exists);
                                the command line overrides it
  --bus system|session|ADDRESS  D-Bus to mirror (default: system)
  --listen HOST:PORT            address to serve on, repeatable; [::]:502 for IPv6
                                (default: 0.0.0.0:502)
  --map FILE                    register map (default: victron.yaml of the installed data,
                                <prefix>/share/venus-modbusd; register-maps/victron.yaml when run
                                from the build tree; here: )" +
           defaultMapPath() + R"()
  --overlay FILE                extra registers merged over the map, repeatable
  --read-only                   refuse every write (exception 2)
  --allow CIDR                  accept connections only from these networks, repeatable
  --write-allow CIDR            accept writes only from these networks, repeatable
  --max-clients N               connections served at once; when full, a newcomer takes the
                                place of one never served, oldest first (default: 32)
  --max-clients-per-address N   connections from one IP address; more are refused (default: 8)
  --not-available zero|max      what a missing value reads as (default: zero)
  --write-timeout MS            ms before an unanswered D-Bus write gets exception 11 (default: 500)
  --idle-timeout SECONDS        disconnect a client silent this long (default: 300)
  --frame-timeout MS            disconnect a client whose request stays incomplete this long
                                (default: 5000)
  --log-level LEVEL             trace, debug, info, warn, error, off (default: info)
  --state-dir DIR               where the output slots are kept across restarts; "" keeps them
                                only while running (default: /var/lib/venus-modbusd)
  --check                       validate the config, map and overlays, print a summary, exit 0 or 2
  --version                     print the version and exit
  --help                        print this help and exit

Modbus/TCP Security (Modbus over TLS, client certificates required; docs/security.md); in the
config file these are the keys of the tls: map (listen, cert, key, client-ca, crl, roles,
default-role), and the command line wins key by key. --check also loads the files.
  --tls-listen HOST:PORT        TLS address to serve on, repeatable (default: 0.0.0.0:802)
  --tls-cert FILE               the server certificate (PEM)
  --tls-key FILE                its private key (PEM)
  --tls-client-ca FILE          the CA certificates that sign client certificates (PEM)
  --tls-crl FILE                a certificate revocation list of that CA (PEM), optional
  --tls-role NAME=PERMISSION    what the certificate role NAME may do: read, write, or the
                                register ranges it may write (2700-2722,37-41); repeatable
  --tls-default-role NAME|none  the role of a certificate without a known role (default: none:
                                such a connection is closed)

Exit status: 0 clean stop, 1 runtime failure, 2 bad arguments or configuration.
)";
}

std::string defaultMapPath() {
    return core::dataDir().map;
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

/// "HOST:PORT", "[V6ADDRESS]:PORT" or ":PORT": checked here, so that a malformed address is a usage
/// error (exit 2, and caught by --check); a host name that does not resolve is found at bind time.
} // namespace

std::string parseListenAddress(const std::string& value, const std::string& option) {
    auto bad = [&](const std::string& why) {
        return UsageError("--" + option + ": '" + value + "' is not HOST:PORT (" + why + ")");
    };
    const auto colon = value.rfind(':');
    if (colon == std::string::npos) throw bad("no port");
    const std::string host = value.substr(0, colon);
    const std::string port = value.substr(colon + 1);
    unsigned number = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number > 65535)
        throw bad("the port must be a number in 0..65535");
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        in6_addr v6{};
        if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &v6) != 1)
            throw bad("not an IPv6 address inside [ ]");
    } else if (host.find_first_of(":[]") != std::string::npos) {
        throw bad("an IPv6 address goes inside [ ]");
    } else if (!std::all_of(host.begin(), host.end(), [](char ch) {
                   return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-';
               })) {
        throw bad("not an address or host name");
    }
    return value;
}

namespace {

core::Cidr cidr(const std::string& option, const char* text) {
    auto parsed = core::Cidr::parse(text);
    if (!parsed) throw UsageError("--" + option + ": '" + text + "' is not an address or CIDR network");
    return *parsed;
}

constexpr const char* kNoneRoleReserved = "a role cannot be named none (default-role: none means no role)";

/// "NAME=read", "NAME=write" or "NAME=FIRST-LAST,FIRST-LAST,...".
void applyRole(TlsOptions& tls, const std::string& value) {
    const auto equals = value.find('=');
    const std::string name = value.substr(0, equals);
    const std::string permission = equals == std::string::npos ? "" : value.substr(equals + 1);
    auto bad = [&](const std::string& why) { return UsageError("--tls-role: '" + value + "': " + why); };
    if (equals == std::string::npos || name.empty()) throw bad("not NAME=PERMISSION");
    if (name == "none") throw bad(kNoneRoleReserved);
    if (permission == "read") {
        tls.roles[name] = modbus::AccessPolicy::readOnly();
        return;
    }
    if (permission == "write") {
        tls.roles[name] = modbus::AccessPolicy{};
        return;
    }
    std::vector<modbus::WriteRange> ranges;
    std::size_t start = 0;
    for (;;) {
        const auto comma = permission.find(',', start);
        const auto piece =
            permission.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto range = modbus::parseWriteRange(piece);
        if (!range)
            throw bad("'" + piece + "' is not read, write, or a register range FIRST-LAST or a register");
        ranges.push_back(*range);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    tls.roles[name] = modbus::AccessPolicy::writeRanges(std::move(ranges));
}

void applyTlsOption(TlsOptions& tls, const std::string& name, const std::string& value) {
    tls.enabled = true;
    if (name == "tls-listen")
        tls.listen.push_back(parseListenAddress(value, name));
    else if (name == "tls-cert")
        tls.cert = value;
    else if (name == "tls-key")
        tls.key = value;
    else if (name == "tls-client-ca")
        tls.clientCa = value;
    else if (name == "tls-crl")
        tls.crl = value;
    else if (name == "tls-role")
        applyRole(tls, value);
    else if (name == "tls-default-role")
        tls.defaultRole = value;
    else
        throw UsageError("unknown option '--" + name + "' (see --help)");
}

} // namespace

void applyOption(Options& o, const std::string& name, const std::string& value) {
    const char* text = value.c_str();
    if (name == "bus")
        o.bus = value;
    else if (name == "listen")
        o.listen.push_back(parseListenAddress(value));
    else if (name == "map")
        o.map = value;
    else if (name == "overlay")
        o.overlays.push_back(value);
    else if (name == "state-dir")
        o.stateDir = value;
    else if (name == "config")
        o.config = value;
    else if (name == "allow")
        o.allow.push_back(cidr(name, text));
    else if (name == "write-allow")
        o.writeAllow.push_back(cidr(name, text));
    else if (name == "max-clients")
        o.maxClients = static_cast<std::size_t>(number(name, text, 1, 100000));
    else if (name == "max-clients-per-address")
        o.maxClientsPerAddress = static_cast<std::size_t>(number(name, text, 1, 100000));
    else if (name == "write-timeout")
        o.writeTimeout = std::chrono::milliseconds(number(name, text, 1, 600000));
    else if (name == "idle-timeout")
        o.idleTimeout = std::chrono::seconds(number(name, text, 1, 86400));
    else if (name == "frame-timeout")
        o.frameTimeout = std::chrono::milliseconds(number(name, text, 10, 600000));
    else if (name == "not-available") {
        if (value == "zero")
            o.notAvailable = codec::NotAvailable::Zero;
        else if (value == "max")
            o.notAvailable = codec::NotAvailable::Max;
        else
            throw UsageError("--not-available: '" + value + "' is not zero or max");
    } else if (name == "log-level") {
        static const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
        if (std::find(levels.begin(), levels.end(), value) == levels.end())
            throw UsageError("--log-level: '" + value + "' is not trace, debug, info, warn, error or off");
        o.logLevel = value;
    } else if (name == "read-only") {
        if (value == "true")
            o.readOnly = true;
        else if (value == "false")
            o.readOnly = false;
        else
            throw UsageError("--read-only: '" + value + "' is not true or false");
    } else if (name.rfind("tls-", 0) == 0)
        applyTlsOption(o.tls, name, value);
    else if (name == "check")
        o.check = true;
    else if (name == "version")
        o.version = true;
    else if (name == "help")
        o.help = true;
    else
        throw UsageError("unknown option '--" + name + "' (see --help)");
}

Options parseOptions(int argc, char** argv) {
    static const option longOptions[] = {
        {"bus", required_argument, nullptr, 0},
        {"listen", required_argument, nullptr, 0},
        {"map", required_argument, nullptr, 0},
        {"overlay", required_argument, nullptr, 0},
        {"config", required_argument, nullptr, 0},
        {"read-only", no_argument, nullptr, 0},
        {"allow", required_argument, nullptr, 0},
        {"write-allow", required_argument, nullptr, 0},
        {"max-clients", required_argument, nullptr, 0},
        {"max-clients-per-address", required_argument, nullptr, 0},
        {"not-available", required_argument, nullptr, 0},
        {"write-timeout", required_argument, nullptr, 0},
        {"idle-timeout", required_argument, nullptr, 0},
        {"frame-timeout", required_argument, nullptr, 0},
        {"log-level", required_argument, nullptr, 0},
        {"state-dir", required_argument, nullptr, 0},
        {"tls-listen", required_argument, nullptr, 0},
        {"tls-cert", required_argument, nullptr, 0},
        {"tls-key", required_argument, nullptr, 0},
        {"tls-client-ca", required_argument, nullptr, 0},
        {"tls-crl", required_argument, nullptr, 0},
        {"tls-role", required_argument, nullptr, 0},
        {"tls-default-role", required_argument, nullptr, 0},
        {"check", no_argument, nullptr, 0},
        {"version", no_argument, nullptr, 0},
        {"help", no_argument, nullptr, 0},
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
        const std::string name = longOptions[index].name;
        applyOption(o, name, optarg ? optarg : name == "read-only" ? "true" : "");
        o.given.insert(name);
    }
    if (optind < argc) throw UsageError(std::string("unexpected argument '") + argv[optind] + "'");
    return o;
}

void applyDefaults(Options& o) {
    if (o.listen.empty() && !o.listenSet) o.listen.emplace_back("0.0.0.0:502");
    if (auto& tls = o.tls; tls.enabled) {
        if (tls.listen.empty()) tls.listen.emplace_back("0.0.0.0:802");
        for (auto [key, value] :
             {std::pair{"cert", &tls.cert}, {"key", &tls.key}, {"client-ca", &tls.clientCa}})
            if (value->empty()) throw UsageError(std::string("tls: '") + key + "' is required");
        if (tls.defaultRole != "none" && !tls.roles.count(tls.defaultRole))
            throw UsageError("tls: default-role '" + tls.defaultRole +
                             "' is not none or a role under 'roles'");
    }
    if (o.listen.empty() && o.tls.listen.empty())
        throw UsageError("nothing to listen on: 'listen' is empty and there is no 'tls'");
    if (o.map.empty()) o.map = defaultMapPath();
}

} // namespace vmd::app
