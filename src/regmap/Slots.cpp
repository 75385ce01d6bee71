#include "regmap/Slots.h"

#include <cctype>

namespace vmd::regmap {

namespace {

bool isDigit(char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

/// The slot number of a segment `#N`, or 0 when the segment is not one.
unsigned slotNumber(std::string_view segment) {
    if (segment.size() < 2 || segment.size() > 6 || segment[0] != '#') return 0;
    unsigned n = 0;
    for (char c : segment.substr(1)) {
        if (!isDigit(c)) return 0;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    return n;
}

} // namespace

std::optional<SlotPath> parseSlotPath(std::string_view path) {
    std::optional<SlotPath> found;
    std::size_t start = 0;
    while (start < path.size()) {
        auto slash = path.find('/', start);
        auto end = slash == std::string_view::npos ? path.size() : slash;
        auto segment = path.substr(start, end - start);
        if (!segment.empty() && segment[0] == '#') {
            auto n = slotNumber(segment);
            if (n == 0 || found) return std::nullopt;
            found = SlotPath{std::string(path.substr(0, start)), n, std::string(path.substr(end))};
        }
        start = end + 1;
    }
    if (found && (found->family.empty() || found->family.back() != '/')) return std::nullopt;
    return found;
}

std::string slotPattern(std::string_view path) {
    auto slot = parseSlotPath(path);
    if (!slot) return std::string(path);
    return slot->family + "#" + slot->rest;
}

bool naturalLess(std::string_view a, std::string_view b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (isDigit(a[i]) && isDigit(b[j])) {
            auto i0 = i, j0 = j;
            while (i < a.size() && a[i] == '0')
                ++i;
            while (j < b.size() && b[j] == '0')
                ++j;
            auto si = i, sj = j;
            while (i < a.size() && isDigit(a[i]))
                ++i;
            while (j < b.size() && isDigit(b[j]))
                ++j;
            auto x = a.substr(si, i - si), y = b.substr(sj, j - sj);
            if (x.size() != y.size()) return x.size() < y.size();
            if (x != y) return x < y;
            if (i - i0 != j - j0) return i - i0 < j - j0; // equal numbers, fewer leading zeros first
            continue;
        }
        if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
        ++i;
        ++j;
    }
    return a.size() - i < b.size() - j;
}

} // namespace vmd::regmap
