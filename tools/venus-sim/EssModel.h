#pragma once

// A simple plant model of an ESS site, so that a control loop can be tried without hardware.
//
// All loads are on the Multi's AC output and PV is DC-coupled (solar chargers), so the grid
// exchange is the Multi's AC-input power P_in (positive: from the grid). Each tick:
//   target P_in = sum of /Hub4/L{1,2,3}/AcPowerSetpoint           in mode 3 (external control)
//               = hub4 /Overrides/Setpoint, else settings
//                 /Settings/CGwacs/AcPowerSetPoint (the grid set point)  in modes 1 and 2
//   battery power = P_in + PV - consumption; /Hub4/DisableFeedIn keeps P_in >= 0,
//   /Hub4/DisableCharge keeps battery power <= 0, a full battery does not charge, an empty one
//   does not discharge; P_in follows its target with the time constant `response-s`.
// Outputs: vebus /Ac/ActiveIn/*/P, /Dc/0/*, /Soc; system /Ac/Grid/*, /Dc/Battery/*; grid meter
// /Ac/L1/Power, /Ac/Power; battery /Dc/0/*, /Soc.

#include "Scenario.h"
#include "SimService.h"

#include <vector>

namespace vmd::sim {

/// The pure part: one step of the plant.
struct EssInputs {
    int mode = 1;                ///< /Settings/CGwacs/Hub4Mode
    double gridSetpoint = 0;     ///< modes 1/2
    double externalSetpoint = 0; ///< mode 3: sum of the phase set points
    bool disableCharge = false;
    bool disableFeedIn = false;
    double consumption = 0; ///< W on the AC output
    double pv = 0;          ///< W DC from the solar chargers
    double batteryVoltage = 52;
};

struct EssState {
    double acIn = 0;    ///< W from the grid into the Multi
    double battery = 0; ///< W into the battery
    double soc = 50;    ///< %
};

EssState essStep(const EssInputs& in, const EssState& state, const EssModelSpec& spec, double dtSeconds);

class EssModel {
  public:
    EssModel(const EssModelSpec& spec, const std::vector<SimService*>& services);
    /// Reads the inputs from the services, steps the plant and publishes the outputs.
    void tick(double dtSeconds);

  private:
    SimService* find(const std::string& type) const;
    double read(SimService* s, const std::string& path, double otherwise) const;

    EssModelSpec spec_;
    std::vector<SimService*> services_;
    SimService* vebus_;
    SimService* system_;
    SimService* settings_;
    SimService* hub4_;
    SimService* battery_;
    SimService* grid_;
    EssState state_;
};

} // namespace vmd::sim
