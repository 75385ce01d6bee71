#pragma once
// Where the programs find their data files (the register map, its sources with the unit table, the
// simulator's scenarios): in the install prefix, or in the source tree when the program that runs
// is the one in the build tree. Installed programs never read the build machine's paths.
#include <string>

namespace vmd::core {

/// The data locations of one run.
struct DataDir {
    std::string share;     ///< the directory: <prefix>/share/venus-modbusd, or the source tree
    std::string map;       ///< the register map (victron.yaml)
    std::string sources;   ///< the map's sources (register-maps/src; installed as <share>/sources)
    std::string scenarios; ///< venus-sim's scenario files
    std::string docs;      ///< the register list (registers.csv, .md, .xlsx)
    bool buildTree = false;
};

/// Where the tree was built and where it installs (CMake's CMAKE_BINARY_DIR, PROJECT_SOURCE_DIR and
/// <CMAKE_INSTALL_FULL_DATADIR>/venus-modbusd, <CMAKE_INSTALL_FULL_DOCDIR>).
struct BuildLayout {
    std::string buildDir;
    std::string sourceDir;
    std::string installedShare;
    std::string installedDocs;
};

/// The data locations for the program at `executable`: the source tree when it is in
/// `layout.buildDir`; else <executable's dir>/../share/venus-modbusd when that exists (an install
/// under another prefix), else the configured installed directory.
DataDir locateDataDir(const std::string& executable, const BuildLayout& layout);

/// locateDataDir for the running program (/proc/self/exe) and the layout compiled in.
const DataDir& dataDir();

/// A scenario argument as venus-sim takes it: a path when it names an existing file or holds a
/// '/', else a name looked up in `scenarios` ("ess-site.yaml" or "ess-site").
std::string scenarioFile(const std::string& argument, const std::string& scenarios);

} // namespace vmd::core
