// The GX write switch's decision table (docs/semantics.md, "The GX write switch"). End to end, the
// switch is tested in tests/integration/MirrorTest.cpp ([gxswitch], [readonly]).
#include "app/WriteSwitch.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace vmd;
using app::decideWriteSwitch;
using app::WriteSwitchState;

namespace {
const codec::Value kZero = std::int64_t{0};
const codec::Value kOne = std::int64_t{1};
const codec::Value kInvalid;

WriteSwitchState onGx(const codec::Value* setting) {
    return {false, true, true, true, setting, {}};
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
    WriteSwitchState left{false, true, false, false, nullptr, {}};
    CHECK_FALSE(decideWriteSwitch(left).writable);
    CHECK(decideWriteSwitch(left).reason.find("unknown: the settings service left the bus") !=
          std::string::npos);
    WriteSwitchState loading{false, true, true, false, &kOne, {}}; // a value read before the load finished
    CHECK_FALSE(decideWriteSwitch(loading).writable);
    CHECK(decideWriteSwitch(loading).reason.find("unknown: the settings service is still loading") !=
          std::string::npos);
    CHECK_FALSE(decideWriteSwitch(onGx(&kInvalid)).writable);
    CHECK(decideWriteSwitch(onGx(&kInvalid)).reason ==
          "refused: com.victronenergy.settings /Settings/ModbusServer/ReadWrite unknown: it is invalid");
}

TEST_CASE("only a bus that never had a settings service is not a GX device") {
    auto none = decideWriteSwitch({false, false, false, false, nullptr, {}});
    CHECK(none.writable);
    CHECK(none.reason == "enabled: no com.victronenergy.settings on this bus (not a GX device)");
    auto noSetting = decideWriteSwitch(onGx(nullptr)); // loaded, but without the setting
    CHECK(noSetting.writable);
    CHECK(noSetting.reason == "enabled: com.victronenergy.settings has no /Settings/ModbusServer/ReadWrite");
}

TEST_CASE("read-only mode (--read-only) refuses writes whatever the GX setting says, and the log says so") {
    for (const auto* setting : {&kOne, &kZero, static_cast<const codec::Value*>(nullptr)}) {
        auto d = decideWriteSwitch({true, true, true, true, setting, {}});
        CHECK_FALSE(d.writable);
        CHECK(d.reason == "refused by --read-only");
    }
    CHECK(decideWriteSwitch({true, false, false, false, nullptr, {}}).reason == "refused by --read-only");
}

TEST_CASE(
    "the switch is decided on the setting's number: 0 read-only, another integer read-write, else unknown") {
    // 0 in every form a D-Bus number can take is read-only, whatever its text ("-0", "0").
    for (const codec::Value& zero : {codec::Value{std::int64_t{0}}, codec::Value{std::uint64_t{0}},
                                     codec::Value{0.0}, codec::Value{-0.0}, codec::Value{false}}) {
        INFO(codec::toText(zero));
        CHECK(app::settingAllowsWrites(zero) == false);
        auto d = decideWriteSwitch(onGx(&zero));
        CHECK_FALSE(d.writable);
        CHECK(d.reason.rfind("refused by the GX setting com.victronenergy.settings "
                             "/Settings/ModbusServer/ReadWrite = ",
                             0) == 0);
    }
    CHECK(decideWriteSwitch(onGx(&kZero)).reason.ends_with(" = 0"));
    const codec::Value minusZero = -0.0;
    CHECK(decideWriteSwitch(onGx(&minusZero)).reason.ends_with(" = -0"));
    // Any other integer, as whichever D-Bus number, is read-write.
    for (const codec::Value& on : {codec::Value{std::int64_t{1}}, codec::Value{std::int64_t{-1}},
                                   codec::Value{std::uint64_t{2}}, codec::Value{1.0}, codec::Value{true}}) {
        INFO(codec::toText(on));
        CHECK(app::settingAllowsWrites(on) == true);
        auto d = decideWriteSwitch(onGx(&on));
        CHECK(d.writable);
        CHECK(d.reason.rfind("enabled by the GX setting", 0) == 0);
    }
    // A fraction, NaN, an infinity or a string (even "0" or "1") is no switch position: unknown.
    for (const codec::Value& odd :
         {codec::Value{0.4}, codec::Value{-0.4}, codec::Value{1.5}, codec::Value{std::nan("")},
          codec::Value{HUGE_VAL}, codec::Value{std::string("abc")}, codec::Value{std::string("0")},
          codec::Value{std::string("1")}, codec::Value{std::string("-0")}, codec::Value{}}) {
        INFO(codec::toText(odd));
        CHECK_FALSE(app::settingAllowsWrites(odd).has_value());
        auto d = decideWriteSwitch(onGx(&odd));
        CHECK_FALSE(d.writable);
        CHECK(d.reason.rfind("refused: com.victronenergy.settings /Settings/ModbusServer/ReadWrite unknown: ",
                             0) == 0);
    }
    const codec::Value fraction = 0.4;
    CHECK(decideWriteSwitch(onGx(&fraction)).reason ==
          "refused: com.victronenergy.settings /Settings/ModbusServer/ReadWrite unknown: 0.4 is not an "
          "integer");
    const codec::Value text = std::string("abc");
    CHECK(decideWriteSwitch(onGx(&text)).reason ==
          "refused: com.victronenergy.settings "
          "/Settings/ModbusServer/ReadWrite unknown: the string 'abc' "
          "is not an integer");
}

TEST_CASE("a setting whose read failed is unknown: writes refused, whatever was read before") {
    // A failed read leaves no value, or (a retry's failure) an older one: neither decides.
    for (const auto* setting : {static_cast<const codec::Value*>(nullptr), &kOne, &kZero}) {
        WriteSwitchState failed = onGx(setting);
        failed.readError = "org.freedesktop.DBus.Error.Failed: no reading now";
        auto d = decideWriteSwitch(failed);
        CHECK_FALSE(d.writable);
        CHECK(d.reason ==
              "refused: com.victronenergy.settings /Settings/ModbusServer/ReadWrite unknown: its read "
              "failed (org.freedesktop.DBus.Error.Failed: no reading now); reading it again");
    }
    // --read-only and "not a GX device" are decided before; leaving and loading name their own case.
    WriteSwitchState readOnly{true, true, true, true, nullptr, "org.freedesktop.DBus.Error.Failed"};
    CHECK(decideWriteSwitch(readOnly).reason == "refused by --read-only");
    WriteSwitchState left{false, true, false, false, nullptr, "org.freedesktop.DBus.Error.Failed"};
    CHECK(decideWriteSwitch(left).reason.find("the settings service left the bus") != std::string::npos);
}
