// Which paths the mirror keeps (dbus/MirrorPaths.h), decided before a signal's value is decoded.
// End to end, with values sent by signal: tests/integration/MirrorTest.cpp.
#include "dbus/MirrorPaths.h"
#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>

using namespace vmd;

namespace {

const char* kMap = R"(registers:
  - {address: 800, service: system, path: /Serial, type: "string[3]", access: R}
  - {address: 3004, service: tank, path: /Level, type: uint16, scale: 10, access: R}
  - {address: 3005, service: tank, path: /Remaining, type: uint16, access: R}
  - {address: 4000, service: switch, path: "/SwitchableOutput/#1/State", type: uint16, access: R}
)";

regmap::RegisterMap load() {
    regmap::MapLoader loader;
    loader.add(kMap, "mirror-paths-test.yaml");
    return loader.build();
}

} // namespace

TEST_CASE("the mirror keeps a path only for the service types whose registers read it") {
    const auto map = load();
    const dbus::MirrorPaths paths(map, {});
    const auto tank = *map.serviceTypeId("tank");
    const auto system = *map.serviceTypeId("system");
    CHECK(paths.kept(tank, "/Level").id == map.pathId("/Level"));
    CHECK(paths.kept(tank, "/Remaining").any());
    CHECK_FALSE(paths.kept(system, "/Level").any()); // the path is in the map, but not for this type
    CHECK_FALSE(paths.kept(tank, "/Serial").any());
    CHECK_FALSE(paths.kept(tank, "/Mgmt/ProcessName").any()); // in no register
    CHECK_FALSE(paths.kept(tank, "/Leve").any());
    CHECK_FALSE(paths.kept(tank, "/Level/").any());
    CHECK_FALSE(paths.kept(tank, "").any());
}

TEST_CASE("the mirror keeps /DeviceInstance and the watched paths of every service, of any type") {
    const auto map = load();
    const dbus::MirrorPaths paths(map, {"/Settings/Watched"});
    for (auto type :
         {*map.serviceTypeId("tank"), *map.serviceTypeId("system"), regmap::ServiceTypeId{0xFFFF}}) {
        CHECK(paths.kept(type, "/DeviceInstance").deviceInstance);
        CHECK_FALSE(paths.kept(type, "/DeviceInstance").id);
        CHECK(paths.kept(type, "/Settings/Watched").watched);
        CHECK_FALSE(paths.kept(type, "/Settings/Other").any());
    }
}

TEST_CASE("the mirror keeps the paths under a slot family of the map, which name no map path themselves") {
    const auto map = load();
    const dbus::MirrorPaths paths(map, {});
    const auto tank = *map.serviceTypeId("tank");
    const auto sw = *map.serviceTypeId("switch");
    CHECK(paths.kept(sw, "/SwitchableOutput/relay_1/State").slot);
    CHECK(paths.kept(tank, "/SwitchableOutput/pwm_1/Name").slot); // the slot resolver decides the rest
    CHECK_FALSE(paths.kept(sw, "/SwitchableOutputs/relay_1/State").any());
    CHECK_FALSE(paths.kept(sw, "/SwitchableOutput/#1/State").slot); // the map's own slot path
}

TEST_CASE("the paths read one by one are a type's register paths, /DeviceInstance and the watched paths") {
    const auto map = load();
    const dbus::MirrorPaths paths(map, {"/Settings/Watched"});
    CHECK(paths.pathsOf(*map.serviceTypeId("tank")) ==
          std::vector<std::string>{"/DeviceInstance", "/Level", "/Remaining", "/Settings/Watched"});
    CHECK(paths.pathsOf(regmap::ServiceTypeId{0xFFFF}) ==
          std::vector<std::string>{"/DeviceInstance", "/Settings/Watched"});
}
