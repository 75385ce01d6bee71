#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

namespace vmd::core {

/// A move-only owner of a file descriptor.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    [[nodiscard]] int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    explicit operator bool() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

/// One epoll loop for the whole daemon: sockets, the D-Bus connection, signals and timers.
/// Events reach the registration they were meant for: each add() is a registration of its own, and
/// an event of a removed one is dropped even when its fd number was reused meanwhile (a connection
/// closed and a new one accepted on the same fd in one batch of events).
class EventLoop {
  public:
    using Handler = std::function<void(std::uint32_t events)>;
    using Clock = std::chrono::steady_clock;

    EventLoop();
    void add(int fd, std::uint32_t events, Handler handler);
    void modify(int fd, std::uint32_t events);
    void remove(int fd);
    /// Runs before every wait; returns the longest wait in ms it allows (-1: no limit).
    void addPrepare(std::function<int()> prepare) { prepares_.push_back(std::move(prepare)); }
    /// Runs after every wake-up, whatever woke the loop.
    void addIdle(std::function<void()> idle) { idles_.push_back(std::move(idle)); }
    /// Calls `callback` once at `when`, or up to kCoalesce later when another timer is due within
    /// that time after it: both then run in one wake-up (an idle daemon wakes once for its
    /// once-a-second timers, not once per timer).
    void at(Clock::time_point when, std::function<void()> callback);
    static constexpr std::chrono::milliseconds kCoalesce{10};
    void run();
    void stop() { running_ = false; }

  private:
    struct Registration {
        std::uint32_t generation = 0;
        Handler handler;
    };
    Fd epoll_;
    bool running_ = false;
    std::uint32_t nextGeneration_ = 1;
    std::unordered_map<int, Registration> handlers_; ///< by fd; epoll's data holds fd and generation
    std::vector<std::function<int()>> prepares_;
    std::vector<std::function<void()>> idles_;
    std::vector<std::pair<Clock::time_point, std::function<void()>>> timers_;
};

} // namespace vmd::core
