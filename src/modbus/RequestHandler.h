#pragma once

#include "codec/Codec.h"
#include "core/ServiceIndex.h"
#include "modbus/AccessPolicy.h"
#include "modbus/Protocol.h"

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace vmd::modbus {

/// One D-Bus write a Modbus write turns into.
struct WriteOp {
    std::string service; ///< bus name
    std::string path;
    codec::TypedValue value;
    const regmap::Register* reg = nullptr; ///< the register written
    std::vector<std::uint16_t> words;      ///< the register's words as written (after merging), for the audit
    std::shared_ptr<const void> keepAlive; ///< keeps `reg`'s map alive across a reload
    /// The map's path written when it differs from `path` (an output slot's "/SwitchableOutput/#2/State"
    /// for the identifier's own path): what the register's fail-safe rule is found by.
    std::string mapPath;

    [[nodiscard]] const std::string& mapPathOr() const { return mapPath.empty() ? path : mapPath; }
};

/// A response PDU (function code first), built without heap allocation.
struct Reply {
    std::array<std::uint8_t, kMaxPduSize> bytes{};
    std::size_t size = 0;

    [[nodiscard]] std::span<const std::uint8_t> pdu() const { return {bytes.data(), size}; }
    [[nodiscard]] bool isException() const { return size == 2 && (bytes[0] & kExceptionFlag); }
    [[nodiscard]] ExceptionCode exception() const {
        return isException() ? static_cast<ExceptionCode>(bytes[1]) : ExceptionCode::None;
    }
};

/// What a request needs: an immediate reply, or D-Bus writes first.
struct Outcome {
    Reply reply;                 ///< the reply to send (after the writes succeeded, if any)
    std::vector<WriteOp> writes; ///< to be applied in order before `reply` is sent
    /// FC23: after the writes, the read part is served again from fresh values.
    bool readAfterWrite = false;
    std::uint16_t readAddress = 0;
    std::uint16_t readQuantity = 0;
    /// A refused write: what was to be written and why not, for the log (made only on refusal).
    std::string refusal;
};

/// The server's version (registers 39500-39502, FC 43 MajorMinorRevision).
struct ServerVersion {
    std::uint16_t major = 0;
    std::uint16_t minor = 0;
    std::uint16_t patch = 0;
};

/// The texts of Read Device Identification (FC 43/14, docs/protocol.md); the revision is `version`.
struct DeviceIdentity {
    std::string vendorName = "venus-modbusd developers";
    std::string productCode = "venus-modbusd";
    std::string vendorUrl = "file:///usr/share/doc/venus-modbusd/";
    std::string productName = "venus-modbusd";
    std::string modelName = "Modbus-TCP server for Venus OS (GX register list)";
};

struct HandlerOptions {
    codec::NotAvailable notAvailable = codec::NotAvailable::Zero;
    bool readOnly = false;
    ServerVersion version{};
    DeviceIdentity identity{};
    std::string readOnlyReason = "the server is read-only"; ///< for the log of a refused write
};

/// All Modbus semantics (DESIGN section 4): request PDU + unit -> reply or writes. Pure: no I/O.
class RequestHandler {
  public:
    RequestHandler(const core::ServiceIndex& services, HandlerOptions options)
        : services_(&services), map_(&services.map()), options_(options) {}

    /// `now` is Unix time in seconds (for the computed clock register); `access` is what the
    /// requesting connection may do (a write outside its role: exception 1; from outside
    /// --write-allow, or while read-only: exception 2).
    [[nodiscard]] Outcome handle(regmap::UnitId unit, std::span<const std::uint8_t> pdu, std::int64_t now,
                                 const AccessPolicy& access = {}) const;

    /// Serves a read of `quantity` registers at `address` into `reply` (function code `fc`).
    void read(regmap::UnitId unit, std::uint8_t fc, std::uint16_t address, std::uint16_t quantity,
              std::int64_t now, Reply& reply) const;

    static void exception(std::uint8_t fc, ExceptionCode code, Reply& reply);

    /// `reason`: what made it so, as the log of a refused write names it ("--read-only", the GX setting).
    void setReadOnly(bool readOnly, std::string reason = "the server is read-only") {
        options_.readOnly = readOnly;
        options_.readOnlyReason = std::move(reason);
    }
    void setNotAvailable(codec::NotAvailable notAvailable) { options_.notAvailable = notAvailable; }
    /// Serves from another index (and its map) from now on: a reload.
    void rebind(const core::ServiceIndex& services) {
        services_ = &services;
        map_ = &services.map();
    }

  private:
    void identify(regmap::UnitId unit, std::span<const std::uint8_t> pdu, Reply& reply) const;
    /// The text of a device identification object; empty when the object does not exist.
    [[nodiscard]] std::string identityObject(std::uint8_t id) const;
    ExceptionCode checkRange(std::uint16_t address, std::uint16_t quantity) const;
    ExceptionCode prepareWrites(regmap::UnitId unit, std::uint16_t address,
                                std::span<const std::uint8_t> data, std::uint16_t quantity,
                                const AccessPolicy& access, Outcome& out) const;
    /// "register 2902 (hub4 /Overall/... ) words [0x0003]": what a write request aimed at, for a refusal.
    [[nodiscard]] std::string describeTarget(std::uint16_t address, std::span<const std::uint8_t> data,
                                             std::uint16_t quantity) const;
    Outcome dispatch(regmap::UnitId unit, std::span<const std::uint8_t> pdu, std::int64_t now,
                     const AccessPolicy& access) const;
    void encodeRegister(const regmap::Register& reg, const core::ServiceState& service, std::int64_t now,
                        std::span<std::uint16_t> out) const;

    const core::ServiceIndex* services_;
    const regmap::RegisterMap* map_;
    HandlerOptions options_;
};

} // namespace vmd::modbus
