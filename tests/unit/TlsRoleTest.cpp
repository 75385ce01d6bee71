#include "modbus/Tls.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace vmd::modbus;

namespace {

std::optional<std::string> decode(const std::vector<unsigned char>& der) {
    return decodeRole(der.data(), static_cast<long>(der.size()));
}

} // namespace

// The role extension's value as the specification defines it: one ASN.1 UTF8String (tag 0x0c).
TEST_CASE("a role extension value is one UTF8String", "[tls]") {
    CHECK(decode({0x0c, 0x03, 'e', 's', 's'}) == "ess");
    CHECK(decode({0x0c, 0x06, 'v', 'i', 'e', 'w', 'e', 'r'}) == "viewer");
    std::vector<unsigned char> longRole{0x0c, 0x81, 200}; // long-form length
    longRole.insert(longRole.end(), 200, 'a');
    CHECK(decode(longRole) == std::string(200, 'a'));
}

TEST_CASE("a role extension value that is not exactly one non-empty UTF8String gives no role", "[tls]") {
    CHECK_FALSE(decode({}));
    CHECK_FALSE(decode({0x13, 0x03, 'e', 's', 's'}));             // a PrintableString
    CHECK_FALSE(decode({0x0c, 0x04, 'e', 's', 's'}));             // length past the end
    CHECK_FALSE(decode({0x0c, 0x03, 'e', 's', 's', 0x00}));       // bytes after it
    CHECK_FALSE(decode({0x0c, 0x00}));                            // empty
    CHECK_FALSE(decode({0x0c, 0x04, 'e', 's', 0x00, 's'}));       // a NUL inside
    CHECK_FALSE(decode({0x30, 0x05, 0x0c, 0x03, 'e', 's', 's'})); // wrapped in a SEQUENCE
    CHECK_FALSE(decodeRole(nullptr, 5));
}

// DER, not BER (X.690 section 10): one encoding per value, so a certificate cannot carry a role in
// a form some other parser reads differently.
TEST_CASE("a role extension value in BER that DER does not allow gives no role", "[tls]") {
    CHECK_FALSE(decode({0x0c, 0x81, 0x03, 'e', 's', 's'}));       // long form for a length below 128
    CHECK_FALSE(decode({0x0c, 0x82, 0x00, 0x03, 'e', 's', 's'})); // two length octets, leading zero
    std::vector<unsigned char> padded{0x0c, 0x82, 0x00, 200};     // 200 needs one octet, not two
    padded.insert(padded.end(), 200, 'a');
    CHECK_FALSE(decode(padded));
    CHECK_FALSE(decode({0x0c, 0x80, 'e', 's', 's', 0x00, 0x00}));                // indefinite length
    CHECK_FALSE(decode({0x2c, 0x05, 0x0c, 0x03, 'e', 's', 's'}));                // constructed UTF8String
    CHECK_FALSE(decode({0x0c, 0x84, 0x00, 0x00, 0x00, 0x03, 'e', 's', 's'}));    // four length octets
    CHECK_FALSE(decode({0x0c, 0x03, 'e', 's', 's', 0x0c, 0x03, 'e', 's', 's'})); // a second string after it
}

TEST_CASE("a role extension value that is not well-formed UTF-8 gives no role", "[tls]") {
    CHECK(decode({0x0c, 0x04, 'c', 0xc3, 0xa9, 'e'}) == std::string("c\xc3\xa9") + "e"); // U+00E9, two octets
    CHECK_FALSE(decode({0x0c, 0x03, 'e', 0xff, 's'}));                                   // not UTF-8 at all
    CHECK_FALSE(decode({0x0c, 0x03, 'e', 's', 0xc3}));             // a sequence cut short
    CHECK_FALSE(decode({0x0c, 0x04, 'e', 0xc0, 0xaf, 's'}));       // overlong "/"
    CHECK_FALSE(decode({0x0c, 0x05, 'e', 0xed, 0xa0, 0x80, 's'})); // a UTF-16 surrogate
}
