#include "dbus/BusReadAhead.h"

#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace vmd::dbus {

namespace {

/// The socket read ahead and what was read of it; one connection, used from the event loop's thread.
struct ReadAhead {
    int fd = -1;
    std::size_t start = 0; ///< the first byte not handed on yet
    std::size_t end = 0;   ///< one past the last byte read
    std::array<char, 64 * 1024> buffer{};
};
ReadAhead gReadAhead;

using Recvmsg = ssize_t (*)(int, msghdr*, int);
Recvmsg libcRecvmsg() {
    static const auto next = reinterpret_cast<Recvmsg>(dlsym(RTLD_NEXT, "recvmsg"));
    return next;
}

/// File descriptors that came with the bytes: never handed on (sd-bus did not ask for any).
void closePassedFds(msghdr& header) {
    for (auto* c = CMSG_FIRSTHDR(&header); c; c = CMSG_NXTHDR(&header, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            const auto count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int fd = -1;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                ::close(fd);
            }
        }
}

ssize_t readAhead(ReadAhead& r, msghdr* message, int flags) {
    if (r.start == r.end) {
        iovec whole{r.buffer.data(), r.buffer.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
        msghdr own{};
        own.msg_iov = &whole;
        own.msg_iovlen = 1;
        own.msg_control = control;
        own.msg_controllen = sizeof control;
        const ssize_t n = libcRecvmsg()(r.fd, &own, (flags & MSG_DONTWAIT) | MSG_CMSG_CLOEXEC);
        if (n <= 0) return n; // an error (EAGAIN: nothing more now) or the end of the stream
        closePassedFds(own);
        r.start = 0;
        r.end = static_cast<std::size_t>(n);
    }
    std::size_t copied = 0;
    for (std::size_t i = 0; i < message->msg_iovlen && r.start < r.end; ++i) {
        const auto n = std::min(message->msg_iov[i].iov_len, r.end - r.start);
        std::memcpy(message->msg_iov[i].iov_base, r.buffer.data() + r.start, n);
        r.start += n;
        copied += n;
    }
    message->msg_controllen = 0;
    message->msg_flags = 0;
    return static_cast<ssize_t>(copied);
}

} // namespace

void readAheadOn(int fd) {
    gReadAhead.fd = fd;
    gReadAhead.start = gReadAhead.end = 0;
}

void readAheadOff() {
    gReadAhead.fd = -1;
    gReadAhead.start = gReadAhead.end = 0;
}

std::size_t readAheadPending() {
    return gReadAhead.end - gReadAhead.start;
}

} // namespace vmd::dbus

/// See BusReadAhead.h: recvmsg on the read-ahead socket comes from the buffer; any other call (another
/// socket, or MSG_PEEK) goes to libc's recvmsg as it is.
extern "C" __attribute__((visibility("default"))) ssize_t recvmsg(int fd, msghdr* message, int flags) {
    const auto next = vmd::dbus::libcRecvmsg();
    if (next == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    if (fd < 0 || fd != vmd::dbus::gReadAhead.fd || (flags & MSG_PEEK) != 0) return next(fd, message, flags);
    return vmd::dbus::readAhead(vmd::dbus::gReadAhead, message, flags);
}
