#pragma once

#include "codec/Value.h"

#include <sdbus-c++/sdbus-c++.h>

struct sd_bus_message;

namespace vmd::dbus {

/// Names of Victron's BusItem protocol (DESIGN section 2).
inline constexpr const char* kBusItemInterface = "com.victronenergy.BusItem";
inline constexpr const char* kServicePrefix = "com.victronenergy.";
inline constexpr const char* kOwnServiceName = "com.victronenergy.modbustcp";

/// A received variant as a mirror value; empty arrays (and anything unexpected) are invalid.
[[nodiscard]] codec::Value fromVariant(const sdbus::Variant& variant);

/// The sd-bus message beneath a message sdbus-c++ hands to a match callback, for reading it in place.
[[nodiscard]] ::sd_bus_message* rawMessage(sdbus::Message& message);

/// Reads the variant at the message's read position into `into`, as fromVariant() would convert it,
/// without an intermediate container: a string is assigned into the one `into` holds (its buffer kept).
/// Returns false, with the read position unknown, when the message is malformed there.
[[nodiscard]] bool readVariant(::sd_bus_message* message, codec::Value& into);

/// A value to send, as a variant of exactly its D-Bus type.
[[nodiscard]] sdbus::Variant toVariant(const codec::TypedValue& value);

/// Whether connecting to this D-Bus address authenticates with ANONYMOUS (a tcp: address, such as
/// Venus OS's bus on port 78, which has no way to check a client's identity) rather than EXTERNAL.
[[nodiscard]] bool needsAnonymousAuth(const std::string& bus);

/// Opens a bus: "system", "session" or a D-Bus address (tcp: addresses with ANONYMOUS authentication).
[[nodiscard]] std::unique_ptr<sdbus::IConnection> openBus(const std::string& bus);

} // namespace vmd::dbus
