// Exception 4 (docs/protocol.md): an unexpected internal error while a request is handled is answered
// with exception 4, logged, and the connection goes on. No real input reaches it today (a D-Bus path
// that cannot be called is a refused write, exception 10), so it is tested at the narrowest seam: the
// real Server and RequestHandler on a real socket, with a write sink that throws when a write is started.
#include "modbus/Server.h"
#include "core/EventLoop.h"
#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace vmd;
using Bytes = std::vector<std::uint8_t>;

namespace {

const char* kMap = R"(unit-ids:
  - {unit: 100, instance: 0}
registers:
  - {address: 10, service: settings, path: /Settings/A, type: int16, dbus-type: i, access: W}
  - {address: 11, service: settings, path: /Settings/B, type: int16, dbus-type: i, access: W}
)";

/// Throws when the writes numbered in `throwAt` (1-based, in call order) are started; accepts every
/// other write (answering later, from the event loop, as the D-Bus writer does) and records it.
/// Set up before the loop starts; `written` is read after it has ended.
class ThrowingSink : public modbus::WriteSink {
  public:
    explicit ThrowingSink(core::EventLoop& loop) : loop_(loop) {}
    void write(const modbus::WriteOp& op, std::function<void(modbus::WriteResult, int)> done) override {
        if (std::count(throwAt.begin(), throwAt.end(), ++calls) > 0)
            throw std::runtime_error("injected: the write of " + op.path + " could not be started");
        written.push_back(op.path);
        loop_.at(core::EventLoop::Clock::now(), [done] { done(modbus::WriteResult::Accepted, 0); });
    }
    std::vector<int> throwAt;
    int calls = 0;
    std::vector<std::string> written;

  private:
    core::EventLoop& loop_;
};

/// The server's log lines, captured in a stream (logger "modbus", which the server uses when it exists).
struct CapturedLog {
    std::ostringstream lines;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink =
        std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
    std::shared_ptr<spdlog::logger> logger;
    CapturedLog() {
        logger = spdlog::get("modbus");
        if (!logger) {
            logger = std::make_shared<spdlog::logger>("modbus");
            spdlog::register_logger(logger);
        }
        logger->sinks().push_back(sink);
        spdlog::default_logger()->sinks().push_back(sink); // in case the server bound the default one
    }
    ~CapturedLog() {
        for (auto* l : {logger.get(), spdlog::default_logger().get()}) {
            auto& sinks = l->sinks();
            sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
        }
    }
    std::string text() {
        logger->flush();
        return lines.str();
    }
};

/// The real server on 127.0.0.1:0, its event loop on a thread of its own until the test ends.
struct RunningServer {
    regmap::RegisterMap map = [] {
        regmap::MapLoader loader;
        loader.add(kMap, "server-test.yaml");
        return loader.build();
    }();
    core::ServiceIndex index{map};
    core::EventLoop loop;
    modbus::RequestHandler handler{index, {}};
    ThrowingSink sink{loop};
    modbus::Server server{loop, handler, sink, [] {
                              modbus::ServerOptions o;
                              o.listen = {"127.0.0.1:0"};
                              return o;
                          }()};
    int stopPipe[2] = {-1, -1};
    std::thread thread;
    std::string loopError;

    RunningServer() {
        auto& settings = index.add("com.victronenergy.settings"); // instance 0: unit 100
        settings.values[*map.pathId("/Settings/A")] = std::int64_t{5};
        settings.values[*map.pathId("/Settings/B")] = std::int64_t{6};
        index.reindex();
        server.listen();
        REQUIRE(::pipe(stopPipe) == 0);
        loop.add(stopPipe[0], EPOLLIN, [this](std::uint32_t) { loop.stop(); });
    }
    void start() {
        thread = std::thread([this] {
            try {
                loop.run();
            } catch (const std::exception& e) { // an exception out of the server ends its loop
                loopError = e.what();
            }
        });
    }
    void stop() {
        if (!thread.joinable()) return;
        char byte = 0;
        (void)!::write(stopPipe[1], &byte, 1);
        thread.join();
    }
    ~RunningServer() {
        stop();
        loop.remove(stopPipe[0]);
        ::close(stopPipe[0]);
        ::close(stopPipe[1]);
    }
    [[nodiscard]] std::uint16_t port() const {
        const auto& bound = server.boundAddresses().at(0);
        return static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
    }
};

/// A blocking client socket with a receive timeout: a server that does not answer fails the test.
struct Client {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    explicit Client(std::uint16_t port) {
        timeval timeout{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    }
    ~Client() { ::close(fd); }
    /// Sends one request and returns the reply's PDU (empty when the server closed or did not answer).
    Bytes request(std::uint16_t transaction, const Bytes& pdu) {
        Bytes adu = {static_cast<std::uint8_t>(transaction >> 8),
                     static_cast<std::uint8_t>(transaction),
                     0,
                     0,
                     0,
                     static_cast<std::uint8_t>(pdu.size() + 1),
                     100};
        adu.insert(adu.end(), pdu.begin(), pdu.end());
        REQUIRE(::send(fd, adu.data(), adu.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(adu.size()));
        Bytes header = receive(7);
        if (header.size() != 7 || ((header[0] << 8) | header[1]) != transaction) return {};
        const auto length = static_cast<std::size_t>((header[4] << 8) | header[5]);
        return length < 2 ? Bytes{} : receive(length - 1);
    }
    Bytes receive(std::size_t count) {
        Bytes data(count);
        std::size_t got = 0;
        while (got < count) {
            auto n = ::recv(fd, data.data() + got, count - got, 0);
            if (n <= 0) return {};
            got += static_cast<std::size_t>(n);
        }
        return data;
    }
};

} // namespace

TEST_CASE("a write that throws when started answers exception 4, is logged, and the connection goes on",
          "[server]") {
    CapturedLog log;
    RunningServer site;
    site.sink.throwAt = {1, 4}; // the first write single, and the second write of the FC 16 below
    site.start();
    Client client(site.port());

    // Write single 10 = 7: the write sink throws.
    CHECK(client.request(1, {0x06, 0x00, 0x0A, 0x00, 0x07}) == Bytes{0x86, 0x04});
    // The same connection: the same write now succeeds, and a read is answered (from the index, which
    // nothing updates here: there is no bus).
    CHECK(client.request(2, {0x06, 0x00, 0x0A, 0x00, 0x08}) == Bytes{0x06, 0x00, 0x0A, 0x00, 0x08});
    CHECK(client.request(3, {0x03, 0x00, 0x0A, 0x00, 0x02}) == Bytes{0x03, 0x04, 0x00, 0x05, 0x00, 0x06});

    // A write of 10 and 11 whose second write throws: exception 4; the first write stands, as with a
    // refusal ("a refusal stops the rest"), and nothing after the failure is sent.
    CHECK(client.request(4, {0x10, 0x00, 0x0A, 0x00, 0x02, 0x04, 0x00, 0x09, 0x00, 0x0A}) ==
          Bytes{0x90, 0x04});
    CHECK(client.request(5, {0x03, 0x00, 0x0B, 0x00, 0x01}) == Bytes{0x03, 0x02, 0x00, 0x06});

    site.stop();
    CHECK(site.loopError.empty());
    CHECK(site.sink.written == std::vector<std::string>{"/Settings/A", "/Settings/A"});
    CHECK(site.server.stats().exceptions[4] == 2);
    CHECK(site.server.stats().requests == 5);
    const auto text = log.text();
    INFO(text);
    CHECK(text.find("unit 100 function 6: internal error: injected: the write of /Settings/A could not be "
                    "started") != std::string::npos);
    CHECK(text.find("unit 100 function 16: internal error: injected: the write of /Settings/B could not be "
                    "started") != std::string::npos);
}

// Fairness (issue 24 item 4, docs/protocol.md "Hostile clients"): a connection with a pipeline of
// requests waiting is served at most modbus::Server::kRequestsPerTurn of them before another connection's
// request. The event loop runs on the test's thread here, so the test sees each of its wake-ups:
// the other's request is sent between two of them, and the server's own request count says how many
// of the flood's were served between that and the other's reply.
TEST_CASE("one connection's pipeline delays another's request by at most the per-turn budget", "[server]") {
    RunningServer site;
    Client flooder(site.port());
    Client other(site.port());
    const Bytes read{0x03, 0x00, 0x0A, 0x00, 0x01};
    Bytes flood;
    for (std::uint16_t t = 0; t < 400; ++t) {
        const Bytes adu{static_cast<std::uint8_t>(t >> 8), static_cast<std::uint8_t>(t), 0, 0, 0, 6, 100};
        flood.insert(flood.end(), adu.begin(), adu.end());
        flood.insert(flood.end(), read.begin(), read.end());
    }
    REQUIRE(::send(flooder.fd, flood.data(), flood.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(flood.size()));
    const Bytes request{0x7F, 0x7F, 0, 0, 0, 6, 100, 0x03, 0x00, 0x0B, 0x00, 0x01};
    std::optional<std::uint64_t> servedWhenSent;
    std::optional<std::uint64_t> servedWhenAnswered;
    auto readable = [](int fd, int ms) {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, ms) == 1;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    site.loop.addIdle([&] {
        if (std::chrono::steady_clock::now() > deadline) return site.loop.stop(); // fails below
        if (!servedWhenSent) {
            // Once the flood is being served, and plenty of it waits: the other's request.
            if (site.server.stats().requests == 0) return;
            REQUIRE(::send(other.fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                    static_cast<ssize_t>(request.size()));
            servedWhenSent = site.server.stats().requests;
            std::this_thread::sleep_for(std::chrono::milliseconds(50)); // in the server's socket by now
            return;
        }
        if (readable(other.fd, 200)) { // a reply sent in this wake-up is there by now
            servedWhenAnswered = site.server.stats().requests;
            site.loop.stop();
        }
    });
    site.loop.run();
    REQUIRE(servedWhenSent);
    REQUIRE(servedWhenAnswered);
    CHECK(*servedWhenSent < 400 - 2 * modbus::Server::kRequestsPerTurn); // the flood still had plenty waiting
    CHECK(other.receive(11) == Bytes{0x7F, 0x7F, 0, 0, 0, 5, 100, 0x03, 0x02, 0x00, 0x06});
    // The other's request, and at most one turn of the flood's (the one already scheduled when it came).
    INFO("requests served between the other's request and its reply: " << *servedWhenAnswered -
                                                                              *servedWhenSent);
    CHECK(*servedWhenAnswered - *servedWhenSent <= 1 + modbus::Server::kRequestsPerTurn);
}

TEST_CASE("a reader that never quite catches up keeps the server's reply buffer bounded", "[server]") {
    RunningServer site;
    // Sampled on the loop's own thread, every 20 ms: the largest the reply buffers have been.
    std::atomic<std::size_t> largest{0};
    std::atomic<bool> sampling{true};
    std::function<void()> sample = [&] {
        largest = std::max<std::size_t>(largest, site.server.outputBufferBytes());
        if (sampling) site.loop.at(core::EventLoop::Clock::now() + std::chrono::milliseconds(20), sample);
    };
    site.loop.at(core::EventLoop::Clock::now(), sample);
    site.start();

    // A small receive buffer and a reader slower than the sender: the server's replies wait in its
    // buffer all along, which is never empty, so only compaction keeps it from growing.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(site.port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    // The server's end of this connection, in this process: given a small send buffer, as on a GX
    // or under memory pressure, so that replies wait in the server rather than in the kernel.
    sockaddr_in local{};
    socklen_t length = sizeof local;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0);
    int serverEnd = -1;
    for (int attempt = 0; serverEnd < 0 && attempt < 500; ++attempt) {
        for (int candidate = 3; candidate < 1024 && serverEnd < 0; ++candidate) {
            sockaddr_in peer{};
            socklen_t peerLength = sizeof peer;
            if (candidate != fd && ::getpeername(candidate, reinterpret_cast<sockaddr*>(&peer), &peerLength) == 0 &&
                peer.sin_family == AF_INET && peer.sin_port == local.sin_port)
                serverEnd = candidate;
        }
        if (serverEnd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10)); // not accepted yet
    }
    REQUIRE(serverEnd >= 0);
    int smallSend = 4096;
    REQUIRE(::setsockopt(serverEnd, SOL_SOCKET, SO_SNDBUF, &smallSend, sizeof smallSend) == 0);
    constexpr std::size_t kRequests = 100000;
    constexpr std::size_t kReplySize = 11; // MBAP 7 + FC, byte count, one register
    std::thread sender([fd] {
        const Bytes request = {0, 1, 0, 0, 0, 6, 100, 0x03, 0x00, 0x0A, 0x00, 0x01};
        Bytes batch;
        for (int i = 0; i < 500; ++i)
            batch.insert(batch.end(), request.begin(), request.end());
        for (std::size_t sent = 0; sent < kRequests; sent += 500)
            if (::send(fd, batch.data(), batch.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(batch.size())) return;
    });
    std::size_t received = 0;
    std::array<std::uint8_t, 1024> buffer{}; // 1 KiB every 2 ms: slower than the server answers
    while (received < kRequests * kReplySize) {
        auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n <= 0) break;
        received += static_cast<std::size_t>(n);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    sender.join();
    ::close(fd);
    sampling = false;
    site.stop();
    CHECK(received == kRequests * kReplySize);
    INFO("largest reply buffer: " << largest << " bytes for " << received << " bytes of replies");
    CHECK(largest > 0);
    CHECK(largest < 512 * 1024);
}
