#include "core/EventLoop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>

namespace vmd::core {

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

namespace {

std::uint64_t key(int fd, std::uint32_t generation) {
    return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}

} // namespace

EventLoop::EventLoop() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!epoll_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

void EventLoop::add(int fd, std::uint32_t events, Handler handler) {
    const auto generation = nextGeneration_++;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key(fd, generation);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl add");
    handlers_[fd] = {generation, std::move(handler)};
}

void EventLoop::modify(int fd, std::uint32_t events) {
    auto it = handlers_.find(fd);
    if (it == handlers_.end()) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key(fd, it->second.generation);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::remove(int fd) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    handlers_.erase(fd);
}

void EventLoop::at(Clock::time_point when, std::function<void()> callback) {
    timers_.emplace_back(when, std::move(callback));
}

void EventLoop::run() {
    running_ = true;
    std::array<epoll_event, 64> events{};
    while (running_) {
        int timeout = -1;
        for (auto& prepare : prepares_) {
            int t = prepare();
            if (t >= 0 && (timeout < 0 || t < timeout)) timeout = t;
        }
        auto now = Clock::now();
        if (!timers_.empty()) {
            // Wake at the first deadline, or at the last one that follows it within kCoalesce.
            auto first = std::min_element(timers_.begin(), timers_.end(), [](const auto& a, const auto& b) {
                             return a.first < b.first;
                         })->first;
            auto wake = first;
            if (first > now)
                for (const auto& timer : timers_)
                    if (timer.first > wake && timer.first <= first + kCoalesce) wake = timer.first;
            auto ms = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
            int t = static_cast<int>(std::clamp<long long>(ms, 0, 60000));
            if (timeout < 0 || t < timeout) timeout = t;
        }
        int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout);
        if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "epoll_wait");
        for (int i = 0; i < n; ++i) {
            const auto& event = events[static_cast<std::size_t>(i)];
            const auto fd = static_cast<int>(event.data.u64 & 0xFFFFFFFFu);
            const auto generation = static_cast<std::uint32_t>(event.data.u64 >> 32);
            auto it = handlers_.find(fd);
            // Removed by an earlier handler in this batch, or removed and its fd number given to a
            // new registration: the event was not meant for the one there now.
            if (it == handlers_.end() || it->second.generation != generation) continue;
            auto handler = it->second.handler; // a handler may remove itself
            handler(event.events);
        }
        now = Clock::now();
        std::vector<std::function<void()>> due;
        for (auto it = timers_.begin(); it != timers_.end();) {
            if (it->first <= now) {
                due.push_back(std::move(it->second));
                it = timers_.erase(it);
            } else {
                ++it;
            }
        }
        for (auto& callback : due)
            callback();
        for (auto& idle : idles_)
            idle();
    }
}

} // namespace vmd::core
