#include "modbus/Tls.h"

#include <openssl/asn1.h>

namespace vmd::modbus {

std::optional<std::string> decodeRole(const unsigned char* der, long size) {
    if (!der || size <= 0) return std::nullopt;
    const unsigned char* p = der;
    ASN1_UTF8STRING* text = d2i_ASN1_UTF8STRING(nullptr, &p, size);
    if (!text) return std::nullopt;
    std::optional<std::string> role;
    const auto length = ASN1_STRING_length(text);
    const auto* bytes = reinterpret_cast<const char*>(ASN1_STRING_get0_data(text));
    std::string value(bytes, static_cast<std::size_t>(length));
    // The whole value is the one string; a role with a NUL in it names no configured role.
    if (p == der + size && !value.empty() && value.find('\0') == std::string::npos) role = std::move(value);
    ASN1_UTF8STRING_free(text);
    return role;
}

} // namespace vmd::modbus
