#include "EssModel.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace vmd::sim {

EssState essStep(const EssInputs& in, const EssState& state, const EssModelSpec& spec, double dtSeconds) {
    double target = in.mode == 3 ? in.externalSetpoint : in.gridSetpoint;
    if (in.disableFeedIn) target = std::max(target, 0.0);
    // What the battery would take at that grid power; the battery's limits move the grid instead.
    double battery = target + in.pv - in.consumption;
    if ((in.disableCharge || state.soc >= 100.0) && battery > 0) battery = 0;
    if (state.soc <= 0.0 && battery < 0) battery = 0;
    target = battery - in.pv + in.consumption;
    if (in.disableFeedIn) target = std::max(target, 0.0);

    EssState next = state;
    const double alpha = std::min(1.0, dtSeconds / spec.responseSeconds);
    next.acIn = state.acIn + (target - state.acIn) * alpha;
    next.battery = next.acIn + in.pv - in.consumption;
    next.soc =
        std::clamp(state.soc + next.battery * dtSeconds / 3600.0 / spec.capacityWh * 100.0, 0.0, 100.0);
    return next;
}

EssModel::EssModel(const EssModelSpec& spec, const std::vector<SimService*>& services)
    : spec_(spec), services_(services), vebus_(find("vebus")), system_(find("system")),
      settings_(find("settings")), hub4_(find("hub4")), battery_(find("battery")), grid_(find("grid")) {
    if (!vebus_ || !settings_) throw std::runtime_error("the ess model needs a vebus and a settings service");
    for (auto* s : services_)
        for (const char* p :
             {"/Ac/ActiveIn/L1/P", "/Ac/ActiveIn/P", "/Ac/Grid/L1/Power", "/Ac/L1/Power", "/Ac/Power",
              "/Dc/0/Power", "/Dc/0/Current", "/Soc", "/Dc/Battery/Power", "/Dc/Battery/Current",
              "/Dc/Battery/Soc", "/Ac/ActiveIn/L2/P", "/Ac/ActiveIn/L3/P"})
            s->drive(p);
    state_.soc = read(battery_ ? battery_ : vebus_, "/Soc", 50);
    state_.acIn = read(vebus_, "/Ac/ActiveIn/L1/P", 0);
}

SimService* EssModel::find(const std::string& type) const {
    for (auto* s : services_)
        if (s->type() == type) return s;
    return nullptr;
}

double EssModel::read(SimService* s, const std::string& path, double otherwise) const {
    if (!s) return otherwise;
    auto v = s->number(path);
    return v && std::isfinite(*v) ? *v : otherwise;
}

void EssModel::tick(double dtSeconds) {
    EssInputs in;
    in.mode = static_cast<int>(read(settings_, "/Settings/CGwacs/Hub4Mode", 1));
    in.gridSetpoint =
        read(hub4_, "/Overrides/Setpoint", read(settings_, "/Settings/CGwacs/AcPowerSetPoint", 0));
    in.externalSetpoint = read(vebus_, "/Hub4/L1/AcPowerSetpoint", 0) +
                          read(vebus_, "/Hub4/L2/AcPowerSetpoint", 0) +
                          read(vebus_, "/Hub4/L3/AcPowerSetpoint", 0);
    in.disableCharge = read(vebus_, "/Hub4/DisableCharge", 0) != 0;
    in.disableFeedIn = read(vebus_, "/Hub4/DisableFeedIn", 0) != 0;
    in.consumption = read(system_, "/Ac/Consumption/L1/Power", 0) +
                     read(system_, "/Ac/Consumption/L2/Power", 0) +
                     read(system_, "/Ac/Consumption/L3/Power", 0);
    in.pv = read(system_, "/Dc/Pv/Power", 0);
    in.batteryVoltage = read(battery_ ? battery_ : vebus_, "/Dc/0/Voltage", 52);
    state_ = essStep(in, state_, spec_, dtSeconds);

    const double current = in.batteryVoltage > 1 ? state_.battery / in.batteryVoltage : 0;
    vebus_->setNumbers({{"/Ac/ActiveIn/L1/P", state_.acIn},
                        {"/Ac/ActiveIn/P", state_.acIn},
                        {"/Dc/0/Current", current},
                        {"/Dc/0/Power", state_.battery},
                        {"/Soc", state_.soc}});
    if (system_)
        system_->setNumbers({{"/Ac/Grid/L1/Power", state_.acIn},
                             {"/Dc/Battery/Power", state_.battery},
                             {"/Dc/Battery/Current", current},
                             {"/Dc/Battery/Soc", state_.soc}});
    if (grid_) grid_->setNumbers({{"/Ac/L1/Power", state_.acIn}, {"/Ac/Power", state_.acIn}});
    if (battery_)
        battery_->setNumbers(
            {{"/Dc/0/Power", state_.battery}, {"/Dc/0/Current", current}, {"/Soc", state_.soc}});
}

} // namespace vmd::sim
