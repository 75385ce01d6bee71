// The ServiceIndex's rules for which service answers at a unit (docs/architecture.md, "The mirror
// under churn"). End to end, the same rules are tested in tests/integration/MirrorTest.cpp.
#include "core/ServiceIndex.h"
#include "regmap/MapLoader.h"

#include <catch2/catch.hpp>

using namespace vmd;

namespace {

const char* kMap = R"(unit-ids:
  - {unit: 100, instance: 0}
registers:
  - {address: 800, service: system, path: /Serial, type: "string[3]", access: R}
  - {address: 2700, service: settings, path: /Settings/CGwacs/AcPowerSetPoint, type: int16, dbus-type: d, access: W}
  - {address: 3004, service: tank, path: /Level, type: uint16, scale: 10, access: R}
)";

struct Index {
    regmap::RegisterMap map = [] {
        regmap::MapLoader loader;
        loader.add(kMap, "service-index-test.yaml");
        return loader.build();
    }();
    core::ServiceIndex index{map};
    regmap::ServiceTypeId tank = *map.serviceTypeId("tank");

    core::ServiceState& loaded(const std::string& name, std::optional<regmap::DeviceInstance> instance) {
        auto& s = index.addLoading(name);
        s.instance = instance.value_or(0);
        s.hasInstance = instance.has_value();
        s.ready = true;
        index.reindex();
        return s;
    }
};

} // namespace

TEST_CASE("a service still loading is neither resolved nor listed and hides nobody") {
    Index t;
    auto& real = t.loaded("com.victronenergy.tank.zreal", 0);
    auto& loading = t.index.addLoading("com.victronenergy.tank.aload");
    loading.hasInstance = true; // even with its instance known, it is not served before it is ready
    t.index.reindex();
    CHECK(t.index.resolve(t.tank, 100) == &real);
    CHECK(t.index.discovery().size() == 1);
    CHECK(t.index.conflicts().empty());
    loading.ready = true;
    t.index.reindex();
    CHECK(t.index.resolve(t.tank, 100) == &loading); // once loaded, the smaller name wins the tie
    CHECK(t.index.conflicts().size() == 1);
}

TEST_CASE("only the GX device's singleton types are instance 0 without a /DeviceInstance") {
    Index t;
    const auto& settings = t.loaded("com.victronenergy.settings", std::nullopt);
    const auto& system = t.loaded("com.victronenergy.system", std::nullopt);
    t.loaded("com.victronenergy.tank.none", std::nullopt);
    CHECK(t.index.resolve(*t.map.serviceTypeId("settings"), 100) == &settings);
    CHECK(t.index.resolve(*t.map.serviceTypeId("system"), 0) == &system);
    CHECK(t.index.resolve(t.tank, 100) == nullptr);
    CHECK(t.index.resolve(t.tank, 0) == nullptr);
    CHECK(t.index.discovery().size() == 2); // the tank without an instance is not listed
    for (const char* type : {"system", "settings", "hub4", "platform"})
        CHECK(core::instancelessType(type));
    for (const char* type : {"tank", "vebus", "battery", "grid", ""})
        CHECK_FALSE(core::instancelessType(type));
}

TEST_CASE("a service without an instance does not take over the real instance 0") {
    Index t;
    const auto& real = t.loaded("com.victronenergy.tank.zreal", 0);
    t.loaded("com.victronenergy.tank.a_empty", std::nullopt);
    CHECK(t.index.resolve(t.tank, 100) == &real);
    CHECK(t.index.conflicts().empty());
}

TEST_CASE("a rebuilt index keeps which services are still loading") {
    Index t;
    t.loaded("com.victronenergy.tank.zreal", 0);
    t.index.addLoading("com.victronenergy.tank.aload").hasInstance = true;
    auto rebuilt = t.index.rebuiltFor(t.map);
    CHECK(rebuilt->resolve(t.tank, 100)->name == "com.victronenergy.tank.zreal");
    CHECK(rebuilt->discovery().size() == 1);
}

// A reload makes the plan on its own thread (ServiceIndex::planRebuild needs the two maps only) and
// the loop carries the services' values over with it: the same index as rebuiltFor(map).
TEST_CASE("a rebuild planned beforehand carries over the values both maps know, by the new map's ids") {
    Index t;
    auto& tank = t.loaded("com.victronenergy.tank.zreal", 0);
    tank.values[*t.map.pathId("/Level")] = 42.5;
    auto& settings = t.loaded("com.victronenergy.settings", std::nullopt);
    settings.values[*t.map.pathId("/Settings/CGwacs/AcPowerSetPoint")] = std::int64_t{-300};
    regmap::MapLoader loader; // /Serial dropped, a path added before the others: every id moves
    loader.add(R"(unit-ids:
  - {unit: 100, instance: 0}
registers:
  - {address: 3000, service: tank, path: /Capacity, type: uint16, access: R}
  - {address: 2700, service: settings, path: /Settings/CGwacs/AcPowerSetPoint, type: int16, dbus-type: d, access: W}
  - {address: 3004, service: tank, path: /Level, type: uint16, scale: 10, access: R}
)",
               "next.yaml");
    const auto next = loader.build();
    auto plan = core::ServiceIndex::planRebuild(t.map, next);
    CHECK(plan.paths.size() == t.map.paths().size());
    CHECK_FALSE(plan.paths[*t.map.pathId("/Serial")]);
    auto rebuilt = t.index.rebuiltFor(std::move(plan));
    CHECK(&rebuilt->map() == &next);
    const auto* level = rebuilt->resolve(*next.serviceTypeId("tank"), 100);
    REQUIRE(level != nullptr);
    CHECK(level->values[*next.pathId("/Level")] == codec::Value{42.5});
    CHECK_FALSE(codec::isValid(level->values[*next.pathId("/Capacity")]));
    const auto* setpoint = rebuilt->resolve(*next.serviceTypeId("settings"), 100);
    REQUIRE(setpoint != nullptr);
    CHECK(setpoint->values[*next.pathId("/Settings/CGwacs/AcPowerSetPoint")] ==
          codec::Value{std::int64_t{-300}});

    // A plan made from another map than the index's (a stale one) is made again, not misapplied.
    // (next's ids, applied to this index's values, would put /Serial's value at /Capacity's id.)
    tank.values[*t.map.pathId("/Serial")] = std::string("HQ1");
    auto stale = core::ServiceIndex::planRebuild(next, next);
    auto again = t.index.rebuiltFor(std::move(stale));
    const auto* tank2 = again->resolve(*next.serviceTypeId("tank"), 100);
    REQUIRE(tank2 != nullptr);
    CHECK(tank2->values[*next.pathId("/Level")] == codec::Value{42.5});
    CHECK_FALSE(codec::isValid(tank2->values[*next.pathId("/Capacity")]));
}
