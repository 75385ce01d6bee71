#include "modbus/Tls.h"

#include <cstddef>
#include <cstdint>

namespace vmd::modbus {

namespace {

constexpr unsigned char kUtf8StringTag = 0x0c; // universal, primitive, 12

/// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool validUtf8(const unsigned char* text, std::size_t size) {
    std::size_t i = 0;
    while (i < size) {
        const unsigned char lead = text[i];
        std::size_t extra = 0;
        std::uint32_t code = 0, minimum = 0;
        if (lead < 0x80) {
            ++i;
            continue;
        }
        if ((lead & 0xe0) == 0xc0) {
            extra = 1, code = lead & 0x1fu, minimum = 0x80;
        } else if ((lead & 0xf0) == 0xe0) {
            extra = 2, code = lead & 0x0fu, minimum = 0x800;
        } else if ((lead & 0xf8) == 0xf0) {
            extra = 3, code = lead & 0x07u, minimum = 0x10000;
        } else {
            return false;
        }
        if (size - i <= extra) return false;
        for (std::size_t k = 1; k <= extra; ++k) {
            if ((text[i + k] & 0xc0) != 0x80) return false;
            code = (code << 6) | (text[i + k] & 0x3fu);
        }
        if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
        i += extra + 1;
    }
    return true;
}

} // namespace

// Strict DER (X.690 section 10), not the BER that d2i_ASN1_UTF8STRING accepts: the primitive tag
// 0x0c, the length in its shortest form (short form below 128, no leading zero octet, never
// indefinite), and the string ending exactly where the value ends.
std::optional<std::string> decodeRole(const unsigned char* der, long size) {
    if (!der || size < 2 || der[0] != kUtf8StringTag) return std::nullopt;
    const auto total = static_cast<std::size_t>(size);
    std::size_t length = 0, header = 2;
    if (der[1] < 0x80) {
        length = der[1];
    } else if (der[1] == 0x81) { // one length octet: only for 128..255
        if (total < 3 || der[2] < 0x80) return std::nullopt;
        length = der[2];
        header = 3;
    } else if (der[1] == 0x82) { // two: only for 256..65535
        if (total < 4 || der[2] == 0) return std::nullopt;
        length = (std::size_t{der[2]} << 8) | der[3];
        header = 4;
    } else { // indefinite (0x80), or longer than any role has a reason to be
        return std::nullopt;
    }
    if (length == 0 || header + length != total) return std::nullopt;
    const unsigned char* text = der + header;
    if (!validUtf8(text, length)) return std::nullopt;
    std::string value(reinterpret_cast<const char*>(text), length);
    // A role with a NUL in it names no configured role.
    if (value.find('\0') != std::string::npos) return std::nullopt;
    return value;
}

} // namespace vmd::modbus
