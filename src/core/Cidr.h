#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

struct sockaddr;

namespace vmd::core {

/// An IPv4 or IPv6 network such as 192.168.1.0/24 or fd00::/8 (a plain address is a /32 or /128).
/// IPv4 networks also match IPv4-mapped IPv6 peers (::ffff:a.b.c.d).
class Cidr {
  public:
    [[nodiscard]] static std::optional<Cidr> parse(const std::string& text);
    [[nodiscard]] bool contains(const sockaddr* address) const;
    [[nodiscard]] const std::string& text() const { return text_; }

  private:
    std::array<std::uint8_t, 16> bytes_{}; ///< IPv4 kept as IPv4-mapped IPv6
    unsigned prefix_ = 0;                  ///< in IPv6 bits
    std::string text_;
};

} // namespace vmd::core
