#include "dbus/BusItem.h"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <dlfcn.h>
#include <type_traits>

namespace vmd::dbus {

codec::Value fromVariant(const sdbus::Variant& variant) {
    const auto type = variant.peekValueType();
    if (type.size() != 1) return {}; // arrays (the "invalid" marker), structs, dicts
    switch (type[0]) {
    case 'd':
        return variant.get<double>();
    case 'i':
        return std::int64_t{variant.get<std::int32_t>()};
    case 'n':
        return std::int64_t{variant.get<std::int16_t>()};
    case 'x':
        return std::int64_t{variant.get<std::int64_t>()};
    case 'u':
        return std::uint64_t{variant.get<std::uint32_t>()};
    case 'q':
        return std::uint64_t{variant.get<std::uint16_t>()};
    case 'y':
        return std::uint64_t{variant.get<std::uint8_t>()};
    case 't':
        return std::uint64_t{variant.get<std::uint64_t>()};
    case 'b':
        return variant.get<bool>();
    case 's':
        return variant.get<std::string>();
    default:
        return {};
    }
}

namespace {

/// sdbus-c++ 1.2 keeps the sd_bus_message in Message's protected msg_ and offers no accessor; a pointer
/// to that member, formed in a derived class, reads it from any Message without a cast of the object.
struct MessageAccess : sdbus::Message {
    static constexpr auto kMessage = &MessageAccess::msg_;
};

template <typename T> bool readBasic(sd_bus_message* m, char type, codec::Value& into) {
    T value{};
    if (sd_bus_message_read_basic(m, type, &value) <= 0) return false;
    if (type == 'b') // sd-bus reads a boolean as an int
        into = value != 0;
    else if constexpr (std::is_same_v<T, double>)
        into = value;
    else if constexpr (std::is_signed_v<T>)
        into = std::int64_t{value};
    else
        into = std::uint64_t{value};
    return true;
}

} // namespace

sd_bus_message* rawMessage(sdbus::Message& message) {
    return static_cast<sd_bus_message*>(message.*MessageAccess::kMessage);
}

bool readVariant(sd_bus_message* m, codec::Value& into) {
    char type = 0;
    const char* contents = nullptr;
    if (sd_bus_message_peek_type(m, &type, &contents) <= 0 || type != SD_BUS_TYPE_VARIANT || !contents)
        return false;
    if (contents[0] == 0 || contents[1] != 0) { // arrays (the "invalid" marker), structs, dicts
        into = std::monostate{};
        return sd_bus_message_skip(m, "v") >= 0;
    }
    if (sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents) <= 0) return false;
    bool ok = true;
    switch (contents[0]) {
    case 'd':
        ok = readBasic<double>(m, 'd', into);
        break;
    case 'i':
        ok = readBasic<std::int32_t>(m, 'i', into);
        break;
    case 'n':
        ok = readBasic<std::int16_t>(m, 'n', into);
        break;
    case 'x':
        ok = readBasic<std::int64_t>(m, 'x', into);
        break;
    case 'u':
        ok = readBasic<std::uint32_t>(m, 'u', into);
        break;
    case 'q':
        ok = readBasic<std::uint16_t>(m, 'q', into);
        break;
    case 'y':
        ok = readBasic<std::uint8_t>(m, 'y', into);
        break;
    case 't':
        ok = readBasic<std::uint64_t>(m, 't', into);
        break;
    case 'b':
        ok = readBasic<int>(m, 'b', into);
        break;
    case 's': {
        const char* text = nullptr;
        ok = sd_bus_message_read_basic(m, 's', &text) > 0;
        if (!ok) break;
        if (auto* held = std::get_if<std::string>(&into))
            held->assign(text);
        else
            into.emplace<std::string>(text);
        break;
    }
    default: // object paths, signatures, file descriptors
        into = std::monostate{};
        ok = sd_bus_message_skip(m, contents) >= 0;
    }
    return ok && sd_bus_message_exit_container(m) >= 0;
}

namespace {

template <typename T> T integral(const codec::Value& v) {
    if (auto p = std::get_if<std::int64_t>(&v)) return static_cast<T>(*p);
    if (auto p = std::get_if<std::uint64_t>(&v)) return static_cast<T>(*p);
    if (auto p = std::get_if<bool>(&v)) return static_cast<T>(*p);
    if (auto p = std::get_if<double>(&v)) return static_cast<T>(*p);
    return T{};
}

} // namespace

sdbus::Variant toVariant(const codec::TypedValue& typed) {
    const auto& v = typed.value;
    switch (typed.dbusType) {
    case 'd':
        if (auto p = std::get_if<double>(&v)) return sdbus::Variant(*p);
        return sdbus::Variant(integral<double>(v));
    case 'y':
        return sdbus::Variant(integral<std::uint8_t>(v));
    case 'b':
        return sdbus::Variant(integral<std::int64_t>(v) != 0);
    case 'n':
        return sdbus::Variant(integral<std::int16_t>(v));
    case 'q':
        return sdbus::Variant(integral<std::uint16_t>(v));
    case 'i':
        return sdbus::Variant(integral<std::int32_t>(v));
    case 'u':
        return sdbus::Variant(integral<std::uint32_t>(v));
    case 'x':
        return sdbus::Variant(integral<std::int64_t>(v));
    case 't':
        return sdbus::Variant(integral<std::uint64_t>(v));
    default:
        return sdbus::Variant(codec::toText(v));
    }
}

namespace {

/// Set while openBus connects to an address that needs ANONYMOUS authentication (see sd_bus_start
/// below); only on the thread that connects.
thread_local bool tAnonymousAuth = false;

} // namespace

bool needsAnonymousAuth(const std::string& bus) {
    // A list of addresses is tried in order (';'-separated); sd-bus has one mechanism for all.
    for (std::size_t start = 0; start < bus.size();) {
        if (bus.compare(start, 4, "tcp:") == 0) return true;
        const auto separator = bus.find(';', start);
        if (separator == std::string::npos) break;
        start = separator + 1;
    }
    return false;
}

std::unique_ptr<sdbus::IConnection> openBus(const std::string& bus) {
    if (bus == "system") return sdbus::createSystemBusConnection();
    if (bus == "session") return sdbus::createSessionBusConnection();
    struct AnonymousWhileConnecting {
        explicit AnonymousWhileConnecting(bool on) { tAnonymousAuth = on; }
        AnonymousWhileConnecting(const AnonymousWhileConnecting&) = delete;
        AnonymousWhileConnecting& operator=(const AnonymousWhileConnecting&) = delete;
        ~AnonymousWhileConnecting() { tAnonymousAuth = false; }
    } anonymous(needsAnonymousAuth(bus));
    return sdbus::createSessionBusConnectionWithAddress(bus);
}

} // namespace vmd::dbus

/// sd-bus authenticates as a client with EXTERNAL (the peer's Unix credentials), which a dbus-daemon
/// on TCP cannot check; Venus OS's bus on TCP port 78 accepts ANONYMOUS only. sd-bus offers ANONYMOUS
/// when sd_bus_set_anonymous() is called before the connection starts, but sdbus-c++ 1.2 (Debian
/// 12's) creates, configures and starts the sd_bus in one call and cannot take a prepared one. So
/// the program defines sd_bus_start itself: being in the executable, it comes before libsystemd's
/// in symbol lookup, and sdbus-c++'s call lands here. It sets ANONYMOUS while openBus() connects to
/// a tcp: address and otherwise only passes the call on to libsystemd's sd_bus_start.
extern "C" __attribute__((visibility("default"))) int sd_bus_start(sd_bus* bus) {
    using Start = int (*)(sd_bus*);
    static const auto next = reinterpret_cast<Start>(dlsym(RTLD_NEXT, "sd_bus_start"));
    if (next == nullptr) return -ENOSYS;
    if (vmd::dbus::tAnonymousAuth) {
        if (const int r = sd_bus_set_anonymous(bus, 1); r < 0) return r;
    }
    return next(bus);
}
