// The path-list reader of venus-regmap (tools/venus-regmap/PathListParser.h).
#include "PathListParser.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace vmd::regmaptool;

namespace {

std::vector<std::string> lines(const std::vector<ListedPath>& paths) {
    std::vector<std::string> out;
    for (const auto& p : paths)
        out.push_back(p.service + " " + p.path + " [" + p.unit + "] " + p.description + " @" +
                      std::to_string(p.line));
    return out;
}

std::vector<std::string> problemsOf(const std::string& text) {
    Diagnostics problems;
    (void)parsePathList(text, "list.txt", problems);
    std::vector<std::string> out;
    for (const auto& d : problems)
        out.push_back(d.format());
    return out;
}

} // namespace

TEST_CASE("path list: sections, arrows and descriptions", "[pathlist]") {
    const std::string text = "Index:\n"
                             "- generic\n"
                             "- vebus (inverter/charger)\n"
                             "Generic paths\n"
                             "/ProductName\n"
                             "Vebus\n"
                             "com.victronenergy.vebus\n"
                             "/Ac/ActiveIn/L1/F <- Frequency\n"
                             "    continued prose, not a path\n"
                             "/Ac/PowerMeasurementType, further below).\n"
                             "/Alarms/HighDcVoltage <= 0=OK; 2=High DC voltage\n"
                             "/Ac/In/1/CurrentLimit GetMin <- a method, not a path\n"
                             "Ac/State/IgnoreAcIn1 <- 0 = not ignored\n"
                             "/Temperature degrees Celcius\n"
                             "/Dc/0/Voltage <-- V DC\n";
    Diagnostics problems;
    auto paths = parsePathList(text, "list.txt", problems);
    CHECK(problems.empty());
    CHECK(lines(paths) == std::vector<std::string>{
                              "generic /ProductName []  @5",
                              "vebus /Ac/ActiveIn/L1/F [] Frequency @8",
                              "vebus /Alarms/HighDcVoltage [] 0=OK; 2=High DC voltage @11",
                              "vebus /Ac/State/IgnoreAcIn1 [] 0 = not ignored @13",
                              "vebus /Temperature [°C] degrees Celcius @14",
                              "vebus /Dc/0/Voltage [V DC] V DC @15",
                          });
}

TEST_CASE("path list: header lines that follow each other share a section; prefixes", "[pathlist]") {
    const std::string text = "com.victronenergy.grid\n"
                             "com.victronenergy.genset (when used to measure a genset)\n"
                             "/Ac/L1/Power <- W, real power\n"
                             "alternator is com.victronenergy.alternator\n"
                             "/Speed <- RPM\n"
                             "com.victronenergy.platform Gui/RunningVersion\n"
                             "com.victronenergy.platform/Notifications/\n"
                             "AcknowledgeAll <- write 1\n"
                             "1) Warning -> prose\n"
                             "[0-19]/Type <- Type of notification\n";
    Diagnostics problems;
    auto paths = parsePathList(text, "list.txt", problems);
    CHECK(problems.empty());
    CHECK(lines(paths) == std::vector<std::string>{
                              "grid /Ac/L1/Power [W] W, real power @3",
                              "genset /Ac/L1/Power [W] W, real power @3",
                              "alternator /Speed [RPM] RPM @5",
                              "platform /Gui/RunningVersion []  @6",
                              "platform /Notifications/AcknowledgeAll [] write 1 @8",
                              "platform /Notifications/[0-19]/Type [] Type of notification @10",
                          });
}

TEST_CASE("path list: placeholders are kept; a line ending in & continues on the next", "[pathlist]") {
    const std::string text = "com.victronenergy.multi\n"
                             "/Pv/x/V <- PV voltage (V)\n"
                             "/Ac/In/n/Lx/* <- Same for every input and every phase\n"
                             "/Devices/#/Line/0/Instance <-- Line #1\n"
                             "/Distributor/B/... <= Repeat\n"
                             "/Ac/Consumption/L1/Power <- Total of /ConsumptionOnInput &\n"
                             "/ConsumptionOnOutput\n"
                             "/Timers/TimeOnGrid -> Time on the grid (in seconds)\n";
    Diagnostics problems;
    auto paths = parsePathList(text, "list.txt", problems);
    CHECK(problems.empty());
    CHECK(lines(paths) == std::vector<std::string>{
                              "multi /Pv/x/V [V] PV voltage (V) @2",
                              "multi /Ac/In/n/Lx/* [] Same for every input and every phase @3",
                              "multi /Devices/#/Line/0/Instance [] Line #1 @4",
                              "multi /Distributor/B/... [] Repeat @5",
                              "multi /Ac/Consumption/L1/Power [] Total of /ConsumptionOnInput & @6",
                              "multi /Timers/TimeOnGrid [s] Time on the grid (in seconds) @8",
                          });
}

TEST_CASE("path list: malformed path lines are problems at their line", "[pathlist]") {
    CHECK(problemsOf("com.victronenergy.battery\n/Dc//V <- x\n") ==
          std::vector<std::string>{"list.txt:2: malformed path '/Dc//V': an empty component"});
    CHECK(problemsOf("com.victronenergy.battery\n/Cell/[9-1]/V\n") ==
          std::vector<std::string>{"list.txt:2: malformed path '/Cell/[9-1]/V': '[9-1]' is not a range [A-B] "
                                   "of numbers with A <= B"});
    CHECK(problemsOf("com.victronenergy.battery\n/Cell/[1-/V\n") ==
          std::vector<std::string>{"list.txt:2: malformed path '/Cell/[1-/V': '[1-' is not a range [A-B]"});
    CHECK(problemsOf("/Soc <- no section yet\n") ==
          std::vector<std::string>{
              "list.txt:1: path '/Soc' before the first service section (com.victronenergy.TYPE)"});
    CHECK(problemsOf(std::string("com.victronenergy.battery\n/So\x01"
                                 "c\n",
                                 31))
              .size() == 1);
    CHECK(problemsOf(std::string(4096, '\0')).empty());
}

TEST_CASE("path list: units named in descriptions", "[pathlist]") {
    CHECK(unitOf("Total power (W)") == "W");
    CHECK(unitOf("PV power in Watts") == "W");
    CHECK(unitOf("time to go, in seconds") == "s");
    CHECK(unitOf("Run time since last test run (seconds)") == "s");
    CHECK(unitOf("Water temperature in degrees Celsius") == "°C");
    CHECK(unitOf("Total energy, kWh") == "kWh");
    CHECK(unitOf("Level 0 to 100%") == "%");
    CHECK(unitOf("V AC") == "V AC");
    CHECK(unitOf("A, positive when charging") == "A");
    CHECK(unitOf("Alarm state") == "");
    CHECK(unitOf("Bitmask indicating the reason(s) that it is off") == "");
    CHECK(unitOf("Total energy consumed by dc load(s).") == "");
}

TEST_CASE("path list: a placeholder path stands for the concrete paths", "[pathlist]") {
    CHECK(pathMatches("/Pv/x/V", "/Pv/0/V"));
    CHECK_FALSE(pathMatches("/Pv/x/V", "/Pv/A/V"));
    CHECK(pathMatches("/Pv/x/V", "/Pv/x/V"));
    CHECK(pathMatches("/Ac/Lx/*", "/Ac/L2/Power"));
    CHECK_FALSE(pathMatches("/Ac/Lx/*", "/Ac/L2"));
    CHECK(pathMatches("/Notifications/[0-19]/Type", "/Notifications/19/Type"));
    CHECK_FALSE(pathMatches("/Notifications/[0-19]/Type", "/Notifications/20/Type"));
    CHECK(pathMatches("/Devices/#/DcSource/n/Instance", "/Devices/3/DcSource/1/Instance"));
    CHECK(pathMatches("/Soc", "/Soc"));
    CHECK_FALSE(pathMatches("/Soc", "/Soc/Extra"));
}
