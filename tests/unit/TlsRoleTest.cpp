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
