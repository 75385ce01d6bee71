// The D-Bus writer on the test bus: a proxy lives only as long as its SetValue, so services that
// have left leave nothing behind (issue 22: the per-path proxy cache grew with every service seen).
#include "Site.h"
#include "dbus/Writer.h"

#include <catch2/catch.hpp>

#include <poll.h>

using namespace vmd;
using namespace vmd::test;
using namespace std::chrono_literals;

namespace {

/// Runs the connection's messages until `done` holds or 10 s pass.
bool processUntil(sdbus::IConnection& connection, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        while (connection.processPendingRequest()) {
        }
        auto data = connection.getEventLoopPollData();
        pollfd fd{data.fd, data.events, 0};
        ::poll(&fd, 1, 50);
    }
    return done();
}

} // namespace

TEST_CASE("the writer keeps no proxy of a service once its calls are answered", "[site][writer]") {
    auto connection = sdbus::createSessionBusConnectionWithAddress(env("VMD_BUS"));
    dbus::Writer writer(*connection, 5s);
    constexpr int kServices = 200;
    int refused = 0;
    for (int i = 0; i < kServices; ++i) // services that are not (or no longer) on the bus
        writer.write({"com.victronenergy.gone.s" + std::to_string(i), "/Mode", {'i', std::int64_t{1}}, nullptr, {}, {}, {}},
                     [&](modbus::WriteResult result, int) { refused += result == modbus::WriteResult::Refused; });
    CHECK(writer.proxiesHeld() == kServices); // one per call in flight
    REQUIRE(processUntil(*connection, [&] { return refused == kServices; }));
    bool answered = false;
    writer.write({"com.victronenergy.gone.last", "/Mode", {'i', std::int64_t{1}}, nullptr, {}, {}, {}},
                 [&](modbus::WriteResult, int) { answered = true; });
    REQUIRE(processUntil(*connection, [&] { return answered; }));
    CHECK(writer.proxiesHeld() == 1); // the last answered call's, released by the next write
}
