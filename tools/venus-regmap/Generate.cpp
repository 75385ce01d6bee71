#include "Generate.h"

#include "Text.h"

#include "regmap/Slots.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

namespace vmd::regmaptool {

unsigned typeWords(const std::string& type) {
    static const std::map<std::string, unsigned> fixed = {
        {"int16", 1}, {"uint16", 1}, {"int32", 2}, {"uint32", 2}, {"uint64", 4}};
    if (auto it = fixed.find(type); it != fixed.end()) return it->second;
    for (std::string_view prefix : {"string[", "reserved["}) {
        if (type.size() > prefix.size() + 1 && type.compare(0, prefix.size(), prefix) == 0 &&
            type.back() == ']') {
            unsigned n = 0;
            const char* first = type.data() + prefix.size();
            const char* last = type.data() + type.size() - 1;
            auto [ptr, ec] = std::from_chars(first, last, n);
            if (ec == std::errc() && ptr == last) return n;
        }
    }
    return 0;
}

namespace {

bool isString(const std::string& type) {
    return type.rfind("string[", 0) == 0;
}
bool isReserved(const std::string& type) {
    return type.rfind("reserved[", 0) == 0;
}

/// Marks a meaning that only the path list gives.
constexpr const char* kAddedMark = "(path list)";

/// Text compared without case, spaces and punctuation: "Low power/ECO" and "Low Power/Eco" agree.
std::string folded(const std::string& text) {
    std::string out;
    for (char ch : text)
        if (auto c = static_cast<unsigned char>(ch); std::isalnum(c))
            out.push_back(static_cast<char>(std::tolower(c)));
    return out;
}

struct MergedEnum {
    std::vector<regmap::EnumText> texts;
    bool added = false;
    std::string contradictions; ///< "0 = AC output, 1 = AC input": the path list's differing meanings
};

/// The published meanings, plus the path list's values the published list lacks (marked). Where both
/// give a value different meanings the published one is kept and the other is reported.
MergedEnum mergeEnums(const std::vector<regmap::EnumText>& published,
                      const std::vector<regmap::EnumText>& pathList) {
    MergedEnum m;
    m.texts = published;
    for (const auto& e : pathList) {
        auto same = std::find_if(published.begin(), published.end(),
                                 [&](const auto& p) { return p.value == e.value; });
        if (same == published.end()) {
            m.texts.push_back({e.value, e.text + " " + kAddedMark});
            m.added = true;
        } else if (folded(same->text) != folded(e.text)) {
            m.contradictions +=
                (m.contradictions.empty() ? "" : ", ") + std::to_string(e.value) + " = " + e.text;
        }
    }
    return m;
}

struct Line {
    unsigned address;
    std::string text;
    std::string source;
    unsigned sourceLine;
};

/// Checks one assignment against the path list and renders its line of the map.
Line render(const Assignment& a, const PathList& paths, Diagnostics& problems) {
    auto problem = [&](const std::string& message) { problems.push_back({a.source, a.line, message}); };
    const PathEntry* entry = nullptr;
    if (!paths.service(a.service)) problem("service '" + a.service + "' is not in the path list");
    if (!a.path.empty()) {
        for (const auto& candidate : regmap::expandAlternatives(a.path)) {
            // The path list names a slot path without its number: /SwitchableOutput/#/State.
            const auto* e = paths.find(a.service, regmap::slotPattern(candidate));
            if (!e) {
                problem("path '" + candidate + "' of service '" + a.service + "' is not in the path list");
                continue;
            }
            if (!entry) entry = e;
            if (!e->exclude.empty())
                problem("path '" + candidate + "' is excluded in the path list (" + e->exclude +
                        ") but register " + std::to_string(a.address) + " serves it");
            if (e->kind == "text" && !isString(a.type))
                problem("path '" + candidate + "' holds text but register " + std::to_string(a.address) +
                        " is " + a.type);
            if (e->kind != "text" && isString(a.type))
                problem("path '" + candidate + "' holds a number but register " + std::to_string(a.address) +
                        " is " + a.type);
            if (a.access == "W" && !e->writable)
                problem("register " + std::to_string(a.address) +
                        " is writable but the path list does not mark '" + candidate + "' writable");
        }
    } else if (!isReserved(a.type) && a.compute.empty()) {
        problem("register " + std::to_string(a.address) + " needs 'path' or 'compute'");
    }
    for (const auto& input : a.inputs)
        if (!paths.find(a.service, input))
            problem("input '" + input + "' of service '" + a.service + "' is not in the path list");
    if (!a.compute.empty() && !a.description)
        problem("computed register " + std::to_string(a.address) + " needs a description");

    std::string description = a.description        ? *a.description
                              : entry              ? entry->description
                              : isReserved(a.type) ? "Reserved"
                                                   : "";
    if (auto slot = regmap::parseSlotPath(a.path); slot && !a.description && entry)
        description = "Output slot " + std::to_string(slot->slot) + ": " + description;
    std::string unit = a.unit ? *a.unit : entry ? entry->unit : "";
    std::vector<regmap::EnumText> enumTexts = a.enumTexts ? *a.enumTexts
                                              : entry     ? entry->enumTexts
                                                          : std::vector<regmap::EnumText>{};
    std::string remarks = a.remarks;
    auto addRemark = [&](const std::string& text) { remarks += (remarks.empty() ? "" : "; ") + text; };
    if (entry && entry->bitmask && !a.enumTexts) addRemark("bit mask: the enum values are bits");
    if (a.publishedEnum) {
        auto merged = mergeEnums(*a.publishedEnum, enumTexts);
        enumTexts = std::move(merged.texts);
        if (merged.added)
            addRemark(std::string(kAddedMark) +
                      ": a value the Venus OS path list adds, not in the published list");
        if (!merged.contradictions.empty())
            addRemark("the published list and the Venus OS path list disagree, the published meaning is "
                      "given (path list: " +
                      merged.contradictions + ")");
        if (a.range)
            for (const auto& e : *a.publishedEnum)
                if (static_cast<double>(e.value) < a.range->min ||
                    static_cast<double>(e.value) > a.range->max)
                    problem("register " + std::to_string(a.address) + ": range [" +
                            formatNumber(a.range->min) + ", " + formatNumber(a.range->max) + "] refuses " +
                            std::to_string(e.value) + ", which the published list documents");
    }
    std::stable_sort(enumTexts.begin(), enumTexts.end(),
                     [](const auto& x, const auto& y) { return x.value < y.value; });
    if (!a.checked.empty()) {
        if (a.unverified()) {
            auto why = a.checked.substr(std::string_view("unverified").size());
            while (!why.empty() && (why.front() == ':' || why.front() == ' '))
                why.erase(0, 1);
            addRemark("D-Bus type and range unverified against a device" +
                      (why.empty() ? "" : " (" + why + ")"));
        } else {
            addRemark("D-Bus type and range from " + a.checked);
        }
    }

    std::string t = "  - {address: " + std::to_string(a.address) + ", service: " + a.service;
    if (!a.path.empty()) t += ", path: " + yamlQuote(a.path);
    t += ", type: " + yamlQuote(a.type);
    if (!isReserved(a.type)) t += ", scale: " + formatNumber(a.scale.value_or(1.0));
    if (!a.dbusType.empty()) t += ", dbus-type: " + a.dbusType;
    t += ", access: " + a.access;
    if (!a.compute.empty()) {
        t += ", compute: " + a.compute;
        if (!a.inputs.empty()) {
            t += ", inputs: [";
            for (std::size_t i = 0; i < a.inputs.size(); ++i)
                t += (i ? ", " : "") + yamlQuote(a.inputs[i]);
            t += "]";
        }
        if (a.value) t += ", value: " + formatNumber(*a.value);
    }
    if (a.range) t += ", range: [" + formatNumber(a.range->min) + ", " + formatNumber(a.range->max) + "]";
    if (!unit.empty()) t += ", unit: " + yamlQuote(unit);
    if (!enumTexts.empty()) {
        t += ", enum: {";
        for (std::size_t i = 0; i < enumTexts.size(); ++i)
            t += (i ? ", " : "") + std::to_string(enumTexts[i].value) + ": " + yamlQuote(enumTexts[i].text);
        t += "}";
    }
    if (!description.empty()) t += ", description: " + yamlQuote(description);
    if (!remarks.empty()) t += ", remarks: " + yamlQuote(remarks);
    t += "}\n";
    return {a.address, t, a.source, a.line};
}

void checkBlocks(const Sources& sources, Diagnostics& problems) {
    std::vector<const Block*> order;
    std::map<std::string, const Block*> byService;
    for (const auto& b : sources.blocks) {
        order.push_back(&b);
        if (!sources.paths.service(b.service))
            problems.push_back(
                {b.source, b.line, "block of service '" + b.service + "' not in the path list"});
        if (b.first < kExtensionStart || b.last > 65535 || b.first > b.last)
            problems.push_back({b.source, b.line,
                                "block " + std::to_string(b.first) + ".." + std::to_string(b.last) +
                                    " must lie within " + std::to_string(kExtensionStart) + "..65535"});
        if (!byService.emplace(b.service, &b).second)
            problems.push_back({b.source, b.line, "service '" + b.service + "' has a second block"});
    }
    std::sort(order.begin(), order.end(), [](const Block* x, const Block* y) { return x->first < y->first; });
    for (std::size_t i = 1; i < order.size(); ++i)
        if (order[i]->first <= order[i - 1]->last)
            problems.push_back({order[i]->source, order[i]->line,
                                "block of '" + order[i]->service + "' overlaps the block of '" +
                                    order[i - 1]->service + "'"});
    for (const auto& a : sources.extensions) {
        auto it = byService.find(a.service);
        unsigned words = std::max(1u, typeWords(a.type));
        if (it == byService.end())
            problems.push_back(
                {a.source, a.line, "service '" + a.service + "' has no block for its registers"});
        else if (a.address < it->second->first || a.address + words - 1 > it->second->last)
            problems.push_back({a.source, a.line,
                                "register " + std::to_string(a.address) + " lies outside the " + a.service +
                                    " block " + std::to_string(it->second->first) + ".." +
                                    std::to_string(it->second->last)});
    }
    for (const auto& a : sources.extensions)
        if (a.access == "W" && !isReserved(a.type) && a.checked.empty())
            problems.push_back({a.source, a.line,
                                "writable register " + std::to_string(a.address) +
                                    " needs 'checked': the software its D-Bus type and range were taken "
                                    "from, or 'unverified'"});
    for (const auto& a : sources.server)
        if (a.address < kDiscoveryFirst || a.address + std::max(1u, typeWords(a.type)) > kExtensionStart)
            problems.push_back({a.source, a.line,
                                "the server's register " + std::to_string(a.address) + " lies outside " +
                                    std::to_string(kDiscoveryFirst) + ".." +
                                    std::to_string(kExtensionStart - 1)});
    for (const auto& a : sources.published)
        if (a.address + std::max(1u, typeWords(a.type)) > kDiscoveryFirst)
            problems.push_back({a.source, a.line,
                                "published register " + std::to_string(a.address) + " lies at or above " +
                                    std::to_string(kDiscoveryFirst)});
}

} // namespace

std::string generateMap(const Sources& sources, Diagnostics& problems) {
    checkBlocks(sources, problems);
    std::vector<Line> lines;
    for (const auto* list : {&sources.published, &sources.extensions, &sources.server})
        for (const auto& a : *list)
            lines.push_back(render(a, sources.paths, problems));
    std::stable_sort(lines.begin(), lines.end(),
                     [](const Line& x, const Line& y) { return x.address < y.address; });

    std::string out =
        "# GENERATED by `venus-regmap generate` from register-maps/src/: addresses, types, scales and "
        "access\n"
        "# from published.yaml, extensions.yaml and server.yaml, descriptions, units and enum texts from "
        "paths.yaml, the\n"
        "# unit table from unit-ids.yaml. Do not edit: change the sources, then run\n"
        "#   build/venus-regmap generate\n"
        "# (docs/registers.md describes the layout; registers 40000 and up are venus-modbusd's own).\n";
    std::vector<std::pair<std::string, unsigned>> origin; // output line -> source line
    auto countLines = [&](const std::string& text, const std::string& src, unsigned line) {
        for (char c : text)
            if (c == '\n') origin.emplace_back(src, line);
    };
    countLines(out, "<header>", 0);
    out += "unit-ids:\n";
    origin.emplace_back("<header>", 0);
    for (const auto& u : sources.units) {
        std::string t = "  - {unit: " + std::to_string(u.unit) + ", instance: " + std::to_string(u.instance);
        if (!u.remark.empty()) t += ", remark: " + yamlQuote(u.remark);
        t += "}\n";
        out += t;
        origin.emplace_back(u.source, u.line);
    }
    out += "registers:\n";
    origin.emplace_back("<header>", 0);
    for (const auto& l : lines) {
        out += l.text;
        origin.emplace_back(l.source, l.sourceLine);
    }

    // The result must load; loader problems are reported at the source line they come from.
    regmap::MapLoader loader;
    loader.add(out, "<generated>");
    try {
        (void)loader.build();
    } catch (const regmap::MapError& e) {
        for (const auto& d : e.diagnostics()) {
            if (d.line >= 1 && d.line <= origin.size() && origin[d.line - 1].second != 0)
                problems.push_back({origin[d.line - 1].first, origin[d.line - 1].second, d.message});
            else
                problems.push_back({"register-maps/victron.yaml (generated)", d.line, d.message});
        }
    }
    return out;
}

} // namespace vmd::regmaptool
