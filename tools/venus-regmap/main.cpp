// venus-regmap: builds, checks and documents the register map (register-maps/victron.yaml).
#include "Export.h"
#include "Generate.h"
#include "PathImport.h"
#include "Scripting.h"
#include "Sources.h"
#include "Text.h"
#include "Validate.h"

#include "core/DataDir.h"
#include "regmap/MapLoader.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace vmd::regmaptool {
namespace {

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kBadInput = 2;

// The data directory (core/DataDir): the source tree when run from the build tree, else the install.
const std::string kDefaultSources = core::dataDir().sources;
const std::string kDefaultMap = core::dataDir().map;
const std::string kDefaultDocs = core::dataDir().docs;

const char* kUsage = R"(usage: venus-regmap COMMAND [OPTIONS]

Builds, checks and documents the venus-modbusd register map, merges new releases of the D-Bus path
list into it, and reads and writes the registers of a server by D-Bus path.

commands:
  generate   write register-maps/victron.yaml from the sources in register-maps/src/
  validate   check map files (overlaps, types, enums, ranges, unit table); problems as FILE:LINE: message
  export     write docs/registers.xlsx, docs/registers.csv and docs/registers.md from the map
  coverage   write docs/coverage.md: every path of the path list and its registers, or why it has none
  find       'find TEXT': registers whose service, path or description holds TEXT, with a mbpoll line each
  read       'read HOST[:PORT] SERVICE PATH': read a D-Bus path from a server, scaled, with unit or enum text
  write      'write HOST[:PORT] SERVICE PATH VALUE': write a D-Bus path, encoded with the map's scale and range
  paths      'paths import LIST': merge a new release of Victron's D-Bus path list into paths.yaml;
             'paths show LIST': print the paths the list holds, as the import reads them

Run 'venus-regmap COMMAND --help' for the options of a command.
The data directory: run from the build tree, the source tree (map register-maps/victron.yaml, sources
register-maps/src, docs docs/); installed, <prefix>/share/venus-modbusd (map victron.yaml, sources
sources/; docs <prefix>/share/doc/venus-modbusd/docs, with the register list).
Exit status: 0 ok, 1 a file could not be written or a server answered with an exception (or not at
all), 2 bad arguments or bad input (a value refused before sending, too).
)";

const std::map<std::string, std::string> kHelp = {
    {"generate", R"(usage: venus-regmap generate [--sources DIR] [--output FILE]

Writes the register map from its sources: addresses, types, scales and access from published.yaml and
extensions.yaml, descriptions, units and enum texts from paths.yaml, the unit table from unit-ids.yaml.
Checks that the sources agree (every path known and not excluded, writable where written, registers
inside their service's block) and that the result loads. The output is deterministic.

  --sources DIR   the sources (default: the data directory's sources)
  --output FILE   the map to write, '-' for standard output (default: the data directory's map)
)"},
    {"validate", R"(usage: venus-regmap validate [FILE...]

Loads the files together (a map and its overlays, as the server does) and checks them: overlaps, types
and sizes, D-Bus types ('s' only on strings, writable registers need one), enum keys and ranges that fit
the type, computed registers, the unit table. Problems go to standard error as FILE:LINE: message and
make the exit status 2; holes inside a service's block are printed as notes.

  FILE...   map files (default: the data directory's map)
)"},
    {"export", R"(usage: venus-regmap export [--map FILE] [--sources DIR] [--out-dir DIR]

Writes registers.xlsx (sheets "Field list" and "Unit ID mapping"), registers.csv and registers.md.

  --map FILE      the map (default: the data directory's map)
  --sources DIR   the sources, for service titles and the block plan (default: the data directory's sources)
  --out-dir DIR   where to write (default: the data directory's docs)
)"},
    {"coverage", R"(usage: venus-regmap coverage [--sources DIR] [--map FILE] [--output FILE]

Writes coverage.md: every (service, path) of the path list with its register addresses, or the reason it
has none, and totals per service. A path with neither a register nor a reason (or with both) is a problem
reported as FILE:LINE: message (exit status 2; the file is written all the same).

  --sources DIR   the sources (default: the data directory's sources)
  --map FILE      the map (default: the data directory's map)
  --output FILE   the file to write (default: coverage.md in the data directory's docs)
)"},
    {"find", R"(usage: venus-regmap find TEXT [--json] [--map FILE] [--sources DIR]

Lists the registers whose service, D-Bus path or description contains TEXT (case does not matter): service,
path, description, address, type, scale, unit, access, the unit ID that reaches the service and a ready
mbpoll command line (HOST and, for device services, UNIT to fill in). Exit status 1 when nothing matches.

  --json          one JSON array of objects instead of text
  --map FILE      the map (default: the data directory's map)
  --sources DIR   where the services' unit IDs come from (default: the data directory's sources)
)"},
    {"read",
     R"(usage: venus-regmap read HOST[:PORT] SERVICE PATH [--unit N] [--address A] [--json] [--map FILE] [--sources DIR]

Reads the register that serves PATH of SERVICE (e.g. 'system /Dc/Battery/Soc'; the lowest address when
several do) with libmodbus and prints its engineering value: register / scale with the unit ('64.5 %'), the
enum text ('Bulk'), the text of a string, or 'not available'. A Modbus exception is printed in words on
standard error with exit status 1. PORT defaults to 502.

  --unit N        the unit ID; default: 100 for the services at instance 0 (system, settings, hub4,
                  platform ...); required for device services (their /DeviceInstance, or the unit table)
  --address A     which register, when several serve the path (e.g. a 32-bit twin); default: the lowest
  --json          {"ok", "service", "path", "unit_id", "address", "type", "scale", "unit", "words", "value",
                  "enum", "text"}; on failure {"ok": false, "exception", "error"}
  --map FILE      the map (default: the data directory's map)
  --sources DIR   where the services' unit IDs come from (default: the data directory's sources)
)"},
    {"write",
     R"(usage: venus-regmap write HOST[:PORT] SERVICE PATH VALUE [--unit N] [--address A] [--json] [--map FILE]
                          [--sources DIR]

Writes VALUE to the register that serves PATH of SERVICE: a number in the path's unit (scaled with the map's
scale, e.g. 52.4 for a register of scale 100 sends 5240), an enum text ('Off'), or text for a string
register. A value outside the type, the range or the enum of the register, text that is too long, or a
read-only register is refused before anything is sent (exit status 2). One word goes out with FC 6, more
with FC 16. Prints what the server answered; an exception in words with exit status 1.

  --unit N        the unit ID; default: 100 for the services at instance 0 (system, settings, hub4,
                  platform ...); required for device services
  --address A     which register, when several serve the path (e.g. 40803, the 32-bit twin of 2700)
  --json          {"ok", "service", "path", "unit_id", "address", "type", "scale", "unit", "function",
                  "words", "text"}; {"ok": false, "refused"} or {"ok": false, "exception", "error"}
  --map FILE      the map (default: the data directory's map)
  --sources DIR   where the services' unit IDs come from (default: the data directory's sources)
)"},
    {"paths", R"(usage: venus-regmap paths import LIST [--dry-run] [--sources DIR]
       venus-regmap paths show LIST

import: reads LIST, a D-Bus path list in the published format (sections 'com.victronenergy.TYPE', lines
'/Path <- description', placeholders x, n, #, Lx, [0-19], * and ...), and merges it into paths.yaml.
Paths paths.yaml does not have are added at the end of their service with the list's description and the
unit it names; they show as "not mapped" in 'coverage' until they get a register or an 'exclude' reason.
Paths the list no longer has are reported, never deleted; curated fields are never changed. What the list
said is kept in path-list.yaml (a digest per description), so the next import reports exactly what was
added, what is gone and which descriptions changed. Prints that summary and exits 0.
show: prints each listed path as SERVICE PATH [UNIT] DESCRIPTION.
A malformed path line is reported as LIST:LINE: message (exit status 2).

  --dry-run       print the summary, write nothing
  --sources DIR   the sources (default: the data directory's sources)
)"},
};

struct Arguments {
    std::map<std::string, std::string> options;
    std::vector<std::string> files;
    std::set<std::string> flags;
    bool help = false;
};

/// Options without a value.
const std::set<std::string> kFlags = {"dry-run", "json"};

/// Parses `--name VALUE` options and `--flag`s (only those in `known`) and plain arguments.
std::optional<Arguments> parse(const std::vector<std::string>& args, const std::vector<std::string>& known,
                               bool allowFiles) {
    Arguments out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--help" || a == "-h") {
            out.help = true;
        } else if (a.rfind("--", 0) == 0 && kFlags.count(a.substr(2))) {
            if (std::find(known.begin(), known.end(), a.substr(2)) == known.end()) {
                std::cerr << "venus-regmap: unknown option " << a << "\n";
                return std::nullopt;
            }
            out.flags.insert(a.substr(2));
        } else if (a.rfind("--", 0) == 0) {
            auto name = a.substr(2);
            std::string value;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                std::cerr << "venus-regmap: option --" << name << " needs a value\n";
                return std::nullopt;
            }
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                std::cerr << "venus-regmap: unknown option --" << name << "\n";
                return std::nullopt;
            }
            out.options[name] = value;
        } else if (allowFiles) {
            out.files.push_back(a);
        } else {
            std::cerr << "venus-regmap: unexpected argument '" << a << "'\n";
            return std::nullopt;
        }
    }
    return out;
}

std::string option(const Arguments& args, const std::string& name, const std::string& fallback) {
    auto it = args.options.find(name);
    return it == args.options.end() ? fallback : it->second;
}

void print(const Diagnostics& problems) {
    for (const auto& d : problems)
        std::cerr << d.format() << "\n";
}

bool write(const std::string& file, const std::string& text) {
    if (file == "-") {
        std::cout << text;
        return static_cast<bool>(std::cout);
    }
    if (!writeFile(file, text)) {
        std::cerr << "venus-regmap: cannot write " << file << ": " << std::strerror(errno) << "\n";
        return false;
    }
    return true;
}

/// Loads one map, printing its problems.
std::optional<regmap::RegisterMap> loadMap(const std::string& file) {
    try {
        return regmap::loadMapFile(file);
    } catch (const regmap::MapError& e) {
        print(e.diagnostics());
        return std::nullopt;
    }
}

int generate(const Arguments& args) {
    auto dir = option(args, "sources", kDefaultSources);
    auto output = option(args, "output", kDefaultMap);
    Diagnostics problems;
    auto sources = readSources(dir, problems);
    std::string text;
    if (problems.empty()) text = generateMap(sources, problems);
    if (!problems.empty()) {
        print(problems);
        std::cerr << "venus-regmap: " << problems.size() << " problem(s); " << output << " not written\n";
        return kBadInput;
    }
    if (!write(output, text)) return kFailure;
    if (output != "-")
        std::cout << "venus-regmap: wrote " << output << " (" << sources.published.size() << " published and "
                  << sources.extensions.size() << " own registers)\n";
    return kOk;
}

int validate(const Arguments& args) {
    auto files = args.files.empty() ? std::vector<std::string>{kDefaultMap} : args.files;
    auto report = validateMaps(files);
    for (const auto& note : report.notes)
        std::cout << note.format() << "\n";
    print(report.problems);
    if (!report.problems.empty()) {
        std::cerr << "venus-regmap: " << report.problems.size() << " problem(s)\n";
        return kBadInput;
    }
    std::cout << "venus-regmap: " << report.summary << ": no problems\n";
    return kOk;
}

int exportDocs(const Arguments& args) {
    auto mapFile = option(args, "map", kDefaultMap);
    auto dir = option(args, "sources", kDefaultSources);
    auto outDir = option(args, "out-dir", kDefaultDocs);
    auto map = loadMap(mapFile);
    Diagnostics problems;
    auto sources = readSources(dir, problems);
    if (!map || !problems.empty()) {
        print(problems);
        return kBadInput;
    }
    std::error_code ec;
    std::filesystem::create_directories(outDir, ec);
    if (!write(outDir + "/registers.csv", registersCsv(*map)) ||
        !write(outDir + "/registers.md", registersMarkdown(*map, sources)))
        return kFailure;
    if (auto error = writeRegistersXlsx(*map, outDir + "/registers.xlsx"); !error.empty()) {
        std::cerr << "venus-regmap: " << error << "\n";
        return kFailure;
    }
    std::cout << "venus-regmap: wrote " << outDir << "/registers.{xlsx,csv,md} (" << map->registers().size()
              << " registers)\n";
    return kOk;
}

int coverage(const Arguments& args) {
    auto dir = option(args, "sources", kDefaultSources);
    auto mapFile = option(args, "map", kDefaultMap);
    auto output = option(args, "output", kDefaultDocs + "/coverage.md");
    auto map = loadMap(mapFile);
    Diagnostics problems;
    auto sources = readSources(dir, problems);
    if (!map || !problems.empty()) {
        print(problems);
        return kBadInput;
    }
    auto text = coverageMarkdown(*map, sources, problems);
    if (!write(output, text)) return kFailure;
    if (!problems.empty()) {
        print(problems);
        std::cerr << "venus-regmap: " << problems.size()
                  << " problem(s): each path needs a register or a reason (\"not mapped\"), not both\n";
        return kBadInput;
    }
    if (output != "-") std::cout << "venus-regmap: wrote " << output << "\n";
    return kOk;
}

std::optional<std::string> readText(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::cerr << "venus-regmap: cannot read " << file << ": " << std::strerror(errno) << "\n";
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

int paths(const Arguments& args) {
    if (args.files.size() != 2 || (args.files[0] != "import" && args.files[0] != "show")) {
        std::cerr << "venus-regmap: paths needs 'import LIST' or 'show LIST'\n" << kHelp.at("paths");
        return kBadInput;
    }
    const auto& listFile = args.files[1];
    auto listText = readText(listFile);
    if (!listText) return kBadInput;
    Diagnostics problems;
    auto parsed = parsePathList(*listText, listFile, problems);
    if (!problems.empty()) {
        print(problems);
        std::cerr << "venus-regmap: " << problems.size() << " problem(s) in " << listFile
                  << "; nothing written\n";
        return kBadInput;
    }
    if (args.files[0] == "show") {
        for (const auto& p : parsed)
            std::cout << p.service << " " << p.path << (p.unit.empty() ? "" : " [" + p.unit + "]")
                      << (p.description.empty() ? "" : " " + p.description) << "\n";
        return kOk;
    }
    auto dir = option(args, "sources", kDefaultSources);
    auto sources = readSources(dir, problems);
    auto pathsFile = dir + "/" + kPathsFile;
    auto stateFile = dir + "/" + kPathListFile;
    auto before = readPathListState(stateFile, problems);
    auto pathsText = problems.empty() ? readText(pathsFile) : std::nullopt;
    if (!problems.empty() || !pathsText) {
        print(problems);
        std::cerr << "venus-regmap: the sources in " << dir << " do not read; nothing written\n";
        return kBadInput;
    }
    auto result = mergePathList(parsed, before, sources.paths, *pathsText);
    std::cout << importSummary(result);
    if (args.flags.count("dry-run")) {
        std::cout << "dry run: nothing written\n";
        return kOk;
    }
    if (!result.changesAnything()) {
        std::cout << "paths.yaml and path-list.yaml are up to date\n";
        return kOk;
    }
    if (!write(pathsFile, result.pathsText) || !write(stateFile, pathListStateText(result.listed)))
        return kFailure;
    std::cout << "wrote " << pathsFile << " and " << stateFile
              << "; then run the venus-regmap commands of docs/registers.md\n";
    return kOk;
}

/// The map and the services' unit IDs for find, read and write.
std::optional<ScriptMap> scriptMap(const Arguments& args, std::optional<regmap::RegisterMap>& map) {
    map = loadMap(option(args, "map", kDefaultMap));
    if (!map) return std::nullopt;
    ScriptMap script;
    script.map = &*map;
    Diagnostics ignored; // without readable sources there are no default unit IDs, that is all
    auto sources = readSources(option(args, "sources", kDefaultSources), ignored);
    for (const auto& service : sources.paths.services())
        script.unitsText[service.type] = service.units;
    return script;
}

int scripting(const std::string& command, const Arguments& args) {
    const std::map<std::string, std::size_t> arity = {{"find", 1}, {"read", 3}, {"write", 4}};
    if (args.files.size() != arity.at(command)) {
        std::cerr << "venus-regmap: " << command << " takes " << arity.at(command) << " argument(s)\n"
                  << kHelp.at(command);
        return kBadInput;
    }
    Request request;
    request.json = args.flags.count("json") > 0;
    if (auto it = args.options.find("unit"); it != args.options.end()) {
        int unit = -1;
        auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), unit);
        if (ec != std::errc() || end != it->second.data() + it->second.size() || unit < 0 || unit > 255) {
            std::cerr << "venus-regmap: --unit must be a number from 0 to 255, not '" << it->second << "'\n";
            return kBadInput;
        }
        request.unit = unit;
    }
    if (auto it = args.options.find("address"); it != args.options.end()) {
        int address = -1;
        auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), address);
        if (ec != std::errc() || end != it->second.data() + it->second.size() || address < 0 ||
            address > 65535) {
            std::cerr << "venus-regmap: --address must be a number from 0 to 65535, not '" << it->second
                      << "'\n";
            return kBadInput;
        }
        request.address = address;
    }
    std::optional<regmap::RegisterMap> map;
    auto script = scriptMap(args, map);
    if (!script) return kBadInput;
    if (command == "find") return findRegisters(*script, args.files[0], request.json, std::cout, std::cerr);
    request.target = args.files[0];
    request.service = args.files[1];
    request.path = args.files[2];
    if (command == "read") return readPath(*script, request, std::cout, std::cerr);
    request.value = args.files[3];
    return writePath(*script, request, std::cout, std::cerr);
}

int run(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << kUsage;
        return kBadInput;
    }
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        // The whole manual: the overview, then each command's help (docs/man/venus-regmap.1 is made of it).
        std::cout << kUsage << "\nThe commands in detail:\n";
        for (const char* name :
             {"generate", "validate", "export", "coverage", "paths", "find", "read", "write"}) {
            std::string text = kHelp.at(name);
            if (text.rfind("usage: ", 0) == 0) text = text.substr(7);
            std::cout << "\n" << text;
        }
        return kOk;
    }
    const std::map<std::string, std::pair<std::vector<std::string>, bool>> commands = {
        {"generate", {{"sources", "output"}, false}},
        {"validate", {{}, true}},
        {"export", {{"map", "sources", "out-dir"}, false}},
        {"coverage", {{"sources", "map", "output"}, false}},
        {"paths", {{"sources", "dry-run"}, true}},
        {"find", {{"map", "sources", "json"}, true}},
        {"read", {{"map", "sources", "json", "unit", "address"}, true}},
        {"write", {{"map", "sources", "json", "unit", "address"}, true}},
    };
    auto command = commands.find(args[0]);
    if (command == commands.end()) {
        std::cerr << "venus-regmap: unknown command '" << args[0] << "'\n" << kUsage;
        return kBadInput;
    }
    auto parsed = parse({args.begin() + 1, args.end()}, command->second.first, command->second.second);
    if (!parsed) {
        std::cerr << kHelp.at(command->first);
        return kBadInput;
    }
    if (parsed->help) {
        std::cout << kHelp.at(command->first);
        return kOk;
    }
    if (command->first == "generate") return generate(*parsed);
    if (command->first == "validate") return validate(*parsed);
    if (command->first == "export") return exportDocs(*parsed);
    if (command->first == "paths") return paths(*parsed);
    if (command->first == "find" || command->first == "read" || command->first == "write")
        return scripting(command->first, *parsed);
    return coverage(*parsed);
}

} // namespace
} // namespace vmd::regmaptool

int main(int argc, char** argv) {
    return vmd::regmaptool::run(argc, argv);
}
