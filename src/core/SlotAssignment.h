#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmd::core {

/// Which output identifier holds which output slot (regmap/Slots.h), per owner and slot family. The
/// owner is a service's identity that outlives a restart of it: its type and device instance
/// ("switch:1"), or its bus name when it has no instance. An identifier keeps its slot once it has
/// one, whether or not its service publishes it now; a new identifier takes the lowest slot that no
/// identifier holds. So a slot never changes its output: a PLC writing slot 2 reaches the same relay
/// or nothing. Pure: the daemon keeps it in a state file (app/SlotStateFile).
class SlotAssignment {
  public:
    /// Slots per owner and family at most: an identifier beyond them gets none (and reads nowhere), so
    /// that a service inventing identifiers cannot grow the state without bound.
    static constexpr unsigned kMaxSlots = 256;

    /// The slot of `id`, given now (the lowest free one) if it had none; 0 when every slot is held.
    unsigned assign(const std::string& owner, const std::string& family, const std::string& id);
    /// The slot of `id`, 0 if it has none.
    [[nodiscard]] unsigned slotOf(const std::string& owner, const std::string& family,
                                  const std::string& id) const;
    /// The identifier holding `slot`, nullptr if none does.
    [[nodiscard]] const std::string* idAt(const std::string& owner, const std::string& family,
                                          unsigned slot) const;
    /// Slot -> identifier of one owner and family, in slot order; empty if it has none.
    [[nodiscard]] const std::map<unsigned, std::string>& slots(const std::string& owner,
                                                               const std::string& family) const;
    [[nodiscard]] bool empty() const { return tables_.empty(); }
    /// How many owners hold slots.
    [[nodiscard]] std::size_t owners() const { return tables_.size(); }
    /// Counts the changes: a caller that keeps the assignment compares it with the one it saved.
    [[nodiscard]] std::uint64_t generation() const { return generation_; }
    /// Called after every change (a new slot given), to have it saved.
    std::function<void()> onChange;

    /// The text of the state file: a comment line, then one line per slot,
    /// `OWNER FAMILY SLOT IDENTIFIER`, each field with bytes below '!', '%' and 0x7F as %XX.
    [[nodiscard]] std::string toText() const;
    /// A state file read back; `problems` are "LINE: message" of the lines left out.
    struct Parsed;
    /// Reads `toText()`'s format. A line that does not parse, or that gives a slot or an identifier
    /// held by an earlier line, is left out and named in `problems`; every other line is kept.
    [[nodiscard]] static Parsed fromText(std::string_view text);

  private:
    struct Table {
        std::map<unsigned, std::string> bySlot;
        std::map<std::string, unsigned> byId;
    };
    /// Records `id` in `slot`; false when either is taken.
    bool put(const std::string& owner, const std::string& family, unsigned slot, const std::string& id);
    /// The table of an owner and family, nullptr if it has none (looked up without copying the keys:
    /// a value change of an output asks for its slot).
    [[nodiscard]] const Table* table(const std::string& owner, const std::string& family) const;

    std::map<std::string, std::map<std::string, Table>> tables_; ///< owner -> family -> table
    std::uint64_t generation_ = 0;
};

struct SlotAssignment::Parsed {
    SlotAssignment assignment;
    std::vector<std::string> problems;
};

} // namespace vmd::core
