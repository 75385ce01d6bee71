#include "app/Config.h"

#include <catch2/catch.hpp>

using namespace vmd;

namespace {
app::Options fromCommandLine(std::vector<std::string> args) {
    args.insert(args.begin(), "venus-modbusd");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    return app::parseOptions(static_cast<int>(argv.size()), argv.data());
}
} // namespace

TEST_CASE("every config key sets its option", "[config]") {
    app::Options o;
    app::applyConfigText(o, R"(# a comment
bus: unix:path=/run/dbus/test
listen: ["127.0.0.1:1502", "[::1]:1502"]
map: /usr/share/venus-modbusd/victron.yaml
overlays: [/etc/venus-modbusd/a.yaml, /etc/venus-modbusd/b.yaml]
read-only: true
allow: [192.168.1.0/24, "fd00::/8"]
write-allow: 192.168.1.10
max-clients: 8
max-clients-per-address: 2
not-available: max
write-timeout: 500
idle-timeout: 60
frame-timeout: 2000
log-level: debug
state-dir: /data/venus-modbusd
)",
                         "c.yaml");
    CHECK(o.bus == "unix:path=/run/dbus/test");
    CHECK(o.listen == std::vector<std::string>{"127.0.0.1:1502", "[::1]:1502"});
    CHECK(o.map == "/usr/share/venus-modbusd/victron.yaml");
    CHECK(o.overlays.size() == 2);
    CHECK(o.readOnly);
    CHECK(o.allow.size() == 2);
    CHECK(o.writeAllow.size() == 1);
    CHECK(o.maxClients == 8);
    CHECK(o.maxClientsPerAddress == 2);
    CHECK(o.notAvailable == codec::NotAvailable::Max);
    CHECK(o.writeTimeout.count() == 500);
    CHECK(o.idleTimeout.count() == 60);
    CHECK(o.frameTimeout.count() == 2000);
    CHECK(o.logLevel == "debug");
    CHECK(o.stateDir == "/data/venus-modbusd");
}

TEST_CASE("command-line options override the config file", "[config]") {
    auto o = fromCommandLine({"--max-clients", "4", "--listen", "127.0.0.1:5020"});
    app::applyConfigText(o, "max-clients: 16\nlisten: [0.0.0.0:502]\nwrite-timeout: 300\n", "c.yaml");
    CHECK(o.maxClients == 4);
    CHECK(o.listen == std::vector<std::string>{"127.0.0.1:5020"});
    CHECK(o.writeTimeout.count() == 300);
}

TEST_CASE("config errors name the file, the line and the key", "[config]") {
    app::Options o;
    CHECK_THROWS_WITH(app::applyConfigText(o, "bus: system\nmax-client: 4\n", "c.yaml"),
                      Catch::StartsWith("c.yaml:2: unknown key 'max-client' (known: "));
    CHECK_THROWS_WITH(app::applyConfigText(o, "\n\nmax-clients: many\n", "c.yaml"),
                      "c.yaml:3: 'max-clients': 'many' is not a number in 1..100000");
    CHECK_THROWS_WITH(app::applyConfigText(o, "read-only: yes please\n", "c.yaml"),
                      "c.yaml:1: 'read-only' must be true or false");
    CHECK_THROWS_WITH(app::applyConfigText(o, "listen:\n  - {a: b}\n", "c.yaml"),
                      "c.yaml:2: 'listen' must be a single value here");
    CHECK_THROWS_WITH(app::applyConfigText(o, "allow: [10.0.0.0/33]\n", "c.yaml"),
                      "c.yaml:1: 'allow': '10.0.0.0/33' is not an address or CIDR network");
    CHECK_THROWS_WITH(app::applyConfigText(o, "bus: system\nbus: session\n", "c.yaml"),
                      "c.yaml:2: duplicate key 'bus'");
    CHECK_THROWS_WITH(app::applyConfigText(o, "bus: [unclosed\n", "c.yaml"), Catch::StartsWith("c.yaml:"));
    CHECK_THROWS_WITH(app::applyConfigText(o, "- a\n- b\n", "c.yaml"),
                      "c.yaml:1: the config must be a mapping of option names to values");
    CHECK_THROWS_WITH(app::applyConfigFile(o, "/nonexistent.yaml"),
                      "/nonexistent.yaml:0: cannot open the config file");
}

TEST_CASE("an empty config file sets nothing", "[config]") {
    app::Options o;
    app::applyConfigText(o, "# nothing yet\n", "c.yaml");
    CHECK(o.bus == "system");
}

TEST_CASE("the tls map: listeners, files, roles of three kinds and the default role", "[config][tls]") {
    app::Options o;
    app::applyConfigText(o, R"(listen: []
tls:
  listen: ["127.0.0.1:8020", "[::1]:802"]
  cert: /etc/s.pem
  key: /etc/s.key
  client-ca: /etc/ca.pem
  crl: /etc/c.crl
  roles:
    viewer: read
    admin: write
    ess: {write: ["2700-2722", "37"]}
  default-role: viewer
)",
                         "c.yaml");
    app::applyDefaults(o);
    CHECK(o.listen.empty()); // `listen: []`: TLS only
    CHECK(o.tls.enabled);
    CHECK(o.tls.listen == std::vector<std::string>{"127.0.0.1:8020", "[::1]:802"});
    CHECK(o.tls.cert == "/etc/s.pem");
    CHECK(o.tls.key == "/etc/s.key");
    CHECK(o.tls.clientCa == "/etc/ca.pem");
    CHECK(o.tls.crl == "/etc/c.crl");
    CHECK(o.tls.roles.at("viewer").writes == modbus::AccessPolicy::Writes::None);
    CHECK(o.tls.roles.at("admin").writes == modbus::AccessPolicy::Writes::All);
    CHECK(o.tls.roles.at("ess").describe() == "write 2700-2722 37");
    CHECK(o.tls.defaultRole == "viewer");
}

TEST_CASE("tls defaults: port 802, plain listeners stay, default-role none", "[config][tls]") {
    app::Options o;
    app::applyConfigText(o, "tls: {cert: s.pem, key: s.key, client-ca: ca.pem}\n", "c.yaml");
    app::applyDefaults(o);
    CHECK(o.listen == std::vector<std::string>{"0.0.0.0:502"});
    CHECK(o.tls.listen == std::vector<std::string>{"0.0.0.0:802"});
    CHECK(o.tls.defaultRole == "none");
    CHECK(o.tls.roles.empty());
}

TEST_CASE("tls errors name the file, the line and what is wrong", "[config][tls]") {
    auto error = [](const std::string& yaml) {
        app::Options o;
        try {
            app::applyConfigText(o, yaml, "c.yaml");
            app::applyDefaults(o);
        } catch (const app::UsageError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error("tls: yes\n") ==
          "c.yaml:1: 'tls' must be a mapping (listen, cert, key, client-ca, crl, roles, default-role)");
    CHECK(error("tls:\n  certificate: x\n") == "c.yaml:2: unknown key 'tls: certificate' (known: listen, "
                                               "cert, key, client-ca, crl, roles, default-role)");
    CHECK(error("tls:\n  listen: [\"802\"]\n") == "c.yaml:2: tls: listen: '802' is not HOST:PORT (no port)");
    CHECK(error("tls:\n  roles:\n    ess: {write: [\"2722-2700\"]}\n") ==
          "c.yaml:3: tls: role 'ess': '2722-2700' is not a register range FIRST-LAST or a register");
    CHECK(error("tls:\n  roles:\n    ess: all\n") ==
          "c.yaml:3: tls: role 'ess' must be read, write or {write: [RANGES]}");
    CHECK(error("tls:\n  roles: {a: read}\n  default-role: b\n") ==
          "c.yaml:2: tls: default-role 'b' is not none or a role under 'roles'");
    // A role named none would silently become what `default-role: none` (no role) means.
    CHECK(error("tls:\n  roles:\n    viewer: read\n    none: write\n  default-role: none\n") ==
          "c.yaml:4: tls: roles: a role cannot be named none (default-role: none means no role)");
    CHECK(error("tls:\n  cert: s.pem\n  key: s.key\n") == "tls: 'client-ca' is required");
    CHECK(error("listen: []\n") == "nothing to listen on: 'listen' is empty and there is no 'tls'");
}

namespace {
app::Options commandLine(std::vector<std::string> args) {
    args.insert(args.begin(), "venus-modbusd");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    return app::parseOptions(static_cast<int>(argv.size()), argv.data());
}

std::string usageError(std::vector<std::string> args) {
    try {
        auto o = commandLine(std::move(args));
        app::applyDefaults(o);
    } catch (const app::UsageError& e) {
        return e.what();
    }
    return "no error";
}
} // namespace

TEST_CASE("the --tls-* options set what the tls map sets", "[config][tls]") {
    auto o = commandLine({"--tls-listen", "127.0.0.1:8020", "--tls-cert", "s.pem", "--tls-key", "s.key",
                          "--tls-client-ca", "ca.pem", "--tls-crl", "c.crl", "--tls-role", "viewer=read",
                          "--tls-role", "admin=write", "--tls-role", "ess=2700-2722,37", "--tls-default-role",
                          "viewer"});
    app::applyDefaults(o);
    CHECK(o.tls.enabled);
    CHECK(o.tls.listen == std::vector<std::string>{"127.0.0.1:8020"});
    CHECK(o.tls.cert == "s.pem");
    CHECK(o.tls.key == "s.key");
    CHECK(o.tls.clientCa == "ca.pem");
    CHECK(o.tls.crl == "c.crl");
    CHECK(o.tls.roles.at("viewer").writes == modbus::AccessPolicy::Writes::None);
    CHECK(o.tls.roles.at("admin").writes == modbus::AccessPolicy::Writes::All);
    CHECK(o.tls.roles.at("ess").describe() == "write 2700-2722 37");
    CHECK(o.tls.defaultRole == "viewer");
    CHECK(o.listen == std::vector<std::string>{"0.0.0.0:502"}); // the plain listener stays
}

TEST_CASE("the --tls-* options win over the tls map key by key, a --tls-role over the role of its name",
          "[config][tls]") {
    auto o = commandLine({"--tls-cert", "cli.pem", "--tls-role", "ess=2700-2722"});
    app::applyConfigText(o, R"(tls:
  cert: file.pem
  key: file.key
  client-ca: ca.pem
  roles:
    ess: write
    viewer: read
)",
                         "c.yaml");
    app::applyDefaults(o);
    CHECK(o.tls.cert == "cli.pem");
    CHECK(o.tls.key == "file.key");
    CHECK(o.tls.roles.at("ess").describe() == "write 2700-2722");
    CHECK(o.tls.roles.at("viewer").describe() == "read");
}

TEST_CASE("bad --tls-* options are usage errors that say what is wrong", "[config][tls]") {
    CHECK(usageError({"--tls-role", "ess"}) == "--tls-role: 'ess': not NAME=PERMISSION");
    CHECK(usageError({"--tls-role", "=read"}) == "--tls-role: '=read': not NAME=PERMISSION");
    CHECK(usageError({"--tls-role", "ess=2700-2722,all"}) ==
          "--tls-role: 'ess=2700-2722,all': 'all' is not read, write, or a register range FIRST-LAST or a "
          "register");
    CHECK(usageError({"--tls-role", "none=write"}) ==
          "--tls-role: 'none=write': a role cannot be named none (default-role: none means no role)");
    CHECK(usageError({"--tls-listen", "802"}) == "--tls-listen: '802' is not HOST:PORT (no port)");
    CHECK(usageError({"--tls-cert", "s.pem", "--tls-key", "s.key"}) == "tls: 'client-ca' is required");
    CHECK(usageError({"--tls-cert", "s.pem", "--tls-key", "s.key", "--tls-client-ca", "ca.pem",
                      "--tls-default-role", "ess"}) ==
          "tls: default-role 'ess' is not none or a role under 'roles'");
}
