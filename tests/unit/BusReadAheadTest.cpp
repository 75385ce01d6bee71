// The bus socket's read-ahead (dbus/BusReadAhead.h): recvmsg on the read-ahead socket hands on the
// same bytes in the same order however the reader splits them, from one read of the socket; other
// sockets are untouched; file descriptors that came with the bytes are closed, never handed on.
#include "dbus/BusReadAhead.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

namespace {

struct Pair {
    int fds[2] = {-1, -1};
    Pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0); }
    ~Pair() {
        vmd::dbus::readAheadOff();
        ::close(fds[0]);
        ::close(fds[1]);
    }
    void send(const std::string& bytes) const {
        REQUIRE(::write(fds[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    }
};

/// recvmsg as sd-bus calls it: one buffer of `size` bytes, room for ancillary data, MSG_DONTWAIT.
ssize_t receive(int fd, std::string& into, std::size_t size, msghdr* seen = nullptr) {
    std::string buffer(size, '\0');
    iovec iov{buffer.data(), size};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd, &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n > 0) into.append(buffer.data(), static_cast<std::size_t>(n));
    if (seen) *seen = header;
    return n;
}

} // namespace

TEST_CASE("the read-ahead socket hands on every byte in order, in the pieces the reader asks for") {
    Pair pair;
    vmd::dbus::readAheadOn(pair.fds[0]);
    std::string sent;
    for (int i = 0; i < 200; ++i)
        sent += "message " + std::to_string(i) + ";";
    pair.send(sent);
    std::string got;
    CHECK(receive(pair.fds[0], got, 24) == 24); // the whole burst is read, 24 bytes handed on
    CHECK(vmd::dbus::readAheadPending() == sent.size() - 24);
    while (got.size() < sent.size())
        REQUIRE(receive(pair.fds[0], got, 1 + got.size() % 37) > 0);
    CHECK(got == sent);
    CHECK(vmd::dbus::readAheadPending() == 0);
    CHECK(receive(pair.fds[0], got, 24) == -1); // empty: the socket says so
    CHECK(errno == EAGAIN);
    pair.send("more");
    CHECK(receive(pair.fds[0], got, 100) == 4);
    CHECK(got == sent + "more");
    ::shutdown(pair.fds[1], SHUT_WR);
    CHECK(receive(pair.fds[0], got, 24) == 0); // the end of the stream
}

TEST_CASE("recvmsg on any other socket is libc's") {
    Pair bus, other;
    vmd::dbus::readAheadOn(bus.fds[0]);
    other.send("abcdef");
    std::string got;
    CHECK(receive(other.fds[0], got, 2) == 2);
    CHECK(receive(other.fds[0], got, 10) == 4);
    CHECK(got == "abcdef");
    CHECK(vmd::dbus::readAheadPending() == 0);
}

TEST_CASE("file descriptors sent to the read-ahead socket are closed, never handed on") {
    Pair pair;
    vmd::dbus::readAheadOn(pair.fds[0]);
    int passed[2];
    REQUIRE(::pipe2(passed, O_CLOEXEC) == 0);
    char byte = 'x';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    auto* c = CMSG_FIRSTHDR(&header);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &passed[0], sizeof(int));
    REQUIRE(::sendmsg(pair.fds[1], &header, 0) == 1);
    ::close(passed[0]); // the only copy left is the one in flight
    std::string got;
    msghdr seen{};
    CHECK(receive(pair.fds[0], got, 16, &seen) == 1);
    CHECK(got == "x");
    CHECK(seen.msg_controllen == 0);
    // The received copy was closed: the pipe has no reader left, so a write fails with EPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    CHECK(::write(passed[1], "y", 1) == -1);
    CHECK(errno == EPIPE);
    ::close(passed[1]);
}
