#include "CeilingServer.h"

#include <modbus/modbus.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace vmd::bench {

struct CeilingServer::Resources {
    struct ContextDeleter {
        void operator()(modbus_t* ctx) const { modbus_free(ctx); }
    };
    struct MappingDeleter {
        void operator()(modbus_mapping_t* mapping) const { modbus_mapping_free(mapping); }
    };
    std::unique_ptr<modbus_t, ContextDeleter> ctx;
    std::unique_ptr<modbus_mapping_t, MappingDeleter> mapping;
    int listenFd = -1;
    int wakeRead = -1;
    int wakeWrite = -1;
    std::vector<int> clients;

    Resources() = default;
    Resources(const Resources&) = delete;
    Resources& operator=(const Resources&) = delete;
    ~Resources() {
        for (int fd : clients)
            ::close(fd);
        for (int fd : {listenFd, wakeRead, wakeWrite})
            if (fd >= 0) ::close(fd);
    }
};

CeilingServer::CeilingServer() : resources_(std::make_unique<Resources>()) {
    auto& r = *resources_;
    r.ctx.reset(modbus_new_tcp("127.0.0.1", 0));
    r.mapping.reset(modbus_mapping_new(0, 0, kRegisters, kRegisters));
    if (!r.ctx || !r.mapping) throw CeilingError("ceiling server: out of memory");
    for (int i = 0; i < kRegisters; ++i) {
        r.mapping->tab_registers[i] = static_cast<std::uint16_t>(i);
        r.mapping->tab_input_registers[i] = static_cast<std::uint16_t>(i);
    }
    r.listenFd = modbus_tcp_listen(r.ctx.get(), 64); // port 0: the kernel picks a free one
    if (r.listenFd < 0)
        throw CeilingError(std::string("ceiling server: cannot listen on 127.0.0.1: ") +
                           modbus_strerror(errno));
    sockaddr_in local{};
    socklen_t length = sizeof local;
    if (::getsockname(r.listenFd, reinterpret_cast<sockaddr*>(&local), &length) != 0)
        throw CeilingError("ceiling server: getsockname failed");
    port_ = ntohs(local.sin_port);
    int wake[2];
    if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) throw CeilingError("ceiling server: pipe2 failed");
    r.wakeRead = wake[0];
    r.wakeWrite = wake[1];
    thread_ = std::thread([this] { serve(); });
    hasCpuClock_ = ::pthread_getcpuclockid(thread_.native_handle(), &cpuClock_) == 0;
}

CeilingServer::~CeilingServer() {
    const char stop = 1;
    (void)!::write(resources_->wakeWrite, &stop, 1);
    if (thread_.joinable()) thread_.join();
}

double CeilingServer::cpuSeconds() const {
    timespec now{};
    if (!hasCpuClock_ || ::clock_gettime(cpuClock_, &now) != 0) return 0;
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

void CeilingServer::serve() {
    auto& r = *resources_;
    std::vector<std::uint8_t> query(MODBUS_TCP_MAX_ADU_LENGTH);
    std::vector<pollfd> fds;
    for (;;) {
        fds.clear();
        fds.push_back({r.wakeRead, POLLIN, 0});
        fds.push_back({r.listenFd, POLLIN, 0});
        for (int fd : r.clients)
            fds.push_back({fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), 1000) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[0].revents) return; // asked to stop
        if (fds[1].revents & POLLIN) {
            const int fd = ::accept4(r.listenFd, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                int one = 1; // as venus-modbusd does: no Nagle delay on replies
                ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                r.clients.push_back(fd);
            }
        }
        std::vector<int> closed;
        for (std::size_t i = 2; i < fds.size(); ++i) {
            if (!fds[i].revents) continue;
            modbus_set_socket(r.ctx.get(), fds[i].fd);
            const int size = modbus_receive(r.ctx.get(), query.data());
            if (size > 0) {
                if (modbus_reply(r.ctx.get(), query.data(), size, r.mapping.get()) < 0)
                    closed.push_back(fds[i].fd);
                else
                    served_.fetch_add(1, std::memory_order_relaxed);
            } else if (size < 0) {
                closed.push_back(fds[i].fd); // the peer left, or a broken frame
            }
        }
        for (int fd : closed) {
            ::close(fd);
            std::erase(r.clients, fd);
        }
    }
}

} // namespace vmd::bench
