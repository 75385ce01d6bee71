#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vmd::regmap {

/// A slot path of the map: one path segment `#N` (N = 1, 2, ...) stands for an identifier the
/// service chooses itself. `/SwitchableOutput/#2/State` is `/SwitchableOutput/<id>/State` where
/// <id> is the 2nd of the identifiers the service publishes under `/SwitchableOutput/`, in natural
/// order (see naturalLess). The slot path with nothing after the slot (`/SwitchableOutput/#2`)
/// stands for the identifier itself, as text.
struct SlotPath {
    std::string family; ///< everything before the slot segment, with its trailing slash
    unsigned slot = 0;  ///< N, from 1
    std::string rest;   ///< everything after the slot segment, with its leading slash; may be empty
};

/// The slot path `path` describes, or nullopt when it has no `#N` segment (or a malformed one:
/// `#`, `#0`, `#x`, two slot segments).
[[nodiscard]] std::optional<SlotPath> parseSlotPath(std::string_view path);

/// `path` with its slot number dropped (`/SwitchableOutput/#2/State` -> `/SwitchableOutput/#/State`),
/// as the path list names slot paths; any other path unchanged.
[[nodiscard]] std::string slotPattern(std::string_view path);

/// The order of identifiers within a family: runs of digits compare as numbers, everything else
/// byte by byte (`pwm_1` < `relay_1` < `relay_2` < `relay_10`). A total order: identifiers that
/// differ only in leading zeros are ordered by their text.
[[nodiscard]] bool naturalLess(std::string_view a, std::string_view b);

} // namespace vmd::regmap
