#include "app/Options.h"
#include "core/Cidr.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

using namespace vmd;

namespace {
app::Options parse(std::vector<std::string> args) {
    args.insert(args.begin(), "venus-modbusd");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    auto options = app::parseOptions(static_cast<int>(argv.size()), argv.data());
    app::applyDefaults(options);
    return options;
}

sockaddr_in v4(const char* text) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, text, &a.sin_addr);
    return a;
}
sockaddr_in6 v6(const char* text) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, text, &a.sin6_addr);
    return a;
}
} // namespace

TEST_CASE("options have the documented defaults", "[options]") {
    auto o = parse({});
    CHECK(o.bus == "system");
    CHECK(o.listen == std::vector<std::string>{"0.0.0.0:502"});
    CHECK(o.maxClients == 32);
    CHECK(o.maxClientsPerAddress == 8);
    CHECK(o.writeTimeout.count() == 500);
    CHECK(o.notAvailable == codec::NotAvailable::Zero);
    CHECK(!o.readOnly);
    CHECK(o.allow.empty()); // README: --allow and --write-allow default to everyone
    CHECK(o.writeAllow.empty());
    CHECK(o.logLevel == "info");
    CHECK(o.overlays.empty());
    CHECK(o.stateDir == "/var/lib/venus-modbusd"); // the unit's StateDirectory=
}

TEST_CASE("the state directory is an option; empty keeps the output slots only while running", "[options]") {
    CHECK(parse({"--state-dir", "/data/venus-modbusd"}).stateDir == "/data/venus-modbusd");
    CHECK(parse({"--state-dir", ""}).stateDir.empty());
    CHECK(parse({"--state-dir=/tmp/s"}).stateDir == "/tmp/s");
}

TEST_CASE("every option of the command-line contract is understood", "[options]") {
    auto o = parse(
        {"--bus",      "unix:path=/tmp/x", "--listen",  "127.0.0.1:5020", "--listen",    "[::1]:5021",
         "--map",      "m.yaml",           "--overlay", "a.yaml",         "--read-only", "--allow",
         "10.0.0.0/8", "--write-allow",    "127.0.0.1", "--max-clients",  "4",           "--not-available",
         "max",        "--write-timeout",  "250",       "--log-level",    "debug",       "--check"});
    CHECK(o.bus == "unix:path=/tmp/x");
    CHECK(o.listen.size() == 2);
    CHECK(o.map == "m.yaml");
    CHECK(o.overlays == std::vector<std::string>{"a.yaml"});
    CHECK(o.readOnly);
    CHECK(o.allow.size() == 1);
    CHECK(o.writeAllow.size() == 1);
    CHECK(o.maxClients == 4);
    CHECK(o.notAvailable == codec::NotAvailable::Max);
    CHECK(o.writeTimeout.count() == 250);
    CHECK(o.logLevel == "debug");
    CHECK(o.check);
}

TEST_CASE("the per-address connection limit is an option of its own", "[options]") {
    CHECK(parse({"--max-clients-per-address", "3"}).maxClientsPerAddress == 3);
    CHECK_THROWS_WITH(parse({"--max-clients-per-address", "0"}),
                      "--max-clients-per-address: '0' is not a number in 1..100000");
}

TEST_CASE("bad options are usage errors naming the option", "[options]") {
    CHECK_THROWS_WITH(parse({"--bogus"}), "unknown option '--bogus' (see --help)");
    CHECK_THROWS_WITH(parse({"--max-clients", "x"}), "--max-clients: 'x' is not a number in 1..100000");
    CHECK_THROWS_WITH(parse({"--not-available", "nan"}), "--not-available: 'nan' is not zero or max");
    CHECK_THROWS_WITH(parse({"--allow", "300.1.1.1/8"}),
                      "--allow: '300.1.1.1/8' is not an address or CIDR network");
    CHECK_THROWS_WITH(parse({"--map"}), "option '--map' needs a value");
    CHECK_THROWS_WITH(parse({"stray"}), "unexpected argument 'stray'");
}

TEST_CASE("CIDR networks match IPv4, IPv4-mapped and IPv6 peers", "[options]") {
    auto lan = *core::Cidr::parse("192.168.1.0/24");
    auto a = v4("192.168.1.77");
    auto b = v4("192.168.2.1");
    auto mapped = v6("::ffff:192.168.1.5");
    CHECK(lan.contains(reinterpret_cast<sockaddr*>(&a)));
    CHECK(!lan.contains(reinterpret_cast<sockaddr*>(&b)));
    CHECK(lan.contains(reinterpret_cast<sockaddr*>(&mapped)));
    auto ula = *core::Cidr::parse("fd00::/8");
    auto c = v6("fd12::1");
    auto d = v6("fe80::1");
    CHECK(ula.contains(reinterpret_cast<sockaddr*>(&c)));
    CHECK(!ula.contains(reinterpret_cast<sockaddr*>(&d)));
    CHECK(!core::Cidr::parse("10.0.0.0/33"));
    CHECK(!core::Cidr::parse("host.example"));
}

TEST_CASE("the client timeouts are options", "[options]") {
    auto o = parse({"--idle-timeout", "30", "--frame-timeout", "250"});
    CHECK(o.idleTimeout.count() == 30);
    CHECK(o.frameTimeout.count() == 250);
    CHECK(parse({}).idleTimeout.count() == 300);
    CHECK(parse({}).frameTimeout.count() == 5000);
    CHECK_THROWS_WITH(parse({"--idle-timeout", "0"}), "--idle-timeout: '0' is not a number in 1..86400");
}

TEST_CASE("a malformed listen address is a usage error, a well-formed one is kept", "[options]") {
    CHECK_THROWS_WITH(parse({"--listen", "127.0.0.1"}), "--listen: '127.0.0.1' is not HOST:PORT (no port)");
    CHECK_THROWS_WITH(parse({"--listen", "127.0.0.1:99999"}),
                      "--listen: '127.0.0.1:99999' is not HOST:PORT (the port must be a number in 0..65535)");
    CHECK_THROWS_WITH(parse({"--listen", "0.0.0.0:50x"}),
                      "--listen: '0.0.0.0:50x' is not HOST:PORT (the port must be a number in 0..65535)");
    CHECK_THROWS_WITH(parse({"--listen", "::1:502"}),
                      "--listen: '::1:502' is not HOST:PORT (an IPv6 address goes inside [ ])");
    CHECK_THROWS_WITH(parse({"--listen", "[fe80::zz]:502"}),
                      "--listen: '[fe80::zz]:502' is not HOST:PORT (not an IPv6 address inside [ ])");
    CHECK_THROWS_WITH(parse({"--listen", "my host:502"}),
                      "--listen: 'my host:502' is not HOST:PORT (not an address or host name)");
    auto o = parse({"--listen", "[::]:502", "--listen", ":1502", "--listen", "gx.local:0"});
    CHECK(o.listen == std::vector<std::string>{"[::]:502", ":1502", "gx.local:0"});
}
