#include "Export.h"

#include "core/ServiceIndex.h"
#include "regmap/Slots.h"

#include "Generate.h"
#include "Text.h"

#include <xlsxwriter.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <tuple>

namespace vmd::regmaptool {

namespace {

/// What the documents show of one register.
struct Row {
    std::string service;
    std::string path; ///< alternatives joined with '|'
    unsigned address;
    std::string type;
    std::string scale;
    std::string unitOrEnum;
    bool writable;
    std::string range;
    std::string description;
    std::string remarks;
};

std::string computeRemark(const regmap::RegisterMap& map, const regmap::Register& reg) {
    auto inputs = [&] {
        std::string text;
        for (auto id : reg.inputs)
            text += (text.empty() ? "" : ", ") + map.paths()[id];
        return text;
    };
    switch (reg.compute) {
    case regmap::Compute::Quotient:
        return "computed: " + map.paths()[reg.inputs.at(0)] + " divided by " + map.paths()[reg.inputs.at(1)];
    case regmap::Compute::UtcTime:
        return "computed: the server's clock (UTC, seconds since 1970)";
    case regmap::Compute::FirmwareVersion:
        return "computed from " + inputs() + ": high word v>>8, low word v&0xFF";
    case regmap::Compute::AnyText:
        return "computed: " + formatNumber(reg.computeValue) + " when any of " + inputs() +
               " holds text, else 0";
    case regmap::Compute::Discovery:
        return "computed: the discovery block (see \"Discovery block\")";
    case regmap::Compute::ServerVersion:
        return std::string("computed: the ") +
               (reg.computeValue == 0   ? "major"
                : reg.computeValue == 1 ? "minor"
                                        : "patch") +
               " number of venus-modbusd's version (`venus-modbusd --version`)";
    case regmap::Compute::MapIdentity:
        return "computed: FNV-1a (32 bits) of the map file and its overlays as loaded; changes whenever the "
               "map "
               "changes";
    case regmap::Compute::None:
        break;
    }
    return "";
}

Row rowOf(const regmap::RegisterMap& map, const regmap::Register& reg) {
    Row row;
    row.service = map.serviceTypes()[reg.service];
    for (auto id : reg.paths)
        row.path += (row.path.empty() ? "" : "|") + map.paths()[id];
    row.address = reg.address;
    row.type = typeName(reg);
    row.scale = reg.type == regmap::ModbusType::Reserved ? "" : formatNumber(reg.scale);
    row.unitOrEnum = reg.enumTexts.empty() ? reg.unit : enumText(reg.enumTexts);
    if (!reg.enumTexts.empty() && !reg.unit.empty()) row.unitOrEnum = reg.unit + "; " + row.unitOrEnum;
    row.writable = reg.writable();
    if (reg.range) row.range = formatNumber(reg.range->min) + ".." + formatNumber(reg.range->max);
    row.description = reg.description;
    row.remarks = reg.remarks;
    auto computed = computeRemark(map, reg);
    if (!computed.empty()) row.remarks = row.remarks.empty() ? computed : computed + "; " + row.remarks;
    return row;
}

std::vector<Row> rowsOf(const regmap::RegisterMap& map) {
    std::vector<Row> rows;
    for (const auto& reg : map.registers())
        rows.push_back(rowOf(map, reg));
    return rows;
}

/// Service types in the order of the path list, then any others the map holds.
std::vector<std::string> serviceOrder(const regmap::RegisterMap& map, const Sources& sources) {
    std::vector<std::string> order;
    for (const auto& s : sources.paths.services())
        if (map.serviceTypeId(s.type)) order.push_back(s.type);
    for (const auto& s : map.serviceTypes())
        if (std::find(order.begin(), order.end(), s) == order.end()) order.push_back(s);
    return order;
}

unsigned totalWords(const regmap::RegisterMap& map) {
    unsigned words = 0;
    for (const auto& reg : map.registers())
        words += reg.words;
    return words;
}

struct Repeat {
    std::string prefix;
    unsigned count;
    unsigned stride;
    unsigned first;
    bool slots = false; ///< output slots (`/Prefix/#k/...`, k from 1) rather than D-Bus indexes
};

/// Repeated structures in our blocks: /Prefix/N/... with a fixed distance between instances.
std::map<std::string, std::vector<Repeat>> repeatsOf(const regmap::RegisterMap& map) {
    static const std::regex pattern(R"(^(/[A-Za-z]+/)([0-9]+|[A-H]|#[0-9]+)(/.+)$)");
    struct Member {
        unsigned index;
        unsigned address;
    };
    std::map<std::tuple<std::string, std::string, std::string>, std::vector<Member>> groups;
    for (const auto& reg : map.registers()) {
        if (reg.address < kExtensionStart || reg.paths.empty()) continue;
        std::smatch m;
        auto path = map.paths()[reg.paths.front()];
        if (auto slot = regmap::parseSlotPath(path); slot && slot->rest.empty())
            path += "/(id)"; // the slot's identifier register belongs to the structure too
        if (!std::regex_match(path, m, pattern)) continue;
        auto idx = m[2].str();
        bool slot = idx[0] == '#';
        unsigned index = slot ? static_cast<unsigned>(std::stoul(idx.substr(1))) - 1
                         : std::isdigit(static_cast<unsigned char>(idx[0]))
                             ? static_cast<unsigned>(std::stoul(idx))
                             : static_cast<unsigned>(idx[0] - 'A');
        groups[{map.serviceTypes()[reg.service], m[1].str() + (slot ? "#" : ""), m[3].str()}].push_back(
            {index, reg.address});
    }
    // A structure counts when at least two of its fields repeat with one stride.
    std::map<std::pair<std::string, std::string>, std::vector<Repeat>> found;
    for (const auto& [key, members] : groups) {
        const auto& [service, prefix, rest] = key;
        if (members.size() < 4) continue;
        unsigned stride = members[1].address - members[0].address;
        bool regular = true;
        for (std::size_t i = 1; i < members.size(); ++i)
            regular = regular && members[i].address - members[i - 1].address == stride &&
                      members[i].index == members[i - 1].index + 1;
        bool slots = !prefix.empty() && prefix.back() == '#';
        if (regular)
            found[{service, prefix}].push_back({slots ? prefix.substr(0, prefix.size() - 1) : prefix,
                                                static_cast<unsigned>(members.size()), stride,
                                                members[0].address, slots});
    }
    std::map<std::string, std::vector<Repeat>> result;
    for (const auto& [key, list] : found) {
        if (list.size() < 2) continue;
        auto first = *std::min_element(list.begin(), list.end(),
                                       [](const Repeat& a, const Repeat& b) { return a.first < b.first; });
        result[key.first].push_back(first);
    }
    return result;
}

} // namespace

std::string registersCsv(const regmap::RegisterMap& map) {
    std::string out = "service,path,address,type,scale,unit,access,range,description\n";
    for (const auto& r : rowsOf(map)) {
        std::string description = r.description;
        if (!r.remarks.empty()) description += description.empty() ? r.remarks : " (" + r.remarks + ")";
        out += csvField(r.service) + ',' + csvField(r.path) + ',' + std::to_string(r.address) + ',' +
               csvField(r.type) + ',' + csvField(r.scale) + ',' + csvField(r.unitOrEnum) + ',' +
               (r.writable ? "W" : "R") + ',' + csvField(r.range) + ',' + csvField(description) + '\n';
    }
    return out;
}

std::string registersMarkdown(const regmap::RegisterMap& map, const Sources& sources) {
    auto rows = rowsOf(map);
    std::string out;
    out += "# Register list\n\n";
    out += "<!-- GENERATED by `venus-regmap export` from register-maps/victron.yaml and register-maps/src/. "
           "Do not edit. -->\n\n";
    unsigned published = 0, ours = 0;
    for (const auto& reg : map.registers())
        (reg.address >= kDiscoveryFirst ? ours : published)++;
    out += "venus-modbusd serves " + std::to_string(map.registers().size()) + " registers (" +
           std::to_string(totalWords(map)) + " words) of " + std::to_string(map.serviceTypes().size()) +
           " service types: " + std::to_string(published) +
           " of the published Victron GX register list, at their "
           "published addresses, and " +
           std::to_string(ours) +
           " of its own from 40000 on. The same list is in `registers.csv` and `registers.xlsx`; "
           "`coverage.md` shows which D-Bus paths are served where.\n\n";
    out +=
        "How the list is made: the sources are in `register-maps/src/` (`paths.yaml`: the D-Bus paths with "
        "their descriptions, units and enum texts; `published.yaml`: the published registers; "
        "`extensions.yaml`: our own blocks and registers; `unit-ids.yaml`: the unit table). After a change, "
        "run `build/venus-regmap generate`, `build/venus-regmap export` and `build/venus-regmap coverage` "
        "and "
        "commit the results; `ctest -R regmap` fails while they are out of date. A new release of Victron's "
        "D-Bus path list is merged with `build/venus-regmap paths import LIST`: it prints what was added, "
        "what "
        "is gone and which descriptions changed, adds the new paths to `paths.yaml` (`coverage` calls them "
        "\"not mapped\" until they get a register or an exclusion reason) and records what the list said in "
        "`path-list.yaml`.\n\n";
    out +=
        "Conventions: register = D-Bus value x scale, computed in double precision and rounded half away "
        "from zero, as a GX device computes it; 32- and 64-bit values high word first; strings two "
        "characters per register, first character in the high byte. A value the "
        "device does not have reads as 0 (or the type's maximum with `--not-available=max`). Writable "
        "registers (W) send the value / scale to D-Bus with the path's D-Bus type; a range, where given, is "
        "in D-Bus units and a write outside it is refused with exception 3. The enum meanings of a "
        "published register are the published list's; values marked \"(path list)\" come from the Venus OS "
        "path list only, and the remarks say where the two lists disagree. A value the published list "
        "documents is never refused.\n\n";

    out += "## Unit IDs\n\n";
    out += "### How a unit ID finds its device\n\n";
    out +=
        "For each register of a request, venus-modbusd looks for a service of the register's service "
        "type:\n\n"
        "1. a service whose `/DeviceInstance` equals the unit ID is used first;\n"
        "2. otherwise the unit table below turns the unit ID into a device instance (unit 100 stands for "
        "instance 0, the VE.Bus and VE.Direct port instances 256 and up are reached through units "
        "204-247, the CAN-bus BMS, instance 512, through unit 225);\n"
        "3. unit 0 also stands for instance 0.\n\n"
        "The GX device's own services, which have no `/DeviceInstance` by nature (system, settings, hub4, "
        "platform, pump, generator), count as instance 0: read them at unit 100 (or 0); a service of another "
        "type without a valid `/DeviceInstance` is not served. One unit can hold registers of several "
        "service "
        "types, and a block read may cross from one to the next. If the service of the register at the start "
        "address is absent at the unit, the reply is exception 10 (gateway path unavailable); if only later "
        "ones are, their words read as not available. When two services of one type share an instance, one "
        "is chosen "
        "deterministically and reported in the diagnostics. Device instances of 256 and up that have no row "
        "cannot be reached.\n\n";
    out += "### Unit table\n\n| unit ID | /DeviceInstance | remark |\n| --- | --- | --- |\n";
    for (const auto& u : map.unitMappings())
        out += "| " + std::to_string(u.unit) + " | " + std::to_string(u.instance) + " | " +
               markdownCell(u.remark) + " |\n";
    out += "\nUnit IDs without a row reach the device whose `/DeviceInstance` equals the unit ID.\n\n";

    out += "## Address plan\n\n";
    out +=
        "| addresses | use |\n| --- | --- |\n"
        "| 0-5819 | the published Victron GX register list: address, type, scale, path and access exactly as "
        "published; its reserved words stay reserved |\n"
        "| 5820-38999 | free: future additions to the published list land here |\n"
        "| 39000-39999 | venus-modbusd's own server blocks: the discovery block 39000-39401 (below), the "
        "server's version 39500-39502 and the map identity 39503-39504 |\n"
        "| 40000-65535 | venus-modbusd's own registers, one block per service type (below) |\n\n";
    out +=
        "Each block of our own registers holds, in this order: for device services an identity header "
        "(`/ProductId`, `/DeviceInstance`, `/Connected`, `/FirmwareVersion`, `/ProductName`, `/Serial`, "
        "`/CustomName`, `/HardwareVersion`), then 32-bit twins of published 16-bit registers whose range is "
        "too small in practice (powers in W, energy totals in kWh), then the paths of the path list that the "
        "published list lacks. New registers are added after the last one of their block; existing ones are "
        "never moved or re-typed.\n\n";
    out += "| service | block | in use | registers |\n| --- | --- | --- | --- |\n";
    for (const auto& b : sources.blocks) {
        unsigned first = 0, last = 0, count = 0;
        for (const auto& reg : map.registers()) {
            if (reg.address < b.first || reg.address > b.last || map.serviceTypes()[reg.service] != b.service)
                continue;
            if (!count) first = reg.address;
            last = static_cast<unsigned>(reg.end() - 1);
            ++count;
        }
        out += "| " + b.service + " | " + std::to_string(b.first) + "-" + std::to_string(b.last) + " | " +
               (count ? std::to_string(first) + "-" + std::to_string(last) : std::string("-")) + " | " +
               std::to_string(count) + " |\n";
    }
    auto repeats = repeatsOf(map);
    if (!repeats.empty()) {
        out +=
            "\nRepeated structures use a fixed stride, so that instance N of a field sits at the address of "
            "instance 0 plus N x stride:\n\n| service | structure | instances | stride (words) | first at |\n"
            "| --- | --- | --- | --- | --- |\n";
        for (const auto& [service, list] : repeats)
            for (const auto& r : list)
                out += "| " + service + " | `" + r.prefix +
                       (r.slots ? "#k/...` (output slot k = 1, 2, ...)" : "N/...`") + " | " +
                       std::to_string(r.count) + " | " + std::to_string(r.stride) + " | " +
                       std::to_string(r.first) + " |\n";
    }
    out +=
        "\n### Output slots\n\n"
        "A path segment `#k` in the map is an output slot: `/SwitchableOutput/#k/State` is "
        "`/SwitchableOutput/<id>/State` for the output identifier that holds slot k of the service. Current GX "
        "software names its outputs with strings (dbus-switch: `relay_N`, `pwm_N`, `output_N` of a GX IO "
        "extender; dbus-shelly: the channel number), so the register map, whose paths are fixed, reaches them "
        "through slots. The identifiers a service publishes when the server first sees it take slots 1, 2, ... "
        "in natural order (runs of digits compare as numbers: `output_1`, `pwm_1`, `pwm_2`, `relay_1`, "
        "`relay_2`, `relay_10`). From then on a slot never changes its output, so that a write never reaches "
        "another output than the one it reached before: an output that appears later takes the lowest free "
        "slot, whatever its name; an identifier keeps its slot across restarts of its service and of the "
        "server (a service is known by its type and device instance, or by its bus name when it has none); "
        "and a slot whose output is gone reads not available and answers a write with exception 2 until the "
        "same identifier returns. A write to a slot that no output ever held answers exception 10 and sends "
        "nothing. The register at the start of each slot (`/SwitchableOutput/#k`) reads the identifier "
        "itself, and the diagnostics service lists the slots of every service (`/Services/N/Slots` of "
        "`com.victronenergy.modbustcp`, e.g. `/SwitchableOutput/ 1=output_1 2=pwm_1 3=(relay_9)`, a gone "
        "output in parentheses).\n\n"
        "The server keeps the slots in the file `output-slots` of its state directory (`--state-dir`, default "
        "`/var/lib/venus-modbusd`, which the systemd unit creates; on a GX device the bundle's own directory), "
        "one line `OWNER FAMILY SLOT IDENTIFIER` per slot, written (to a new file, then renamed over the old "
        "one) whenever an output takes a slot. A missing file is no slots yet. A line that does not parse, or "
        "that gives a slot or identifier an earlier line gave, is logged as `FILE:LINE` and left out, and the "
        "other lines are kept: starting with no slots would renumber every output, which is what the file "
        "prevents, and refusing to start would stop serving the whole site; a line left out costs only its "
        "own output, which takes a free slot when it is seen. Without a state directory (`--state-dir \"\"`, "
        "or one that does not exist, logged) the slots hold while the server runs. A service gets at most 256 "
        "slots per family. To number the outputs afresh, stop the server, delete the file (or the lines of "
        "one service, whose OWNER is `TYPE:INSTANCE` such as `switch:1`, or its bus name) and start it.\n\n"
        "The slots are filled from what a service lists (`GetItems`, or `GetValue` on `/`) and from its "
        "change signals; a very old service that is read path by path shows no outputs.\n";
    out += "\n## Discovery block\n\n";
    out +=
        "At unit 100 (with a `com.victronenergy.system` service on the bus), registers 39000-39401 list "
        "the services on the bus, so a client can find its devices without scanning 247 unit IDs. 39000: "
        "how many services are listed (at most 100); 39001: the layout version (1); then from 39002 one "
        "entry of 4 registers per service, sorted by type code and then device instance: **unit ID** (the "
        "unit that reaches it: 100 for instance 0, the unit table, else the instance itself up to 247; "
        "65535 when no unit does), **service type code** (table below), **device instance** (65535 when "
        "above), **flags** (bit 0: the service answers at that unit ID; 0 when another service of its type "
        "has the same instance). Entries past the count read 65535. Read it with one request of 2 + 4 x N "
        "registers, e.g. `mbpoll -a 100 -r 39000 -c 42 -0 -1 HOST` for the first ten services.\n\n"
        "| code | service type |\n| --- | --- |\n";
    for (std::uint16_t code = 1; code < 0xFFFF; ++code) {
        auto name = core::serviceTypeName(code);
        if (name.empty()) break;
        out += "| " + std::to_string(code) + " | " + name + " |\n";
    }
    out += "\n## Registers by service\n\n";
    for (const auto& service : serviceOrder(map, sources)) {
        const auto* entry = sources.paths.service(service);
        out += "### " + service + "\n\n";
        if (entry && !entry->title.empty()) out += entry->title + " (`com.victronenergy." + service + "`). ";
        if (entry && !entry->units.empty()) out += "Unit IDs: " + entry->units + ".";
        out +=
            "\n\n| address | path | type | scale | access | unit / enum | range | description | remarks |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
        for (const auto& r : rows) {
            if (r.service != service) continue;
            out += "| " + std::to_string(r.address) + " | " + markdownCell(r.path) + " | " + r.type + " | " +
                   r.scale + " | " + (r.writable ? "W" : "R") + " | " + markdownCell(r.unitOrEnum) + " | " +
                   r.range + " | " + markdownCell(r.description) + " | " + markdownCell(r.remarks) + " |\n";
        }
        out += "\n";
    }
    return out;
}

std::string writeRegistersXlsx(const regmap::RegisterMap& map, const std::string& file) {
    lxw_workbook_options options{};
    options.constant_memory = LXW_FALSE;
    lxw_workbook* book = workbook_new_opt(file.c_str(), &options);
    if (!book) return "cannot create " + file;
    // A fixed creation time keeps the file the same from one run to the next.
    lxw_doc_properties properties{};
    std::string title = "venus-modbusd register list";
    std::string author = "venus-modbusd";
    properties.title = title.data();
    properties.author = author.data();
    properties.created = 1767225600; // 2026-01-01T00:00:00Z
    workbook_set_properties(book, &properties);
    lxw_format* header = workbook_add_format(book);
    format_set_bold(header);
    format_set_bg_color(header, 0xD9E1F2);
    format_set_border(header, LXW_BORDER_THIN);

    lxw_worksheet* fields = workbook_add_worksheet(book, "Field list");
    const char* columns[] = {"service", "description", "address",  "type",      "scale factor",
                             "range",   "D-Bus path",  "writable", "unit/enum", "remarks"};
    const double widths[] = {30, 60, 9, 12, 12, 16, 48, 9, 48, 48};
    for (lxw_col_t c = 0; c < 10; ++c) {
        worksheet_write_string(fields, 0, c, columns[c], header);
        worksheet_set_column(fields, c, c, widths[c], nullptr);
    }
    lxw_row_t row = 1;
    for (const auto& r : rowsOf(map)) {
        worksheet_write_string(fields, row, 0, ("com.victronenergy." + r.service).c_str(), nullptr);
        worksheet_write_string(fields, row, 1, r.description.c_str(), nullptr);
        worksheet_write_number(fields, row, 2, r.address, nullptr);
        worksheet_write_string(fields, row, 3, r.type.c_str(), nullptr);
        if (!r.scale.empty()) worksheet_write_number(fields, row, 4, std::stod(r.scale), nullptr);
        worksheet_write_string(fields, row, 5, r.range.c_str(), nullptr);
        worksheet_write_string(fields, row, 6, r.path.c_str(), nullptr);
        worksheet_write_string(fields, row, 7, r.writable ? "yes" : "no", nullptr);
        worksheet_write_string(fields, row, 8, r.unitOrEnum.c_str(), nullptr);
        worksheet_write_string(fields, row, 9, r.remarks.c_str(), nullptr);
        ++row;
    }
    worksheet_freeze_panes(fields, 1, 0);
    worksheet_autofilter(fields, 0, 0, row - 1, 9);

    lxw_worksheet* units = workbook_add_worksheet(book, "Unit ID mapping");
    const char* unitColumns[] = {"Unit ID", "/DeviceInstance", "Remark"};
    const double unitWidths[] = {10, 16, 60};
    for (lxw_col_t c = 0; c < 3; ++c) {
        worksheet_write_string(units, 0, c, unitColumns[c], header);
        worksheet_set_column(units, c, c, unitWidths[c], nullptr);
    }
    row = 1;
    for (const auto& u : map.unitMappings()) {
        worksheet_write_number(units, row, 0, u.unit, nullptr);
        worksheet_write_number(units, row, 1, u.instance, nullptr);
        worksheet_write_string(units, row, 2, u.remark.c_str(), nullptr);
        ++row;
    }
    worksheet_write_string(
        units, row + 1, 0,
        "Other unit IDs reach the device whose /DeviceInstance equals the unit ID; unit 0 and "
        "unit 100 reach instance 0.",
        nullptr);
    worksheet_freeze_panes(units, 1, 0);
    worksheet_autofilter(units, 0, 0, row - 1, 2);

    lxw_error error = workbook_close(book);
    if (error != LXW_NO_ERROR) return "cannot write " + file + ": " + lxw_strerror(error);
    return "";
}

namespace {

/// Our own writable registers (40000 and up): whose D-Bus type and range come from the software that
/// publishes the path, and which are unverified, per service.
std::string checkedSection(const Sources& sources) {
    std::map<std::string, std::pair<unsigned, unsigned>> counts; // service -> (checked, unverified)
    std::string unverified;
    unsigned checked = 0, open = 0;
    for (const auto& a : sources.extensions) {
        if (a.access != "W" || a.checked.empty()) continue;
        auto& c = counts[a.service];
        if (a.unverified()) {
            ++c.second;
            ++open;
            unverified += "| " + std::to_string(a.address) + " | " + a.service + " | " +
                          markdownCell(a.path) + " | " + markdownCell(a.checked) + " |\n";
        } else {
            ++c.first;
            ++checked;
        }
    }
    std::string out = "## Writable registers of our own: where their D-Bus type and range come from\n\n";
    out += std::to_string(checked + open) + " writable registers from 40000 up: " + std::to_string(checked) +
           " take their D-Bus type and range from the software that publishes the path (named in each "
           "register's remarks), " +
           std::to_string(open) +
           " are unverified against a device (why, row by row, below: no public source publishes the "
           "path, or it has not been checked yet).\n\n| service | from a source | unverified |\n| --- | --- "
           "| --- |\n";
    for (const auto& [service, c] : counts)
        out += "| " + service + " | " + std::to_string(c.first) + " | " + std::to_string(c.second) + " |\n";
    out += "| **all** | " + std::to_string(checked) + " | " + std::to_string(open) + " |\n\n";
    if (!unverified.empty())
        out += "The unverified ones:\n\n| register | service | path | why |\n| --- | --- | --- | --- |\n" +
               unverified + "\n";
    return out;
}

} // namespace

std::string coverageMarkdown(const regmap::RegisterMap& map, const Sources& sources, Diagnostics& problems) {
    // Every (service, path) the map serves, through a path, an alternative or a computed register's input.
    std::map<std::pair<std::string, std::string>, std::vector<unsigned>> served;
    for (const auto& reg : map.registers()) {
        const auto& service = map.serviceTypes()[reg.service];
        std::set<regmap::PathId> ids(reg.paths.begin(), reg.paths.end());
        ids.insert(reg.inputs.begin(), reg.inputs.end());
        for (auto id : ids) // a slot path counts for the path list's entry without the slot number
            served[{service, regmap::slotPattern(map.paths()[id])}].push_back(reg.address);
    }
    struct Totals {
        unsigned paths = 0, published = 0, ours = 0, excluded = 0, missing = 0;
    };
    std::vector<std::pair<std::string, Totals>> totals;
    std::string body;
    for (const auto& service : sources.paths.services()) {
        Totals t;
        body += "## " + service.type + "\n\n";
        if (service.type == PathList::kGeneric)
            body += "Paths every device service publishes; the registers are listed per service type.\n\n";
        else if (!service.title.empty())
            body += service.title + ".\n\n";
        body += "| path | registers | reason when none |\n| --- | --- | --- |\n";
        for (const auto& p : service.paths) {
            std::vector<std::pair<std::string, unsigned>> hits; // (service, address)
            if (service.type == PathList::kGeneric) {
                for (const auto& s : map.serviceTypes()) {
                    auto it = served.find({s, p.path});
                    if (it == served.end()) continue;
                    // Only where the service does not list the path itself.
                    if (sources.paths.service(s) && sources.paths.find(s, p.path) != &p) continue;
                    for (auto a : it->second)
                        hits.emplace_back(s, a);
                }
            } else if (auto it = served.find({service.type, p.path}); it != served.end()) {
                for (auto a : it->second)
                    hits.emplace_back(service.type, a);
            }
            std::sort(hits.begin(), hits.end(),
                      [](const auto& a, const auto& b) { return a.second < b.second; });
            std::string registers;
            bool published = false;
            for (const auto& [s, a] : hits) {
                registers += (registers.empty() ? "" : ", ") +
                             (service.type == PathList::kGeneric ? s + " " : std::string()) +
                             std::to_string(a);
                published = published || a < kDiscoveryFirst;
            }
            ++t.paths;
            std::string reason = p.exclude;
            if (!hits.empty() && !p.exclude.empty()) {
                problems.push_back({p.source, p.line,
                                    "path '" + p.path + "' of '" + service.type + "' is excluded (" +
                                        p.exclude + ") but served by register " +
                                        std::to_string(hits.front().second)});
                reason = "(excluded, yet served)";
            } else if (hits.empty() && p.exclude.empty()) {
                problems.push_back(
                    {p.source, p.line,
                     "path '" + p.path + "' of '" + service.type +
                         "' is not mapped: it has no register and no reason; give it one or add 'exclude'"});
                reason = "**not mapped, no reason given**";
                ++t.missing;
            } else if (hits.empty()) {
                ++t.excluded;
            } else {
                ++(published ? t.published : t.ours);
            }
            body += "| " + markdownCell(p.path) + " | " + registers + " | " + markdownCell(reason) + " |\n";
        }
        body += "\n";
        totals.emplace_back(service.type, t);
    }
    std::string out = "# Coverage of the D-Bus path list\n\n";
    out += "<!-- GENERATED by `venus-regmap coverage` from register-maps/src/paths.yaml and "
           "register-maps/victron.yaml. Do not edit. -->\n\n";
    out +=
        "Every path of the path list (`register-maps/src/paths.yaml`) with the registers that serve it, or "
        "the reason it has none. \"published\" counts paths served by the published Victron register list "
        "(and maybe also by our own registers), \"ours only\" those served only by venus-modbusd's own "
        "registers (40000 and up).\n\n";
    out += "## Totals\n\n| service | paths | published | ours only | excluded | not mapped |\n"
           "| --- | --- | --- | --- | --- | --- |\n";
    Totals all;
    for (const auto& [service, t] : totals) {
        out += "| " + service + " | " + std::to_string(t.paths) + " | " + std::to_string(t.published) +
               " | " + std::to_string(t.ours) + " | " + std::to_string(t.excluded) + " | " +
               std::to_string(t.missing) + " |\n";
        all.paths += t.paths;
        all.published += t.published;
        all.ours += t.ours;
        all.excluded += t.excluded;
        all.missing += t.missing;
    }
    out += "| **all** | " + std::to_string(all.paths) + " | " + std::to_string(all.published) + " | " +
           std::to_string(all.ours) + " | " + std::to_string(all.excluded) + " | " +
           std::to_string(all.missing) + " |\n\n";
    return out + checkedSection(sources) + body;
}

} // namespace vmd::regmaptool
