#include "core/DataDir.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace vmd;
namespace fs = std::filesystem;

namespace {
// A scratch directory removed afterwards.
struct Scratch {
    fs::path dir;
    Scratch() {
        std::string pattern = (fs::temp_directory_path() / "vmd-datadir.XXXXXX").string();
        dir = ::mkdtemp(pattern.data());
    }
    ~Scratch() { fs::remove_all(dir); }
    void touch(const fs::path& rel) const {
        fs::create_directories((dir / rel).parent_path());
        std::ofstream(dir / rel) << "x\n";
    }
};
} // namespace

TEST_CASE("the build tree's programs read the source tree", "[datadir]") {
    Scratch s;
    fs::create_directories(s.dir / "build");
    core::BuildLayout layout{(s.dir / "build").string(), "/src/tree", "/usr/share/venus-modbusd",
                             "/usr/share/doc/venus-modbusd"};
    auto d = core::locateDataDir((s.dir / "build" / "venus-regmap").string(), layout);
    CHECK(d.buildTree);
    CHECK(d.map == "/src/tree/register-maps/victron.yaml");
    CHECK(d.sources == "/src/tree/register-maps/src");
    CHECK(d.scenarios == "/src/tree/tools/venus-sim/scenarios");
    CHECK(d.docs == "/src/tree/docs");
    // The same build directory named another way (with a "..") is still the build tree.
    auto other = core::locateDataDir((s.dir / "build" / ".." / "build" / "venus-sim").string(), layout);
    CHECK(other.buildTree);
}

TEST_CASE("installed programs read the install prefix, never the build machine's tree", "[datadir]") {
    Scratch s;
    fs::create_directories(s.dir / "build");
    fs::create_directories(s.dir / "usr" / "bin");
    core::BuildLayout layout{(s.dir / "build").string(), "/src/tree", "/usr/share/venus-modbusd",
                             "/usr/share/doc/venus-modbusd"};
    SECTION("no data beside the program: the configured prefix") {
        auto d = core::locateDataDir((s.dir / "usr" / "bin" / "venus-regmap").string(), layout);
        CHECK_FALSE(d.buildTree);
        CHECK(d.map == "/usr/share/venus-modbusd/victron.yaml");
        CHECK(d.sources == "/usr/share/venus-modbusd/sources");
        CHECK(d.scenarios == "/usr/share/venus-modbusd/scenarios");
        CHECK(d.docs == "/usr/share/doc/venus-modbusd/docs");
    }
    SECTION("<prefix>/share/venus-modbusd beside <prefix>/bin: that one (an install under another prefix)") {
        s.touch("usr/share/venus-modbusd/victron.yaml");
        auto d = core::locateDataDir((s.dir / "usr" / "sbin" / "venus-modbusd").string(), layout);
        CHECK_FALSE(d.buildTree);
        CHECK(d.map == (s.dir / "usr" / "share" / "venus-modbusd" / "victron.yaml").string());
        CHECK(d.scenarios == (s.dir / "usr" / "share" / "venus-modbusd" / "scenarios").string());
        CHECK(d.docs == (s.dir / "usr" / "share" / "doc" / "venus-modbusd" / "docs").string());
    }
}

TEST_CASE("a scenario is a file, or a name of the scenarios directory", "[datadir]") {
    Scratch s;
    s.touch("scenarios/ess-site.yaml");
    auto dir = (s.dir / "scenarios").string();
    CHECK(core::scenarioFile("ess-site.yaml", dir) == dir + "/ess-site.yaml");
    CHECK(core::scenarioFile("ess-site", dir) == dir + "/ess-site.yaml");
    CHECK(core::scenarioFile("./ess-site.yaml", dir) == "./ess-site.yaml"); // a path stays a path
    CHECK(core::scenarioFile("/tmp/x/my.yaml", dir) == "/tmp/x/my.yaml");
    CHECK(core::scenarioFile("missing.yaml", dir) == "missing.yaml"); // the caller reports it
}
