#include "core/SlotAssignment.h"

#include <charconv>

namespace vmd::core {

namespace {

constexpr std::string_view kHeader = "# venus-modbusd output slots: OWNER FAMILY SLOT IDENTIFIER";

std::string encode(std::string_view field) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : field) {
        auto b = static_cast<unsigned char>(c);
        if (b <= ' ' || b == '%' || b == 0x7F) {
            out += '%';
            out += kHex[b >> 4];
            out += kHex[b & 0xF];
        } else {
            out += c;
        }
    }
    return out;
}

int hexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/// The field decoded; false when a '%' is not followed by two hex digits.
bool decode(std::string_view field, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '%') {
            out += field[i];
            continue;
        }
        if (i + 2 >= field.size()) return false;
        int hi = hexDigit(field[i + 1]), lo = hexDigit(field[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return true;
}

std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        auto start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t')
            ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

const std::map<unsigned, std::string>& noSlots() {
    static const std::map<unsigned, std::string> none;
    return none;
}

} // namespace

const SlotAssignment::Table* SlotAssignment::table(const std::string& owner,
                                                   const std::string& family) const {
    auto o = tables_.find(owner);
    if (o == tables_.end()) return nullptr;
    auto f = o->second.find(family);
    return f == o->second.end() ? nullptr : &f->second;
}

bool SlotAssignment::put(const std::string& owner, const std::string& family, unsigned slot,
                         const std::string& id) {
    if (auto t = table(owner, family); t && (t->bySlot.count(slot) || t->byId.count(id))) return false;
    auto& t = tables_[owner][family];
    t.bySlot.emplace(slot, id);
    t.byId.emplace(id, slot);
    return true;
}

unsigned SlotAssignment::assign(const std::string& owner, const std::string& family, const std::string& id) {
    const Table* t = table(owner, family);
    if (t)
        if (auto it = t->byId.find(id); it != t->byId.end()) return it->second;
    unsigned slot = 1;
    if (t)
        for (const auto& [taken, holder] : t->bySlot) { // in order: the first gap is the lowest free
            if (taken != slot) break;
            ++slot;
        }
    if (slot > kMaxSlots) return 0;
    put(owner, family, slot, id);
    ++generation_;
    if (onChange) onChange();
    return slot;
}

unsigned SlotAssignment::slotOf(const std::string& owner, const std::string& family,
                                const std::string& id) const {
    const Table* t = table(owner, family);
    if (!t) return 0;
    auto it = t->byId.find(id);
    return it == t->byId.end() ? 0 : it->second;
}

const std::string* SlotAssignment::idAt(const std::string& owner, const std::string& family,
                                        unsigned slot) const {
    const Table* t = table(owner, family);
    if (!t) return nullptr;
    auto it = t->bySlot.find(slot);
    return it == t->bySlot.end() ? nullptr : &it->second;
}

const std::map<unsigned, std::string>& SlotAssignment::slots(const std::string& owner,
                                                             const std::string& family) const {
    const Table* t = table(owner, family);
    return t ? t->bySlot : noSlots();
}

std::string SlotAssignment::toText() const {
    std::string text(kHeader);
    text += '\n';
    for (const auto& [owner, families] : tables_)
        for (const auto& [family, t] : families)
            for (const auto& [slot, id] : t.bySlot) {
                text += encode(owner);
                text += ' ';
                text += encode(family);
                text += ' ';
                text += std::to_string(slot);
                text += ' ';
                text += encode(id);
                text += '\n';
            }
    return text;
}

SlotAssignment::Parsed SlotAssignment::fromText(std::string_view text) {
    Parsed parsed;
    std::size_t lineNo = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        auto line = text.substr(start, end - start);
        start = end + 1;
        ++lineNo;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto f = fields(line);
        if (f.empty() || f[0][0] == '#') continue;
        auto problem = [&](const std::string& message) {
            parsed.problems.push_back(std::to_string(lineNo) + ": " + message);
        };
        if (f.size() != 4) {
            problem("expected OWNER FAMILY SLOT IDENTIFIER, found " + std::to_string(f.size()) + " fields");
            continue;
        }
        std::string owner, family, id;
        if (!decode(f[0], owner) || !decode(f[1], family) || !decode(f[3], id)) {
            problem("a '%' not followed by two hex digits");
            continue;
        }
        unsigned slot = 0;
        auto [ptr, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), slot);
        if (ec != std::errc() || ptr != f[2].data() + f[2].size() || slot < 1 || slot > kMaxSlots) {
            problem("slot '" + std::string(f[2]) + "' is not a number in 1.." + std::to_string(kMaxSlots));
            continue;
        }
        if (!parsed.assignment.put(owner, family, slot, id))
            problem("slot " + std::to_string(slot) + " or identifier '" + id + "' of " + owner + " " +
                    family + " is given by an earlier line");
    }
    return parsed;
}

} // namespace vmd::core
