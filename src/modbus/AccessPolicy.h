#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmd::modbus {

/// Registers FIRST..LAST (inclusive) that a role may write.
struct WriteRange {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    friend bool operator==(const WriteRange&, const WriteRange&) = default;
};

/// "2700-2722" or "2700"; nullopt when it is neither (or LAST < FIRST).
[[nodiscard]] std::optional<WriteRange> parseWriteRange(std::string_view text);

/// What one connection may do, handed to the RequestHandler with every request (DESIGN section 3).
/// The daemon-wide read-only switch (--read-only, the GX write switch) stays in the handler and
/// applies on top of this.
struct AccessPolicy {
    /// A TLS role's permission: writes outside it answer exception 1 (Illegal Function), as
    /// Modbus/TCP Security prescribes for an unauthorised request. Plain connections: All.
    enum class Writes : std::uint8_t { All, None, Ranges };
    Writes writes = Writes::All;
    std::vector<WriteRange> ranges; ///< for Writes::Ranges
    /// --write-allow: a write from an address outside it answers exception 2, as before roles.
    bool addressMayWrite = true;

    /// Whether the role may write `quantity` registers from `address` (every word inside one range).
    [[nodiscard]] bool roleMayWrite(std::uint16_t address, std::uint16_t quantity) const;
    [[nodiscard]] std::string describe() const; ///< "read", "write" or "write 2700-2722 37-41"

    static AccessPolicy readOnly() { return {Writes::None, {}, true}; }
    static AccessPolicy writeRanges(std::vector<WriteRange> ranges) {
        return {Writes::Ranges, std::move(ranges), true};
    }
};

} // namespace vmd::modbus
