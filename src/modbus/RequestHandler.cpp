#include "modbus/RequestHandler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vmd::modbus {

using regmap::Compute;
using regmap::ModbusType;
using regmap::Register;

namespace {

std::uint16_t be16(std::span<const std::uint8_t> p, std::size_t at) {
    return static_cast<std::uint16_t>((p[at] << 8) | p[at + 1]);
}

void put16(Reply& reply, std::uint16_t v) {
    reply.bytes[reply.size++] = static_cast<std::uint8_t>(v >> 8);
    reply.bytes[reply.size++] = static_cast<std::uint8_t>(v & 0xFF);
}

const codec::Value& firstValid(const core::ServiceState& service, const std::vector<regmap::PathId>& paths) {
    for (auto path : paths)
        if (codec::isValid(service.value(path))) return service.value(path);
    static const codec::Value invalid;
    return invalid;
}

std::optional<double> number(const codec::Value& v) {
    if (auto p = std::get_if<double>(&v)) return *p;
    if (auto p = std::get_if<std::int64_t>(&v)) return static_cast<double>(*p);
    if (auto p = std::get_if<std::uint64_t>(&v)) return static_cast<double>(*p);
    if (auto p = std::get_if<bool>(&v)) return *p ? 1.0 : 0.0;
    return std::nullopt;
}

} // namespace

void RequestHandler::exception(std::uint8_t fc, ExceptionCode code, Reply& reply) {
    reply.size = 0;
    reply.bytes[reply.size++] = static_cast<std::uint8_t>(fc | kExceptionFlag);
    reply.bytes[reply.size++] = static_cast<std::uint8_t>(code);
}

ExceptionCode RequestHandler::checkRange(std::uint16_t address, std::uint16_t quantity) const {
    if (std::uint32_t{address} + quantity > 65536u) return ExceptionCode::IllegalDataAddress;
    for (std::uint32_t word = address; word < std::uint32_t{address} + quantity; ++word)
        if (!map_->at(static_cast<std::uint16_t>(word))) return ExceptionCode::IllegalDataAddress;
    return ExceptionCode::None;
}

void RequestHandler::encodeRegister(const Register& reg, const core::ServiceState& service, std::int64_t now,
                                    std::span<std::uint16_t> out) const {
    auto na = options_.notAvailable;
    switch (reg.compute) {
    case Compute::None:
        return codec::encode(firstValid(service, reg.paths), reg, na, out);
    case Compute::Quotient: {
        auto dividend = number(service.value(reg.inputs[0]));
        auto divisor = number(service.value(reg.inputs[1]));
        if (!dividend || !divisor || *divisor == 0) return codec::encodeNotAvailable(reg, na, out);
        return codec::encode(*dividend / *divisor, reg, na, out);
    }
    case Compute::UtcTime:
        return codec::encode(static_cast<std::uint64_t>(std::max<std::int64_t>(now, 0)), reg, na, out);
    case Compute::FirmwareVersion: {
        auto v = number(service.value(reg.inputs[0]));
        if (!v || *v < 0 || out.size() != 2) return codec::encodeNotAvailable(reg, na, out);
        auto version = static_cast<std::uint32_t>(*v);
        out[0] = static_cast<std::uint16_t>(version >> 8);
        out[1] = static_cast<std::uint16_t>(version & 0xFF);
        return;
    }
    case Compute::Discovery: {
        const auto& entries = services_->discovery();
        constexpr std::size_t kEntries = 100;
        auto word = static_cast<std::size_t>(reg.computeValue);
        std::uint16_t value = 0xFFFF;
        if (word == 0)
            value = static_cast<std::uint16_t>(std::min(entries.size(), kEntries));
        else if (word == 1)
            value = 1; // layout version
        else if (auto k = (word - 2) / 4; k < entries.size() && k < kEntries) {
            const auto& e = entries[k];
            const std::uint16_t fields[] = {e.unit, e.typeCode, e.instance, e.flags};
            value = fields[(word - 2) % 4];
        }
        std::fill(out.begin(), out.end(), std::uint16_t{0xFFFF});
        out[0] = value;
        return;
    }
    case Compute::ServerVersion: {
        const std::uint16_t parts[] = {options_.version.major, options_.version.minor,
                                       options_.version.patch};
        auto part = static_cast<std::size_t>(reg.computeValue);
        std::fill(out.begin(), out.end(), std::uint16_t{0});
        out[out.size() - 1] = part < 3 ? parts[part] : 0xFFFF;
        return;
    }
    case Compute::MapIdentity: { // every bit is the value: no saturation, high word first
        std::fill(out.begin(), out.end(), std::uint16_t{0});
        auto identity = map_->identity();
        out[out.size() - 1] = static_cast<std::uint16_t>(identity & 0xFFFF);
        if (out.size() > 1) out[out.size() - 2] = static_cast<std::uint16_t>(identity >> 16);
        return;
    }
    case Compute::AnyText: {
        bool any = std::any_of(reg.inputs.begin(), reg.inputs.end(), [&](auto path) {
            auto text = std::get_if<std::string>(&service.value(path));
            return text && !text->empty();
        });
        return codec::encode(any ? reg.computeValue : 0.0, reg, na, out);
    }
    }
}

void RequestHandler::read(regmap::UnitId unit, std::uint8_t fc, std::uint16_t address, std::uint16_t quantity,
                          std::int64_t now, Reply& reply) const {
    if (auto code = checkRange(address, quantity); code != ExceptionCode::None)
        return exception(fc, code, reply);

    const std::uint32_t end = std::uint32_t{address} + quantity;
    // Presence is decided by the register at the start address: when its service is absent at this unit
    // the whole block is exception 10, whatever follows. A discovery probe of a group's first address
    // (Home Assistant reads one at every unit) must not find a device that is not there because a later
    // register of the block belongs to a service that is (4700 pump, then 4701.. settings). Answered
    // before any encoding work: scans of absent units are most of what a discovery sends.
    regmap::ServiceTypeId lastType = map_->at(address)->service;
    const core::ServiceState* service = services_->resolve(lastType, unit);
    if (!service) return exception(fc, ExceptionCode::GatewayPathUnavailable, reply);

    reply.size = 0;
    reply.bytes[reply.size++] = fc;
    reply.bytes[reply.size++] = static_cast<std::uint8_t>(2 * quantity);
    std::array<std::uint16_t, kMaxReadRegisters> words;
    // Resolving the service once per run of registers of one type keeps this cheap.
    for (std::uint32_t word = address; word < end;) {
        const Register& reg = *map_->at(static_cast<std::uint16_t>(word));
        if (reg.service != lastType) {
            lastType = reg.service;
            service = services_->resolve(reg.service, unit);
        }
        std::array<std::uint16_t, kMaxReadRegisters> image;
        std::span<std::uint16_t> regWords(image.data(), reg.words);
        if (service)
            encodeRegister(reg, *service, now, regWords);
        else
            codec::encodeNotAvailable(reg, options_.notAvailable, regWords);
        auto from = word - reg.address;
        auto to = std::min<std::uint32_t>(reg.end(), end) - reg.address;
        std::copy(image.begin() + from, image.begin() + to, words.begin() + (word - address));
        word = reg.address + to;
    }
    for (std::size_t i = 0; i < quantity; ++i)
        put16(reply, words[i]);
}

std::string RequestHandler::identityObject(std::uint8_t id) const {
    const auto& v = options_.version;
    switch (static_cast<DeviceIdObject>(id)) {
    case DeviceIdObject::VendorName:
        return options_.identity.vendorName;
    case DeviceIdObject::ProductCode:
        return options_.identity.productCode;
    case DeviceIdObject::MajorMinorRevision:
        return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch);
    case DeviceIdObject::VendorUrl:
        return options_.identity.vendorUrl;
    case DeviceIdObject::ProductName:
        return options_.identity.productName;
    case DeviceIdObject::ModelName:
        return options_.identity.modelName;
    case DeviceIdObject::MapIdentity: {
        char text[32];
        std::snprintf(text, sizeof text, "register map 0x%08X", static_cast<unsigned>(map_->identity()));
        return text;
    }
    }
    return {};
}

// Read Device Identification (Modbus Application Protocol v1.1b3, 6.21). Codes 1, 2 and 3 stream the
// basic (0-2), regular (0-5) and extended (0-5, 0x80) objects from the object id asked for, restarting
// at object 0 when that id is not one of the category's objects; what does not fit in one reply is
// announced by More Follows = 0xFF and the next object's id. Code 4 returns the one object asked for,
// or exception 2 when there is no such object. Another code is exception 3.
void RequestHandler::identify(regmap::UnitId unit, std::span<const std::uint8_t> pdu, Reply& reply) const {
    const std::uint8_t fc = pdu[0];
    if (pdu.size() < 2) return exception(fc, ExceptionCode::IllegalDataValue, reply);
    if (pdu[1] != kMeiReadDeviceId) return exception(fc, ExceptionCode::IllegalFunction, reply);
    if (pdu.size() != 4) return exception(fc, ExceptionCode::IllegalDataValue, reply);
    const auto code = pdu[2];
    const auto objectId = pdu[3];
    if (code < static_cast<std::uint8_t>(ReadDeviceIdCode::Basic) ||
        code > static_cast<std::uint8_t>(ReadDeviceIdCode::Individual))
        return exception(fc, ExceptionCode::IllegalDataValue, reply);
    // Answered at any unit ID that reaches a service, as a read would be.
    bool reachable = false;
    for (std::size_t type = 0; type < map_->serviceTypes().size() && !reachable; ++type)
        reachable = services_->resolve(static_cast<regmap::ServiceTypeId>(type), unit) != nullptr;
    if (!reachable) return exception(fc, ExceptionCode::GatewayPathUnavailable, reply);

    static constexpr std::uint8_t kObjects[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x80};
    std::size_t count = 0; // how many of kObjects the category streams
    switch (static_cast<ReadDeviceIdCode>(code)) {
    case ReadDeviceIdCode::Basic:
        count = 3;
        break;
    case ReadDeviceIdCode::Regular:
        count = 6;
        break;
    case ReadDeviceIdCode::Extended:
    case ReadDeviceIdCode::Individual:
        count = std::size(kObjects);
        break;
    }
    const auto* found = std::find(kObjects, kObjects + count, objectId);
    if (code == static_cast<std::uint8_t>(ReadDeviceIdCode::Individual) && found == kObjects + count)
        return exception(fc, ExceptionCode::IllegalDataAddress, reply);
    std::size_t first = found == kObjects + count ? 0 : static_cast<std::size_t>(found - kObjects);
    std::size_t last = code == static_cast<std::uint8_t>(ReadDeviceIdCode::Individual) ? first + 1 : count;

    reply.size = 0;
    for (std::uint8_t b :
         {fc, kMeiReadDeviceId, code, std::uint8_t{0x83}, std::uint8_t{0}, std::uint8_t{0}, std::uint8_t{0}})
        reply.bytes[reply.size++] = b; // conformity 0x83: basic, regular, extended; stream and individual
    std::uint8_t objects = 0;
    for (auto k = first; k < last; ++k) {
        auto text = identityObject(kObjects[k]);
        // One object always fits (cut to the space left); a further one that does not is announced.
        auto room = kMaxPduSize - reply.size - 2;
        if (text.size() > room) {
            if (objects > 0) {
                reply.bytes[4] = 0xFF;        // More Follows
                reply.bytes[5] = kObjects[k]; // Next Object Id
                break;
            }
            text.resize(room);
        }
        reply.bytes[reply.size++] = kObjects[k];
        reply.bytes[reply.size++] = static_cast<std::uint8_t>(text.size());
        std::copy(text.begin(), text.end(), reply.bytes.begin() + static_cast<std::ptrdiff_t>(reply.size));
        reply.size += text.size();
        ++objects;
    }
    reply.bytes[6] = objects;
}

std::string RequestHandler::describeTarget(std::uint16_t address, std::span<const std::uint8_t> data,
                                          std::uint16_t quantity) const {
    std::string words;
    for (std::size_t i = 0; i < quantity && 2 * i + 1 < data.size(); ++i)
        words += fmt::format("{}0x{:02X}{:02X}", i ? " " : "", data[2 * i], data[2 * i + 1]);
    const std::string shown = quantity == 0 ? std::string{} : " words [" + words + "]";
    const Register* reg = map_->at(address);
    if (!reg) return fmt::format("address {} quantity {}{}", address, quantity, shown);
    const auto& type = reg->service < map_->serviceTypes().size() ? map_->serviceTypes()[reg->service] : "?";
    return fmt::format("register {}{} ({} {}){}", reg->address,
                       quantity > reg->words ? fmt::format(" quantity {}", quantity) : std::string{}, type,
                       map_->paths()[reg->paths.front()], shown);
}

ExceptionCode RequestHandler::prepareWrites(regmap::UnitId unit, std::uint16_t address,
                                            std::span<const std::uint8_t> data, std::uint16_t quantity,
                                            const AccessPolicy& access, Outcome& out) const {
    auto& writes = out.writes;
    auto refuse = [&](ExceptionCode code, const std::string& why) {
        out.refusal = describeTarget(address, data, quantity) + ": " + why;
        return code;
    };
    if (!access.roleMayWrite(address, quantity))
        return refuse(ExceptionCode::IllegalFunction, "outside what the TLS role may write (" + access.describe() + ")");
    if (auto code = checkRange(address, quantity); code != ExceptionCode::None)
        return refuse(code, "reaches an address the map does not serve");
    if (options_.readOnly) return refuse(ExceptionCode::IllegalDataAddress, options_.readOnlyReason);
    const std::uint32_t end = std::uint32_t{address} + quantity;
    for (std::uint32_t word = address; word < end;) {
        const Register& reg = *map_->at(static_cast<std::uint16_t>(word));
        if (!reg.writable())
            return refuse(ExceptionCode::IllegalDataAddress, fmt::format("register {} is read-only", reg.address));
        word = reg.end();
    }
    // Every value is validated before anything is sent.
    for (std::uint32_t word = address; word < end;) {
        const Register& reg = *map_->at(static_cast<std::uint16_t>(word));
        auto service = services_->resolve(reg.service, unit);
        if (!service)
            return refuse(ExceptionCode::GatewayPathUnavailable,
                          fmt::format("no {} service at unit {}", map_->serviceTypes()[reg.service], unit));
        auto to = std::min<std::uint32_t>(reg.end(), end);
        if (reg.type == ModbusType::Reserved) { // writable spacer: accepted and dropped
            word = to;
            continue;
        }
        std::array<std::uint16_t, kMaxReadRegisters> image{};
        std::span<std::uint16_t> regWords(image.data(), reg.words);
        if (word > reg.address || to < reg.end()) // a partial write is merged with the current value
            encodeRegister(reg, *service, 0, regWords);
        for (auto w = word; w < to; ++w)
            image[w - reg.address] = be16(data, 2 * (w - address));
        auto decoded = codec::decode(reg, regWords);
        if (decoded.error != codec::DecodeError::None)
            return refuse(ExceptionCode::IllegalDataValue,
                          fmt::format("the value does not fit register {} (its range, its documented values or "
                                      "its D-Bus type '{}')",
                                      reg.address, reg.dbusType));
        // The first alternative that holds a value receives the write; otherwise the first one.
        auto target = reg.paths.front();
        for (auto path : reg.paths)
            if (codec::isValid(service->value(path))) {
                target = path;
                break;
            }
        // A slot path goes to the identifier in that slot; an empty slot has nothing to write to, and a
        // slot held for an output that is gone refuses writes until that output returns.
        auto dest = services_->writeTarget(*service, target);
        if (dest.state == core::SlotTarget::State::Vacated)
            return refuse(ExceptionCode::IllegalDataAddress,
                          fmt::format("{} is held for an output {} no longer publishes",
                                      map_->paths()[target], service->name));
        auto path = std::move(dest.path);
        if (path.empty())
            return refuse(ExceptionCode::GatewayPathUnavailable,
                          fmt::format("{} holds no output on {}", map_->paths()[target], service->name));
        const auto& mapPath = map_->paths()[target];
        writes.push_back({service->name,
                          path,
                          std::move(decoded.value),
                          &reg,
                          {regWords.begin(), regWords.end()},
                          {},
                          path == mapPath ? std::string{} : mapPath});
        word = to;
    }
    return ExceptionCode::None;
}

Outcome RequestHandler::handle(regmap::UnitId unit, std::span<const std::uint8_t> pdu, std::int64_t now,
                               const AccessPolicy& access) const {
    auto out = dispatch(unit, pdu, now, access);
    // --write-allow is decided on a request that is otherwise fine, as it always was: a client
    // outside it gets exception 2 where it would have written.
    if (!out.writes.empty() && !access.addressMayWrite) {
        const auto& first = out.writes.front();
        out.refusal = fmt::format("{} -> {} {} = {}: the client's address is not in --write-allow",
                                  describeTarget(first.reg->address, {}, 0), first.service, first.path,
                                  codec::toText(first.value.value));
        out.writes.clear();
        out.readAfterWrite = false;
        exception(pdu[0], ExceptionCode::IllegalDataAddress, out.reply);
    }
    return out;
}

Outcome RequestHandler::dispatch(regmap::UnitId unit, std::span<const std::uint8_t> pdu, std::int64_t now,
                                 const AccessPolicy& access) const {
    Outcome out;
    if (pdu.empty()) {
        exception(0, ExceptionCode::IllegalFunction, out.reply);
        return out;
    }
    const std::uint8_t fc = pdu[0];
    auto fail = [&](ExceptionCode code) {
        out.writes.clear();
        exception(fc, code, out.reply);
        return std::move(out);
    };
    switch (static_cast<FunctionCode>(fc)) {
    case FunctionCode::ReadHoldingRegisters:
    case FunctionCode::ReadInputRegisters: {
        if (pdu.size() != 5) return fail(ExceptionCode::IllegalDataValue);
        auto quantity = be16(pdu, 3);
        if (quantity == 0 || quantity > kMaxReadRegisters) return fail(ExceptionCode::IllegalDataValue);
        read(unit, fc, be16(pdu, 1), quantity, now, out.reply);
        return out;
    }
    case FunctionCode::WriteSingleRegister: {
        if (pdu.size() != 5) return fail(ExceptionCode::IllegalDataValue);
        if (auto code = prepareWrites(unit, be16(pdu, 1), pdu.subspan(3, 2), 1, access, out);
            code != ExceptionCode::None)
            return fail(code);
        std::copy(pdu.begin(), pdu.end(), out.reply.bytes.begin()); // the reply echoes the request
        out.reply.size = pdu.size();
        return out;
    }
    case FunctionCode::WriteMultipleRegisters: {
        if (pdu.size() < 6) return fail(ExceptionCode::IllegalDataValue);
        auto quantity = be16(pdu, 3);
        auto byteCount = pdu[5];
        if (quantity == 0 || quantity > kMaxWriteRegisters || byteCount != 2 * quantity ||
            pdu.size() != 6u + byteCount)
            return fail(ExceptionCode::IllegalDataValue);
        if (auto code = prepareWrites(unit, be16(pdu, 1), pdu.subspan(6), quantity, access, out);
            code != ExceptionCode::None)
            return fail(code);
        std::copy(pdu.begin(), pdu.begin() + 5, out.reply.bytes.begin());
        out.reply.size = 5;
        return out;
    }
    case FunctionCode::ReadWriteMultipleRegisters: {
        if (pdu.size() < 10) return fail(ExceptionCode::IllegalDataValue);
        auto readAddress = be16(pdu, 1);
        auto readQuantity = be16(pdu, 3);
        auto writeAddress = be16(pdu, 5);
        auto writeQuantity = be16(pdu, 7);
        auto byteCount = pdu[9];
        if (readQuantity == 0 || readQuantity > kMaxReadRegisters || writeQuantity == 0 ||
            writeQuantity > kMaxReadWriteWriteRegisters || byteCount != 2 * writeQuantity ||
            pdu.size() != 10u + byteCount)
            return fail(ExceptionCode::IllegalDataValue);
        if (auto code = checkRange(readAddress, readQuantity); code != ExceptionCode::None) return fail(code);
        if (auto code = prepareWrites(unit, writeAddress, pdu.subspan(10), writeQuantity, access, out);
            code != ExceptionCode::None)
            return fail(code);
        out.readAfterWrite = true;
        out.readAddress = readAddress;
        out.readQuantity = readQuantity;
        if (out.writes.empty()) read(unit, fc, readAddress, readQuantity, now, out.reply);
        return out;
    }
    case FunctionCode::EncapsulatedInterface:
        identify(unit, pdu, out.reply);
        return out;
    }
    return fail(ExceptionCode::IllegalFunction);
}

} // namespace vmd::modbus
