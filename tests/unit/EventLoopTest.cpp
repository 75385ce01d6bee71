// The event loop delivers an event to the registration it was meant for: an fd closed by an earlier
// handler of the same batch, whose number a new registration took, must not get the old event.
#include "core/EventLoop.h"

#include <catch2/catch.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

using namespace vmd;

TEST_CASE("an event of a closed fd never reaches the new registration that reuses its number",
          "[eventloop]") {
    core::EventLoop loop;
    // Two readable eventfds in one batch. Whichever handler runs first closes the other one and
    // registers a fresh, never readable eventfd, which gets the closed fd's number (the lowest
    // free one): the batch still holds the closed fd's event.
    core::Fd a(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
    core::Fd b(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
    REQUIRE(a);
    REQUIRE(b);
    core::Fd replacement;
    int replacementCalls = 0;
    int firstCalls = 0;
    int reused = -1;
    auto replaceOther = [&](core::Fd& other) {
        ++firstCalls;
        const int number = other.get();
        loop.remove(number);
        other = core::Fd(); // closed: its number is free
        replacement = core::Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        reused = replacement.get() == number ? 1 : 0;
        loop.add(replacement.get(), EPOLLIN, [&](std::uint32_t) { ++replacementCalls; });
    };
    const int aNumber = a.get();
    const int bNumber = b.get();
    loop.add(aNumber, EPOLLIN, [&](std::uint32_t) {
        if (!replacement) replaceOther(b);
    });
    loop.add(bNumber, EPOLLIN, [&](std::uint32_t) {
        if (!replacement) replaceOther(a);
    });
    loop.at(core::EventLoop::Clock::now() + std::chrono::milliseconds(200), [&] { loop.stop(); });
    loop.run();
    REQUIRE(firstCalls == 1);
    REQUIRE(reused == 1); // the premise: the new registration has the closed fd's number
    CHECK(replacementCalls == 0);
}

TEST_CASE("modify keeps a registration's events going to it", "[eventloop]") {
    core::EventLoop loop;
    core::Fd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    int calls = 0;
    loop.add(fd.get(), 0, [&](std::uint32_t events) {
        if (events & EPOLLIN) ++calls;
        loop.stop();
    });
    loop.modify(fd.get(), EPOLLIN);
    std::uint64_t one = 1;
    REQUIRE(::write(fd.get(), &one, sizeof one) == sizeof one);
    loop.at(core::EventLoop::Clock::now() + std::chrono::seconds(5), [&] { loop.stop(); });
    loop.run();
    CHECK(calls == 1);
}
