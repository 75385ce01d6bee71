#include "core/Cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace vmd::core {

namespace {
std::array<std::uint8_t, 16> mapped(const in_addr& v4) {
    std::array<std::uint8_t, 16> b{};
    b[10] = b[11] = 0xFF;
    std::memcpy(&b[12], &v4, 4);
    return b;
}
} // namespace

std::optional<Cidr> Cidr::parse(const std::string& text) {
    Cidr cidr;
    cidr.text_ = text;
    auto slash = text.find('/');
    std::string host = text.substr(0, slash);
    in_addr v4{};
    in6_addr v6{};
    unsigned maxPrefix;
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        cidr.bytes_ = mapped(v4);
        maxPrefix = 32;
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        std::memcpy(cidr.bytes_.data(), &v6, 16);
        maxPrefix = 128;
    } else {
        return std::nullopt;
    }
    unsigned prefix = maxPrefix;
    if (slash != std::string::npos) {
        auto digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3 ||
            digits.find_first_not_of("0123456789") != std::string::npos)
            return std::nullopt;
        prefix = static_cast<unsigned>(std::stoul(digits));
        if (prefix > maxPrefix) return std::nullopt;
    }
    cidr.prefix_ = prefix + (128 - maxPrefix);
    return cidr;
}

bool Cidr::contains(const sockaddr* address) const {
    std::array<std::uint8_t, 16> peer{};
    if (address->sa_family == AF_INET)
        peer = mapped(reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
    else if (address->sa_family == AF_INET6)
        std::memcpy(peer.data(), &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, 16);
    else
        return false;
    for (unsigned bit = 0; bit < prefix_; ++bit) {
        auto mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
        if ((peer[bit / 8] & mask) != (bytes_[bit / 8] & mask)) return false;
    }
    return true;
}

} // namespace vmd::core
