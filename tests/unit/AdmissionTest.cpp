// The admission policy (docs/protocol.md "Hostile clients"): who makes room for a newcomer at a full
// server, and when a newcomer is refused.
#include "modbus/Admission.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace vmd::modbus::admission;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000s;

Slot slot(std::uint64_t id, Clock::duration age, bool proven = false, bool busy = false,
          bool handshaking = false, Clock::duration idle = 0s) {
    Slot s;
    s.id = id;
    s.proven = proven;
    s.busy = busy;
    s.handshaking = handshaking;
    s.connectedAt = t0 - age;
    s.lastActivity = t0 - idle;
    return s;
}

Limits limits(std::size_t maxClients) {
    auto l = limitsFor(maxClients);
    l.probation = 2;
    return l;
}

} // namespace

TEST_CASE("below --max-clients every newcomer is admitted", "[admission]") {
    std::vector<Slot> open{slot(1, 10s), slot(2, 10s, true)};
    auto d = admit(open, false, limits(3), t0);
    CHECK(d.verdict == Verdict::Admit);
    CHECK_FALSE(d.displaces());
}

TEST_CASE("a full server evicts the oldest unproven connection past its grace, never a proven one",
          "[admission]") {
    // 1 proven and idle longest of all; 2 and 3 unproven, 3 the older; 4 unproven but just connected.
    std::vector<Slot> open{slot(1, 60s, true, false, false, 50s), slot(2, 5s), slot(3, 8s), slot(4, 100ms)};
    auto d = admit(open, false, limits(4), t0);
    CHECK(d.verdict == Verdict::Evict);
    CHECK(d.victim == 3);
    CHECK(d.displaces());
}

TEST_CASE(
    "an unproven connection within its grace is not evicted: the newcomer waits on probation or is refused",
    "[admission]") {
    std::vector<Slot> young{slot(1, 100ms), slot(2, 200ms)};
    auto d = admit(young, false, limits(2), t0);
    CHECK(d.verdict == Verdict::Refuse);
    CHECK(d.reason == Refusal::NoRoom);
    std::vector<Slot> withProven{slot(1, 100ms), slot(2, 60s, true)};
    d = admit(withProven, false, limits(2), t0);
    CHECK(d.verdict == Verdict::Admit);
    CHECK(d.probation);
}

TEST_CASE("a server full of proven connections lets a newcomer in on probation, up to the probation limit",
          "[admission]") {
    std::vector<Slot> open{slot(1, 60s, true), slot(2, 60s, true)};
    auto d = admit(open, false, limits(2), t0);
    CHECK(d.verdict == Verdict::Admit);
    CHECK(d.probation);
    CHECK(d.displaces());
    open.push_back(slot(3, 10ms));
    open.push_back(slot(4, 20ms));
    d = admit(open, false, limits(2), t0); // 2 + probation 2 open, the newcomers still in their grace
    CHECK(d.verdict == Verdict::Refuse);
    CHECK(d.reason == Refusal::NoRoom);
    open[2].connectedAt = t0 - 5s; // a silent one on probation past its grace makes room
    d = admit(open, false, limits(2), t0);
    CHECK(d.verdict == Verdict::Evict);
    CHECK(d.victim == 3);
}

TEST_CASE("a connection with a write in progress is never evicted; when all have one the newcomer is refused",
          "[admission]") {
    std::vector<Slot> open{slot(1, 60s, true, true), slot(2, 60s, true, true)};
    auto d = admit(open, false, limits(2), t0);
    CHECK(d.verdict == Verdict::Refuse);
    CHECK(d.reason == Refusal::AllWriting);
    CHECK_FALSE(makeRoom(std::vector<Slot>{open[0], open[1], slot(3, 1s, true)}, 3, limits(2), t0));
}

TEST_CASE(
    "a newcomer that proves itself beyond --max-clients evicts an unproven one first, else the proven "
    "one idle longest",
    "[admission]") {
    std::vector<Slot> open{slot(1, 60s, true, false, false, 30s), slot(2, 60s, true, false, false, 40s),
                           slot(3, 60s, true, true, false, 50s), slot(4, 1s, true)};
    CHECK(makeRoom(open, 4, limits(3), t0) == std::optional<std::uint64_t>(2)); // 3 is writing
    open.push_back(slot(5, 100ms)); // unproven, within its grace: still before any proven one
    CHECK(makeRoom(open, 4, limits(3), t0) == std::optional<std::uint64_t>(5));
    open.push_back(slot(6, 3s));
    CHECK(makeRoom(open, 4, limits(3), t0) == std::optional<std::uint64_t>(6)); // the oldest unproven
    CHECK_FALSE(makeRoom(open, 4, limits(6), t0));                              // nobody is over the limit
}

TEST_CASE(
    "TLS handshakes in progress are capped: at the cap a newcomer replaces the oldest past its grace, or "
    "is refused",
    "[admission]") {
    auto l = limits(8); // cap 2
    REQUIRE(l.maxHandshakes == 2);
    std::vector<Slot> open{slot(1, 3s, false, false, true), slot(2, 2s, false, false, true), slot(3, 60s)};
    auto d = admit(open, true, l, t0);
    CHECK(d.verdict == Verdict::Evict);
    CHECK(d.victim == 1); // not 3, the oldest unproven: handshakes displace only handshakes
    open[0].connectedAt = t0 - 10ms;
    open[1].connectedAt = t0 - 20ms;
    d = admit(open, true, l, t0);
    CHECK(d.verdict == Verdict::Refuse);
    CHECK(d.reason == Refusal::Handshakes);
    CHECK(admit(open, false, l, t0).verdict == Verdict::Admit); // a plain newcomer is not held up by them
}

TEST_CASE("the reconnect limit lets an address displace a burst of connections, then one per period",
          "[admission]") {
    ReconnectLimit limit;
    for (unsigned i = 0; i < ReconnectLimit::kBurst; ++i)
        CHECK(limit.take("127.0.7.1", t0));
    CHECK_FALSE(limit.take("127.0.7.1", t0));
    CHECK(limit.take("127.0.0.1", t0)); // another address has its own
    CHECK_FALSE(limit.take("127.0.7.1", t0 + ReconnectLimit::kPeriod / 2));
    CHECK(limit.take("127.0.7.1", t0 + ReconnectLimit::kPeriod));
    CHECK_FALSE(limit.take("127.0.7.1", t0 + ReconnectLimit::kPeriod));
    limit.forgetFull(t0 + ReconnectLimit::kPeriod * (ReconnectLimit::kBurst + 1));
    CHECK(limit.tracked() == 0);
}
