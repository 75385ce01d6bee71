#include "core/DataDir.h"

#include <filesystem>
#include <system_error>

namespace vmd::core {
namespace fs = std::filesystem;

namespace {

fs::path canonicalOr(const fs::path& p) {
    std::error_code ec;
    auto c = fs::weakly_canonical(p, ec);
    return ec ? p : c;
}

} // namespace

DataDir locateDataDir(const std::string& executable, const BuildLayout& layout) {
    DataDir d;
    auto exeDir = canonicalOr(fs::path(executable).parent_path());
    if (!layout.buildDir.empty() && exeDir == canonicalOr(layout.buildDir)) {
        d.buildTree = true;
        d.share = layout.sourceDir;
        d.map = layout.sourceDir + "/register-maps/victron.yaml";
        d.sources = layout.sourceDir + "/register-maps/src";
        d.scenarios = layout.sourceDir + "/tools/venus-sim/scenarios";
        d.docs = layout.sourceDir + "/docs";
        return d;
    }
    std::error_code ec;
    auto beside = exeDir.parent_path() / "share" / "venus-modbusd";
    bool besideExe = fs::is_directory(beside, ec);
    d.share = besideExe ? beside.string() : layout.installedShare;
    d.map = d.share + "/victron.yaml";
    d.sources = d.share + "/sources";
    d.scenarios = d.share + "/scenarios";
    d.docs = besideExe ? (exeDir.parent_path() / "share" / "doc" / "venus-modbusd" / "docs").string()
                       : layout.installedDocs + "/docs";
    return d;
}

const DataDir& dataDir() {
    static const DataDir d = [] {
        std::error_code ec;
        auto exe = fs::read_symlink("/proc/self/exe", ec);
        return locateDataDir(ec ? std::string() : exe.string(),
                             {VMD_BUILD_DIR, VMD_SOURCE_DIR, VMD_INSTALLED_SHARE, VMD_INSTALLED_DOCS});
    }();
    return d;
}

std::string scenarioFile(const std::string& argument, const std::string& scenarios) {
    std::error_code ec;
    if (argument.find('/') != std::string::npos || fs::exists(argument, ec)) return argument;
    for (const auto& name : {argument, argument + ".yaml"}) {
        auto candidate = scenarios + "/" + name;
        if (fs::is_regular_file(candidate, ec)) return candidate;
    }
    return argument;
}

} // namespace vmd::core
