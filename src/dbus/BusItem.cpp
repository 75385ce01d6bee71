#include "dbus/BusItem.h"

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

std::unique_ptr<sdbus::IConnection> openBus(const std::string& bus) {
    if (bus == "system") return sdbus::createSystemBusConnection();
    if (bus == "session") return sdbus::createSessionBusConnection();
    return sdbus::createSessionBusConnectionWithAddress(bus);
}

} // namespace vmd::dbus
