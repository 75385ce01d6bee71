// The GX write switch's decision table (docs/semantics.md, "The GX write switch"). End to end, the
// switch is tested in tests/integration/MirrorTest.cpp ([gxswitch], [readonly]).
#include "app/WriteSwitch.h"

#include <catch2/catch.hpp>

using namespace vmd;
using app::decideWriteSwitch;
using app::WriteSwitchState;

namespace {
const codec::Value kZero = std::int64_t{0};
const codec::Value kOne = std::int64_t{1};
const codec::Value kInvalid;

WriteSwitchState onGx(const codec::Value* setting) {
    return {false, true, true, true, setting};
}
} // namespace

TEST_CASE("the GX setting switches writes once it has been read") {
    auto off = decideWriteSwitch(onGx(&kZero));
    CHECK_FALSE(off.writable);
    CHECK(off.reason ==
          "refused by the GX setting com.victronenergy.settings /Settings/ModbusServer/ReadWrite = 0");
    auto on = decideWriteSwitch(onGx(&kOne));
    CHECK(on.writable);
    CHECK(on.reason ==
          "enabled by the GX setting com.victronenergy.settings /Settings/ModbusServer/ReadWrite = 1");
}

TEST_CASE("writes stay refused while the setting is unknown on a bus that has shown a settings service") {
    WriteSwitchState left{false, true, false, false, nullptr};
    CHECK_FALSE(decideWriteSwitch(left).writable);
    CHECK(decideWriteSwitch(left).reason.find("unknown: the settings service left the bus") !=
          std::string::npos);
    WriteSwitchState loading{false, true, true, false, &kOne}; // a value read before the load finished
    CHECK_FALSE(decideWriteSwitch(loading).writable);
    CHECK(decideWriteSwitch(loading).reason.find("unknown: the settings service is still loading") !=
          std::string::npos);
    CHECK_FALSE(decideWriteSwitch(onGx(&kInvalid)).writable);
}

TEST_CASE("only a bus that never had a settings service is not a GX device") {
    auto none = decideWriteSwitch({false, false, false, false, nullptr});
    CHECK(none.writable);
    CHECK(none.reason == "enabled: no com.victronenergy.settings on this bus (not a GX device)");
    auto noSetting = decideWriteSwitch(onGx(nullptr)); // loaded, but without the setting
    CHECK(noSetting.writable);
    CHECK(noSetting.reason == "enabled: com.victronenergy.settings has no /Settings/ModbusServer/ReadWrite");
}

TEST_CASE("read-only mode (--read-only) refuses writes whatever the GX setting says, and the log says so") {
    for (const auto* setting : {&kOne, &kZero, static_cast<const codec::Value*>(nullptr)}) {
        auto d = decideWriteSwitch({true, true, true, true, setting});
        CHECK_FALSE(d.writable);
        CHECK(d.reason == "refused by --read-only");
    }
    CHECK(decideWriteSwitch({true, false, false, false, nullptr}).reason == "refused by --read-only");
}
