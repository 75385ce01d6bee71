#!/usr/bin/env python3
"""Bootstraps the hand-curated sources of the register map (register-maps/src/).

    tools/regmap/derive-sources.py --seed DBUS_PATHS_TXT --reference REFERENCE_DIR --out DIR [--force]

It was run once to write the first version of
  paths.yaml       the D-Bus path list, per service type (from the wiki dump dbus-paths.txt and the
                   paths of the published register list),
  published.yaml   the 1003 published registers (facts only: address, type, scale, path, D-Bus type,
                   access; from attributes.csv),
  extensions.yaml  our own registers at 40000 and up (per-service blocks),
  unit-ids.yaml    the unit-ID table (from unitid2di.csv).
Since then the YAML files are the source of truth and are edited by hand (for example the 32-bit twin
of /Settings/CGwacs/AcPowerSetPoint at 40803 was added there): neither input is part of the repository,
and running the script again with --force would undo those edits. Its tables record the curation
decisions taken when the list was first made. After editing the YAML, run `build/venus-regmap generate`,
`export` and `coverage` (see docs/registers.md).
"""
import argparse
import csv
import math
import os
import re
import sys

# --------------------------------------------------------------------------------------------
# 1. Reading the wiki dump: line ranges of each section and the service type(s) it describes.
# --------------------------------------------------------------------------------------------
SECTIONS = [
    (44, 56, "generic"), (86, 219, "system"), (220, 237, "hub4"), (238, 248, "settings"),
    (249, 255, "platform"), (256, 308, "settings"), (309, 459, "vebus"), (460, 537, "multi"),
    (538, 578, "acsystem"), (579, 595, "inverter"), (596, 704, "battery"), (705, 825, "solarcharger"),
    (826, 841, "dcdc"), (842, 863, "pvinverter"), (864, 921, "charger"), (922, 939, "grid"),
    (940, 958, "temperature"), (959, 988, "tank"), (998, 1048, "genset"), (1049, 1091, "generator"),
    (1092, 1107, "vecan"), (1108, 1180, "alternator"), (1181, 1193, "fuelcell"),
    (1194, 1207, "motordrive"), (1208, 1221, "dcsystem"), (1222, 1234, "dcload"),
    (1235, 1266, "evcharger"), (1267, 1272, "heatpump"), (1273, 1328, "switch"), (1329, 1341, "rvc"),
    (1342, 1403, "platform"),
]
PATH_LINE = re.compile(
    r"^(/[A-Za-z0-9_/#*.\[\]\-]+|Ac/In/\d/\w+|Ac/State/\w+|Ac/Number\w+|Settings/Gui/\w+:?|Gui/\w+|"
    r"\[0-19\]/\w+|AcknowledgeAll|Alarm|Alert|NumberOf\w+)(?=\s|$|:)(.*)$")

SERVICE_ORDER = [
    "generic", "system", "hub4", "settings", "platform", "vebus", "multi", "acsystem", "inverter",
    "battery", "solarcharger", "dcdc", "pvinverter", "charger", "grid", "genset", "dcgenset", "acload",
    "temperature", "tank", "gps", "meteo", "pulsemeter", "digitalinput", "pump", "generator", "vecan",
    "alternator", "dcsource", "fuelcell", "motordrive", "dcsystem", "dcload", "evcharger", "heatpump",
    "switch", "rvc",
]
TITLES = {
    "generic": ("Paths every device service publishes", "the unit of the service they belong to"),
    "system": ("System overview (dbus-systemcalc-py)", "100 (instance 0); 0 works too"),
    "hub4": ("ESS control loop (hub4control)", "100 (instance 0)"),
    "settings": ("Settings (localsettings)", "100 (instance 0)"),
    "platform": ("Platform: notifications and GUI (venus-platform)", "100 (instance 0)"),
    "vebus": ("VE.Bus inverter/chargers (Multi, Quattro)",
              "the VE.Bus port: 227 Cerbo GX, 228 MultiPlus-II GX/EasySolar-II GX, 242 Venus GX, 246 CCGX"),
    "multi": ("Multi RS and newer inverter/chargers", "the device's /DeviceInstance"),
    "acsystem": ("AC system: managing service of Multi RS groups", "the service's /DeviceInstance"),
    "inverter": ("Inverters (VE.Direct inverters, Inverter RS)",
                 "the device's /DeviceInstance; VE.Direct ports via the unit table (204-247)"),
    "battery": ("Batteries and battery monitors",
                "the device's /DeviceInstance; 225 for a CAN-bus BMS (instance 512); VE.Direct ports 204-247"),
    "solarcharger": ("Solar chargers (MPPT)",
                     "the device's /DeviceInstance; VE.Direct ports via the unit table (204-247)"),
    "dcdc": ("DC-DC converters (Orion XS and others)", "the device's /DeviceInstance"),
    "pvinverter": ("PV inverters (AC-coupled PV)", "the device's /DeviceInstance"),
    "charger": ("AC chargers (Phoenix Smart, Skylla)", "the device's /DeviceInstance"),
    "grid": ("Grid meters", "the device's /DeviceInstance"),
    "genset": ("AC generators and genset meters", "the device's /DeviceInstance"),
    "dcgenset": ("DC generators", "the device's /DeviceInstance"),
    "acload": ("AC load meters", "the device's /DeviceInstance"),
    "temperature": ("Temperature and environment sensors", "the device's /DeviceInstance"),
    "tank": ("Tank levels", "the device's /DeviceInstance"),
    "gps": ("GPS", "the device's /DeviceInstance"),
    "meteo": ("Meteo sensors (irradiance, wind)", "the device's /DeviceInstance"),
    "pulsemeter": ("Pulse meters (digital inputs counting pulses)", "the device's /DeviceInstance"),
    "digitalinput": ("Digital inputs", "the device's /DeviceInstance"),
    "pump": ("Tank pump start/stop", "100 (instance 0)"),
    "generator": ("Generator start/stop", "the service's /DeviceInstance (startstop0 is usually 0: unit 100)"),
    "vecan": ("VE.Can interface: broadcast values", "the service's /DeviceInstance"),
    "alternator": ("Alternators (Wakespeed, Arco, Orion XS, DC meters)", "the device's /DeviceInstance"),
    "dcsource": ("DC sources (DC meters configured as a source)", "the device's /DeviceInstance"),
    "fuelcell": ("Fuel cells", "the device's /DeviceInstance"),
    "motordrive": ("Electric motor drives", "the device's /DeviceInstance"),
    "dcsystem": ("DC systems (DC meters for the whole DC system)", "the device's /DeviceInstance"),
    "dcload": ("DC loads", "the device's /DeviceInstance"),
    "evcharger": ("EV charging stations", "the device's /DeviceInstance"),
    "heatpump": ("Heat pumps", "the device's /DeviceInstance"),
    "switch": ("Switches (SmartSwitch and similar)", "the device's /DeviceInstance"),
    "rvc": ("RV-C interface", "the service's /DeviceInstance"),
}

PHASES_ = ("L1", "L2", "L3")
ENUM_ALARM = {0: "OK", 1: "Warning", 2: "Alarm"}
ENUM_NOYES = {0: "No", 1: "Yes"}
ENUM_OFFON = {0: "Off", 1: "On"}
ENUM_SOLAR_ERRORS = None  # filled from the solar charger section
ENUM_CHARGER_STATE = {0: "Off", 2: "Fault", 3: "Bulk", 4: "Absorption", 5: "Float", 6: "Storage", 7: "Equalize",
                      252: "External control"}
ENUM_NETWORK_MODE = {1: "External control", 4: "External voltage/current control", 8: "Controlled by BMS"}
ENUM_NETWORK_STATUS = {1: "Slave", 2: "Master", 4: "Standalone", 32: "Using I-sense", 64: "Using T-sense",
                       128: "Using V-sense"}
ENUM_DEVICE_OFF = {0x1: "No/low input power", 0x2: "Disabled by physical switch",
                   0x4: "Remote via device mode or push-button", 0x8: "Remote input connector",
                   0x10: "Internal condition preventing start-up", 0x20: "Need token for operation",
                   0x40: "Signal from BMS", 0x80: "Engine shutdown on low input voltage",
                   0x100: "Off to read input voltage accurately", 0x200: "Low temperature",
                   0x400: "No/low panel power", 0x800: "No/low battery power", 0x8000: "Active alarm"}
ENUM_AC_SOURCE = {0: "Not used", 1: "Grid", 2: "Generator", 3: "Shore"}
ENUM_MPP = {0: "Off", 1: "Voltage or current limited", 2: "MPP tracker active"}
ENUM_ONOFF_MODE = {1: "On", 4: "Off"}
ENUM_SWITCH_MODE = {1: "Charger only", 2: "Inverter only", 3: "On", 4: "Off"}
ENUM_LED = {0: "Off", 1: "On", 2: "Blinking", 3: "Blinking inverted"}
ENUM_MONITOR_MODE = {-1: "DC generator", -2: "AC charger", -3: "DC-DC charger", -4: "Water generator",
                     -7: "Shaft generator", -8: "Wind charger"}

# Descriptions (our words), units, enums, access and exclusions that the automatic reading gets
# wrong or cannot know. Keyed by (service, path); "*" as service applies to every service.
FIX = {}


def fix(service, path, **kw):
    FIX.setdefault((service, path), {}).update(kw)


# --------------------------------------------------------------------------------------------
# Generic paths
# --------------------------------------------------------------------------------------------
fix("generic", "/ProductName", kind="text", length=32, description="Product name")
fix("generic", "/CustomName", kind="text", length=32, access="W", description="Custom name given by the user")
fix("generic", "/Mgmt/Connection", kind="text",
    exclude="management text (how the service reaches the device): diagnostics, not device data")
fix("generic", "/Mgmt/ProcessName", kind="text", exclude="management text (process name): diagnostics, not device data")
fix("generic", "/Mgmt/ProcessVersion", kind="text",
    exclude="management text (process version): diagnostics, not device data")
fix("generic", "/Connected", enum={0: "Not connected", 1: "Connected"}, description="Device connected")
fix("generic", "/DeviceInstance", description="Device instance (the unit ID of the device)")
fix("generic", "/ProductId", description="Victron product ID")
fix("generic", "/Serial", kind="text", length=16, description="Serial number")
fix("generic", "/HardwareVersion", kind="text", length=16, description="Hardware version")
fix("generic", "/FirmwareVersion", description="Firmware version (Victron format, e.g. 0x034201 = v3.42 build 1)")

# --------------------------------------------------------------------------------------------
# system
# --------------------------------------------------------------------------------------------
fix("system", "/Ac/ActiveIn/Source",
    enum={0: "Not available", 1: "Grid", 2: "Generator", 3: "Shore power", 240: "Inverting/island mode"},
    description="Source of the active AC input")
fix("system", "/Ac/ActiveIn/FeedbackEnabled", enum={0: "Excess PV not fed in", 1: "Excess PV fed into the grid"},
    description="Excess PV (AC or DC coupled) is fed into the grid")
fix("system", "/Ac/Consumption/NumberOfPhases", enum={1: "Single phase", 2: "Split phase", 3: "Three phase"},
    description="Number of phases of the AC consumption")
fix("system", "/Ac/Genset/ProductId", description="Product ID of the genset meter")
fix("system", "/Ac/Genset/DeviceType", description="Device type of the genset meter")
fix("system", "/Ac/Grid/ProductId", description="Product ID of the grid meter")
fix("system", "/Ac/Grid/DeviceType", description="Device type of the grid meter (0 = generic; invalid without meter)")
for n, which in ((0, "first"), (1, "second")):
    fix("system", "/Ac/In/%d/Connected" % n, enum={0: "Disconnected", 1: "Connected"},
        description="AC input %d (%s) connected" % (n, which))
    fix("system", "/Ac/In/%d/DeviceInstance" % n,
        description="AC input %d: instance of the service measuring it" % n)
    fix("system", "/Ac/In/%d/ServiceName" % n, kind="text", length=64,
        description="AC input %d: name of the service measuring it" % n)
    fix("system", "/Ac/In/%d/ServiceType" % n, kind="text", length=16,
        description="AC input %d: type of the service measuring it (vebus, grid, genset, multi)" % n)
    fix("system", "/Ac/In/%d/Source" % n, enum=ENUM_AC_SOURCE, description="AC input %d: source connected" % n)
fix("system", "/Dc/Battery/Alarms/CircuitBreakerTripped", enum=ENUM_ALARM,
    description="Battery circuit breaker tripped alarm")
fix("system", "/Dc/Battery/TimeToGo", unit="s",
    description="Battery time to go until the discharge floor (capped at 864000 s when not discharging)")
fix("system", "/Dc/Pv/Current", description="Total output current of all solar chargers")
fix("system", "/Dc/Pv/Power", description="Total output power of all solar chargers")
fix("system", "/Dc/System/Power", description="DC system power (DC loads and chargers not otherwise measured)")
fix("system", "/Dc/Vebus/Current", description="DC current of the VE.Bus system (charge/discharge)")
fix("system", "/Dc/Vebus/Power", description="DC power of the VE.Bus system")
fix("system", "/Dc/InverterCharger/Power", description="DC power of all inverter/chargers (Multi, Multi RS, Inverter RS)")
fix("system", "/Dc/InverterCharger/Current", description="DC current of all inverter/chargers")
fix("system", "/Batteries", kind="array", exclude="array-valued (list of battery records, for user interfaces)")
fix("system", "/AvailableBatteries", kind="array", exclude="array-valued (list of battery measurements)")
fix("system", "/ActiveBatteryService", kind="text", length=64, description="Battery service in use (selection setting)")
fix("system", "/AutoSelectedBatteryMeasurement", kind="text", length=64,
    description="Battery measurement selected automatically (also used for V-sense)")
fix("system", "/AutoSelectedBatteryService", kind="text", length=64, description="Battery service selected automatically")
fix("system", "/AvailableBatteryMeasurements", kind="array",
    exclude="array-valued (dictionary of the measurements offered in the battery selection menu)")
fix("system", "/AvailableBatteryServices", kind="array",
    exclude="array-valued (dictionary of the services offered in the battery selection menu)")
fix("system", "/Control/ExtraBatteryCurrent", enum={0: "No syncing", 1: "Solar charger current synced with the Multi"},
    description="Solar charger current is synced with the Multi to improve the SOC")
fix("system", "/Control/SolarChargeCurrent", enum={0: "No limiting", 1: "Limited by user setting or battery"},
    description="Solar charger current is limited (user setting or intelligent battery)")
fix("system", "/Control/SolarChargeVoltage", enum={0: "No control", 1: "Controlled by battery or Multi"},
    description="Solar charger voltage is controlled (intelligent battery or Multi)")
fix("system", "/Control/VebusSoc", enum={0: "No syncing", 1: "Battery SOC synced with the Multi"},
    description="Battery SOC is synced with the Multi")
fix("system", "/Control/BatteryCurrentSense",
    enum={0: "Disabled", 1: "Disabled: external control", 2: "Disabled: no compatible solar chargers",
          3: "Disabled: no suitable battery monitor", 4: "Enabled"},
    description="Battery current sense: battery current sent to the solar chargers")
fix("system", "/SystemState/State",
    enum={0: "Off", 1: "Low power", 2: "VE.Bus fault", 3: "Bulk charging", 4: "Absorption charging",
          5: "Float charging", 6: "Storage mode", 7: "Equalisation charging", 8: "Passthru", 9: "Inverting",
          10: "Assisting", 244: "Battery sustain", 252: "External control", 256: "Discharging", 257: "Sustain",
          258: "Recharge", 259: "Scheduled recharge"},
    description="System state (VE.Bus states plus ESS states)")
for p, d in (("BatteryLife", "BatteryLife is active"), ("ChargeDisabled", "BMS has disabled charging"),
             ("DischargeDisabled", "BMS has disabled discharging"), ("LowSoc", "Battery at the minimum SOC"),
             ("SlowCharge", "Slow charging from the grid"), ("UserChargeLimited", "User set a charge limit of 0"),
             ("UserDischargeLimited", "User set a maximum inverter power of 0")):
    fix("system", "/SystemState/" + p, enum=ENUM_NOYES, description="System state flag: " + d)
fix("system", "/Timers/TimeOnGrid", unit="s", description="Time on the grid since the last reboot")
fix("system", "/Timers/TimeOnGenerator", unit="s", description="Time on the generator since the last reboot")
fix("system", "/Timers/TimeOnInverter", unit="s", description="Time inverting (grid lost) since the last reboot")
fix("system", "/Timers/TimeOff", unit="s", description="Time the inverter was off since the last reboot")
fix("system", "/Buzzer/State", enum=ENUM_OFFON, description="Buzzer state")
fix("system", "/SystemType", kind="text", length=16, description="System type text (goes with /Hub)")
fix("system", "/Hub", enum={1: "Hub-1", 2: "Hub-2", 3: "Hub-3", 4: "ESS"}, description="Hub type")
fix("system", "/VebusInstance", description="Device instance of the VE.Bus service")
fix("system", "/VebusService", kind="text", length=64, description="Name of the VE.Bus service")
fix("system", "/PvInvertersProductIds", kind="array", exclude="array-valued (product IDs of the PV inverters)")

# --------------------------------------------------------------------------------------------
# hub4
# --------------------------------------------------------------------------------------------
fix("hub4", "/PvPowerLimiterActive", enum=ENUM_NOYES, description="PV inverter zero feed-in active")
fix("hub4", "/MaxChargePower", unit="W", description="Active maximum charge power limit")
fix("hub4", "/MaxDischargePower", unit="W", description="Active maximum discharge power limit")
fix("hub4", "/Overrides/ForceCharge", enum=ENUM_NOYES,
    description="Force charging (used by scheduled charging and Dynamic ESS)")
fix("hub4", "/Overrides/MaxDischargePower", unit="W",
    description="Override of the maximum DC discharge power (scheduled charging, Dynamic ESS)")
fix("hub4", "/Overrides/Setpoint", unit="W", access="W",
    description="Override of the AC power setpoint (volatile; for frequent updates)")
for p, repl in (("/State", "/Settings/CGwacs/BatteryLife/State"), ("/AcPowerSetpoint", "/Settings/CGwacs/AcPowerSetPoint"),
                ("/MaxChargePercentage", "/Settings/CGwacs/MaxChargePercentage"),
                ("/MaxDischargePercentage", "/Settings/CGwacs/MaxDischargePercentage")):
    fix("hub4", p, exclude="deprecated: duplicate of settings %s" % repl)

# --------------------------------------------------------------------------------------------
# settings and platform GUI
# --------------------------------------------------------------------------------------------
fix("settings", "/Settings/Gui/RunningVersion", enum={1: "gui-v1", 2: "gui-v2"}, access="W",
    description="User interface the user prefers")
fix("platform", "/Gui/RunningVersion", enum={1: "gui-v1", 2: "gui-v2"},
    description="User interface actually running on the GX device")
fix("platform", "/Gui/OnScreenGuiv2Supported", enum=ENUM_NOYES, description="gui-v2 can run on the local screen")
fix("settings", "/Settings/CGwacs/AcPowerSetPoint", unit="W", access="W", description="ESS grid setpoint")
fix("settings", "/Settings/CGwacs/BatteryLife/DischargedSoc",
    exclude="deprecated (no longer used by ESS)")
fix("settings", "/Settings/CGwacs/BatteryLife/DischargedTime", exclude="internal state of the BatteryLife algorithm")
fix("settings", "/Settings/CGwacs/BatteryLife/Flags", exclude="internal state of the BatteryLife algorithm")
fix("settings", "/Settings/CGwacs/BatteryLife/MinimumSocLimit", unit="%", access="W",
    description="ESS minimum SOC (unless grid fails)")
fix("settings", "/Settings/CGwacs/BatteryLife/SocLimit", unit="%",
    description="ESS active SOC limit (output of BatteryLife)")
fix("settings", "/Settings/CGwacs/BatteryLife/State", access="W",
    enum={0: "Unused", 1: "Optimized with BatteryLife (restarting)", 2: "Self-consumption",
          3: "Self-consumption, SOC above 85%", 4: "Self-consumption, SOC 100%", 5: "SOC below dynamic limit",
          6: "SOC below limit for 24 h: slow charge", 7: "Sustain", 8: "Recharge",
          9: "Keep batteries charged", 10: "Optimized without BatteryLife: self-consumption",
          11: "Optimized without BatteryLife: SOC below minimum", 12: "Optimized without BatteryLife: recharge"},
    description="ESS state (write 1, 9 or 10 to change the ESS mode)")
fix("settings", "/Settings/CGwacs/Hub4Mode", access="W",
    enum={1: "Optimized/keep charged with phase compensation", 2: "Optimized/keep charged without phase compensation",
          3: "External control"},
    description="ESS mode")
fix("settings", "/Settings/CGwacs/MaxChargePercentage", unit="%", access="W",
    description="ESS maximum charge percentage (deprecated)")
fix("settings", "/Settings/CGwacs/MaxDischargePercentage", unit="%", access="W",
    description="ESS maximum discharge percentage (deprecated)")
fix("settings", "/Settings/CGwacs/MaxChargePower", unit="W", access="W", description="ESS maximum charge power")
fix("settings", "/Settings/CGwacs/MaxDischargePower", unit="W", access="W", description="ESS maximum inverter power")
fix("settings", "/Settings/CGwacs/OvervoltageFeedIn", access="W",
    enum={0: "Do not feed in excess DC-coupled PV", 1: "Feed in excess DC-coupled PV"},
    description="ESS: feed in excess solar charger power")
fix("settings", "/Settings/CGwacs/PreventFeedback", access="W",
    enum={0: "Feed in excess AC-coupled PV", 1: "Do not feed in excess AC-coupled PV"},
    description="ESS: PV inverter zero feed-in")
fix("settings", "/Settings/CGwacs/RunWithoutGridMeter", access="W",
    enum={0: "External grid meter", 1: "Inverter/charger as meter"}, description="ESS: grid metering")

# --------------------------------------------------------------------------------------------
# vebus
# --------------------------------------------------------------------------------------------
for where, label in (("ActiveIn", "Active input"), ("Out", "Output")):
    for ph in ("L1", "L2", "L3", ""):
        pre = "/Ac/%s/%s" % (where, ph) if ph else "/Ac/%s" % where
        lab = "%s %s" % (label, ph) if ph else label
        fix("vebus", pre + "/S", unit="VA",
            exclude="sends no change signals (value would go stale in the server's mirror)")
        if ph:
            fix("vebus", pre + "/F", unit="Hz", description="%s frequency" % lab)
            fix("vebus", pre + "/I", unit="A AC", description="%s current" % lab)
            fix("vebus", pre + "/P", unit="W", description="%s power" % lab)
            fix("vebus", pre + "/V", unit="V AC", description="%s voltage" % lab)
        else:
            fix("vebus", pre + "/P", unit="W", description="%s total power" % lab)
fix("vebus", "/Ac/ActiveIn/Connected", enum={0: "Inverting", 1: "Connected to an AC input"},
    description="Connected to an AC input (deprecated: use /Ac/ActiveIn/ActiveInput)")
fix("vebus", "/Ac/ActiveIn/ActiveInput", enum={0: "AC input 1", 1: "AC input 2", 240: "None (inverting)"},
    description="Active AC input")
fix("vebus", "/Ac/ActiveIn/CurrentLimit", unit="A", access="W",
    description="Active input current limit (deprecated: use /Ac/In/n/CurrentLimit)")
fix("vebus", "/Ac/ActiveIn/CurrentLimitIsAdjustable", enum=ENUM_NOYES,
    description="Active input current limit is adjustable (deprecated)")
for n in (1, 2):
    fix("vebus", "/Ac/In/%d/CurrentLimit" % n, unit="A", access="W",
        description="AC input %d current limit (limits via GetMin/GetMax on the item)" % n)
    fix("vebus", "/Ac/In/%d/CurrentLimitIsAdjustable" % n, enum=ENUM_NOYES,
        description="AC input %d current limit is adjustable" % n)
    fix("vebus", "/Settings/SystemSetup/AcInput%d" % n, enum=ENUM_AC_SOURCE, description="AC input %d type" % n)
    fix("vebus", "/Ac/Control/IgnoreAcIn%d" % n, enum={0: "Do not ignore", 1: "Ignore"}, access="W",
        description="Ignore AC input %d (Multi firmware 502 and later)" % n)
    fix("vebus", "/Ac/State/IgnoreAcIn%d" % n, enum={0: "Not ignored", 1: "Ignored"},
        description="AC input %d is being ignored" % n)
fix("vebus", "/Ac/PowerMeasurementType",
    enum={0: "Apparent power only", 1: "Real power, phase masters, not synced",
          2: "Real power, all devices, not synced", 3: "Real power, phase masters, synced",
          4: "Real power, all devices, synced"},
    description="How the VE.Bus system measures power")
fix("vebus", "/Ac/State/SplitPhaseL2L1OutSummed", enum={0: "Separate", 1: "L1+L2 summed"},
    description="Split phase: L1 and L2 output power summed")
fix("vebus", "/Ac/State/SplitPhaseL2Passthru", enum={0: "L1+L2 shorted", 1: "L2 connected to external L2"},
    description="Split phase: L2 passthru")
for p, d in (("HighDcCurrent", "High DC current"), ("HighDcVoltage", "High DC voltage"),
             ("LowBattery", "Low battery"), ("PhaseRotation", "Phase rotation"), ("Ripple", "High DC ripple"),
             ("TemperatureSensor", "Battery temperature sensor")):
    fix("vebus", "/Alarms/" + p, enum=ENUM_ALARM, description="%s alarm" % d)
for ph in ("L1", "L2", "L3"):
    for p, d in (("HighTemperature", "High temperature"), ("LowBattery", "Low battery"),
                 ("Overload", "Overload"), ("Ripple", "High DC ripple")):
        fix("vebus", "/Alarms/%s/%s" % (ph, p), enum=ENUM_ALARM, description="%s %s alarm" % (ph, d.lower()))
fix("vebus", "/Bms/AllowToCharge", enum=ENUM_NOYES, description="VE.Bus BMS allows charging")
fix("vebus", "/Bms/AllowToDischarge", enum=ENUM_NOYES, description="VE.Bus BMS allows discharging")
fix("vebus", "/Bms/BmsExpected", enum=ENUM_NOYES, description="VE.Bus BMS expected (configured)")
fix("vebus", "/Bms/BmsType", enum={1: "Two-signal BMS", 2: "VE.Bus BMS"}, description="BMS type")
fix("vebus", "/Bms/Error", enum=ENUM_NOYES, description="VE.Bus BMS error")
fix("vebus", "/Bms/PreAlarm", enum=ENUM_NOYES, description="VE.Bus BMS pre-alarm (low battery)")
fix("vebus", "/Dc/0/Voltage", unit="V DC", description="Battery voltage")
fix("vebus", "/Dc/0/Current", unit="A DC", description="Battery current (positive when charging)")
fix("vebus", "/Dc/0/Power", unit="W", description="Battery power (positive when charging)")
fix("vebus", "/Dc/0/Temperature", unit="°C", description="Battery temperature")
fix("vebus", "/Mode", enum=ENUM_SWITCH_MODE, access="W", description="Switch position")
fix("vebus", "/ModeIsAdjustable", enum=ENUM_NOYES, description="Switch position can be set remotely")
fix("vebus", "/State",
    enum={0: "Off", 1: "Low power", 2: "Fault", 3: "Bulk", 4: "Absorption", 5: "Float", 6: "Storage",
          7: "Equalize", 8: "Passthru", 9: "Inverting", 10: "Power assist", 11: "Power supply",
          244: "Sustain", 252: "External control"},
    description="VE.Bus state")
fix("vebus", "/VebusChargeState",
    enum={1: "Bulk", 2: "Absorption", 3: "Float", 4: "Storage", 5: "Repeat absorption", 6: "Forced absorption",
          7: "Equalise", 8: "Bulk stopped"},
    description="VE.Bus charge state")
fix("vebus", "/VebusSetChargeState", access="W",
    enum={1: "Force to equalise", 2: "Force to absorption", 3: "Force to float"},
    description="Force a charge state (equalise, absorption or float)")
for led in ("Mains", "Bulk", "Absorption", "Float", "Inverter", "Overload", "LowBattery", "Temperature"):
    fix("vebus", "/Leds/" + led, enum=ENUM_LED, description="LED %s" % re.sub(r"(?<!^)([A-Z])", r" \1", led).lower())

# --------------------------------------------------------------------------------------------
# multi (Multi RS)
# --------------------------------------------------------------------------------------------
for n in (1, 2):
    for ph in ("L1", "L2", "L3"):
        for q, u, d in (("V", "V AC", "voltage"), ("F", "Hz", "frequency"), ("I", "A AC", "current"), ("P", "W", "power")):
            fix("multi", "/Ac/In/%d/%s/%s" % (n, ph, q), unit=u, description="AC input %d %s %s" % (n, ph, d))
    fix("multi", "/Ac/In/%d/CurrentLimit" % n, unit="A", access="W", description="AC input %d current limit" % n)
    fix("multi", "/Ac/In/%d/CurrentLimitIsAdjustable" % n, enum=ENUM_NOYES,
        description="AC input %d current limit is adjustable" % n)
    fix("multi", "/Ac/In/%d/Type" % n, enum=ENUM_AC_SOURCE, description="AC input %d type" % n)
for ph in ("L1", "L2", "L3"):
    for q, u, d in (("V", "V AC", "voltage"), ("F", "Hz", "frequency"), ("I", "A AC", "current"), ("P", "W", "power")):
        fix("multi", "/Ac/Out/%s/%s" % (ph, q), unit=u, description="AC output %s %s" % (ph, d))
fix("multi", "/Ac/ActiveIn/ActiveInput", enum={0: "AC input 1", 1: "AC input 2", 240: "Not connected"},
    description="Active AC input")
fix("multi", "/Ac/NumberOfPhases", description="Number of AC phases")
fix("multi", "/Ac/NumberOfAcInputs", description="Number of AC inputs")
for p, d in (("LowSoc", "Low state of charge"), ("LowVoltage", "Low battery voltage"),
             ("HighVoltage", "High battery voltage"), ("LowVoltageAcOut", "Low AC output voltage"),
             ("HighVoltageAcOut", "High AC output voltage"), ("HighTemperature", "High device temperature"),
             ("Overload", "Inverter overload"), ("Ripple", "High DC ripple")):
    fix("multi", "/Alarms/" + p, enum=ENUM_ALARM, description="%s alarm" % d)
fix("multi", "/Dc/0/Voltage", unit="V DC", description="Battery voltage")
fix("multi", "/Dc/0/Current", unit="A DC", description="Battery current (positive when charging)")
fix("multi", "/Dc/0/Temperature", unit="°C", description="Battery temperature")
fix("multi", "/Mode", enum=ENUM_SWITCH_MODE, access="W", description="Switch position")
fix("multi", "/State",
    enum={0: "Off", 2: "Fault", 3: "Bulk", 4: "Absorption", 5: "Float", 6: "Storage", 7: "Equalize",
          8: "Passthrough", 9: "Inverting", 245: "Wake-up", 250: "Blocked", 252: "External control"},
    description="Charger state")
fix("multi", "/Soc", unit="%", description="State of charge (internal battery monitor)")
fix("multi", "/ErrorCode", description="Error code (see the solar charger error codes)")
fix("multi", "/DeviceOffReason", enum=ENUM_DEVICE_OFF, bitmask=True, description="Reasons the device is off (bit mask)")
fix("multi", "/Relay/0/State", enum={0: "Open", 1: "Closed"}, description="Relay state")
fix("multi", "/NrOfTrackers", description="Number of PV trackers")
fix("multi", "/Yield/Power", unit="W", description="PV power")
fix("multi", "/Yield/User", unit="kWh", description="PV yield (user resettable)")
fix("multi", "/Yield/System", unit="kWh", description="PV yield (not resettable)")
fix("multi", "/MppOperationMode", enum=ENUM_MPP, description="MPPT mode (all trackers)")

# --------------------------------------------------------------------------------------------
# acsystem
# --------------------------------------------------------------------------------------------
for n in (1, 2):
    fix("acsystem", "/Ac/In/%d/Type" % n, enum={1: "Grid", 2: "Genset", 3: "Shore"}, description="AC input %d type" % n)
    fix("acsystem", "/Ac/In/%d/CurrentLimit" % n, unit="A", access="W", description="AC input %d current limit" % n)
    fix("acsystem", "/Ac/In/%d/P" % n, unit="W", description="AC input %d total power" % n)
    for ph in ("L1", "L2", "L3"):
        fix("acsystem", "/Ac/In/%d/%s/I" % (n, ph), unit="A AC", description="AC input %d %s current" % (n, ph))
        fix("acsystem", "/Ac/In/%d/%s/P" % (n, ph), unit="W", description="AC input %d %s power" % (n, ph))
fix("acsystem", "/Ac/In/1/CurrentLimitIsAdjustable", enum=ENUM_NOYES,
    description="AC input current limit adjustable on every unit")
for ph in ("L1", "L2", "L3"):
    fix("acsystem", "/Ac/Out/%s/I" % ph, unit="A AC", description="AC output %s current" % ph)
    fix("acsystem", "/Ac/Out/%s/P" % ph, unit="W", description="AC output %s power" % ph)
fix("acsystem", "/Mode", enum=ENUM_SWITCH_MODE, access="W", description="Switch position (synced by the RS units)")
fix("acsystem", "/Ess/AcPowerSetpoint", unit="W", access="W", description="ESS AC power setpoint")
fix("acsystem", "/Ess/DisableFeedIn", enum=ENUM_NOYES, access="W", description="ESS: disable feed-in at the metering point")
fix("acsystem", "/Ess/UseInverterPowerSetpoint", enum=ENUM_NOYES, access="W",
    description="ESS: use the inverter power setpoint instead of the AC setpoint (Dynamic ESS)")
fix("acsystem", "/Ess/InverterPowerSetpoint", unit="W", access="W",
    description="ESS inverter power setpoint (positive charges the battery)")
fix("acsystem", "/Settings/Ess/MinimumSocLimit", unit="%", access="W", description="ESS minimum SOC")
fix("acsystem", "/Settings/Ess/Mode", access="W",
    enum={0: "Optimized with BatteryLife", 1: "Optimized without BatteryLife", 2: "Keep batteries charged",
          3: "External control"},
    description="ESS mode")
fix("acsystem", "/Settings/AlarmLevel/...", exclude="family of alarm-level settings whose sub-paths are not listed")
fix("acsystem", "/Capabilities/HasAcPassthroughSupport", enum=ENUM_NOYES, description="All units support AC passthru")
fix("acsystem", "/Capabilities/HasDynamicEssSupport", enum=ENUM_NOYES, description="Dynamic ESS supported")
fix("acsystem", "/State", enum={**ENUM_CHARGER_STATE, 8: "Passthru", 9: "Inverting"},
    description="System state (summary of the units)")
fix("acsystem", "/Ac/ActiveIn/ActiveInput", enum={0: "AC input 1", 1: "AC input 2", 240: "None"},
    description="Active AC input of the RS units")
fix("acsystem", "/Ac/NumberOfAcInputs", description="Number of AC inputs")
fix("acsystem", "/Ac/NumberOfPhases", description="Number of phases")
fix("acsystem", "/Devices/x/Service", kind="array", exclude="array-valued: variable-length list of member services")
fix("acsystem", "/Devices/x/Instance", kind="array", exclude="array-valued: variable-length list of member instances")

# --------------------------------------------------------------------------------------------
# inverter
# --------------------------------------------------------------------------------------------
for p, d in (("LowVoltage", "Low battery voltage"), ("HighVoltage", "High battery voltage"),
             ("LowTemperature", "Low temperature"), ("HighTemperature", "High temperature"), ("Overload", "Overload"),
             ("Ripple", "High DC ripple"), ("LowVoltageAcOut", "Low AC output voltage"),
             ("HighVoltageAcOut", "High AC output voltage")):
    fix("inverter", "/Alarms/" + p, enum=ENUM_ALARM, description="%s alarm" % d)
fix("inverter", "/Dc/0/Voltage", unit="V DC", description="Battery voltage")
fix("inverter", "/Ac/Out/L1/V", unit="V AC", description="AC output voltage")
fix("inverter", "/Ac/Out/L1/I", unit="A AC", description="AC output current")
fix("inverter", "/Ac/Out/L1/P", unit="W", description="AC output power (not on VE.Direct inverters)")
fix("inverter", "/Mode", enum={2: "Inverter on", 4: "Off", 5: "Low power/ECO"}, access="W", description="Switch position")
fix("inverter", "/State", enum={0: "Off", 1: "Low power", 2: "Fault", 9: "Inverting"}, description="Inverter state")
fix("inverter", "/Relay/0/State", enum={0: "Open", 1: "Closed"}, description="Relay state (not on VE.Direct inverters)")

# --------------------------------------------------------------------------------------------
# battery
# --------------------------------------------------------------------------------------------
fix("battery", "/Dc/0/Voltage", unit="V DC", description="Battery voltage")
fix("battery", "/Dc/0/Current", unit="A DC", description="Battery current (positive when charging)")
fix("battery", "/Dc/0/Power", unit="W", description="Battery power (positive when charging)")
fix("battery", "/Dc/0/Temperature", unit="°C", description="Battery temperature")
fix("battery", "/Dc/0/MidVoltage", unit="V DC", description="Mid-point voltage")
fix("battery", "/Dc/0/MidVoltageDeviation", unit="%", description="Mid-point deviation")
fix("battery", "/Dc/1/Voltage", unit="V DC", description="Starter battery voltage")
fix("battery", "/ConsumedAmphours", unit="Ah", description="Consumed amp-hours")
fix("battery", "/Soc", unit="%", description="State of charge")
fix("battery", "/TimeToGo", unit="s", description="Time to go (864000 s when not discharging)")
fix("battery", "/Info/MaxChargeCurrent", unit="A DC", description="Charge current limit (CCL)")
fix("battery", "/Info/MaxDischargeCurrent", unit="A DC", description="Discharge current limit (DCL)")
fix("battery", "/Info/MaxChargeVoltage", unit="V DC", description="Maximum charge voltage (CVL)")
fix("battery", "/Info/BatteryLowVoltage", unit="V DC", description="Battery low voltage (ignored by the system)")
fix("battery", "/Info/ChargeRequest", enum=ENUM_NOYES, description="Battery very low: charge request")
for p, d in (("Alarm", "Generic alarm (deprecated)"), ("LowVoltage", "Low voltage"), ("HighVoltage", "High voltage"),
             ("LowStarterVoltage", "Low starter voltage"), ("HighStarterVoltage", "High starter voltage"),
             ("LowSoc", "Low state of charge"), ("HighChargeCurrent", "High charge current"),
             ("HighDischargeCurrent", "High discharge current"), ("HighCurrent", "High current"),
             ("CellImbalance", "Cell imbalance"), ("InternalFailure", "Internal failure"),
             ("HighChargeTemperature", "High charge temperature"), ("LowChargeTemperature", "Low charge temperature"),
             ("LowCellVoltage", "Low cell voltage"), ("LowTemperature", "Low temperature"),
             ("HighTemperature", "High temperature"), ("MidVoltage", "Mid-point voltage"), ("Contactor", "Contactor"),
             ("BmsCable", "BMS cable"), ("HighInternalTemperature", "High internal temperature"),
             ("FuseBlown", "Fuse blown")):
    fix("battery", "/Alarms/" + p, enum=ENUM_ALARM, description="%s alarm" % d)
for p, d in (("HasTemperature", "Temperature sensing configured"), ("HasStarterVoltage", "Starter voltage configured"),
             ("HasMidVoltage", "Mid-point voltage configured")):
    fix("battery", "/Settings/" + p, enum=ENUM_NOYES, description=d)
fix("battery", "/Relay/0/State", enum={0: "Open", 1: "Closed"}, access="W",
    description="Relay state (writable when the relay is in remote mode)")
for p, u, d in (("DeepestDischarge", "Ah", "Deepest discharge"), ("LastDischarge", "Ah", "Last discharge"),
                ("AverageDischarge", "Ah", "Average discharge"), ("ChargeCycles", "", "Charge cycles"),
                ("FullDischarges", "", "Full discharges"), ("TotalAhDrawn", "Ah", "Total Ah drawn"),
                ("MinimumVoltage", "V DC", "Minimum voltage"), ("MaximumVoltage", "V DC", "Maximum voltage"),
                ("TimeSinceLastFullCharge", "s", "Time since the last full charge"),
                ("AutomaticSyncs", "", "Automatic synchronisations"), ("LowVoltageAlarms", "", "Low voltage alarms"),
                ("HighVoltageAlarms", "", "High voltage alarms"),
                ("LowStarterVoltageAlarms", "", "Low starter voltage alarms"),
                ("HighStarterVoltageAlarms", "", "High starter voltage alarms"),
                ("MinimumStarterVoltage", "V DC", "Minimum starter voltage"),
                ("MaximumStarterVoltage", "V DC", "Maximum starter voltage"),
                ("DischargedEnergy", "kWh", "Discharged energy"), ("ChargedEnergy", "kWh", "Charged energy"),
                ("MinimumCellVoltage", "V DC", "Minimum cell voltage"),
                ("MaximumCellVoltage", "V DC", "Maximum cell voltage")):
    fix("battery", "/History/" + p, unit=u, description="History: %s" % d.lower())
fix("battery", "/State", description="Battery state (Lynx Smart BMS, Lynx Ion)")
fix("battery", "/ErrorCode", description="Error code (Lynx Smart BMS, Lynx Ion)")
fix("battery", "/SystemSwitch", enum={0: "Disabled", 1: "Enabled"}, description="System switch")
fix("battery", "/Balancing", enum={0: "Inactive", 1: "Active"}, description="Cell balancing")
fix("battery", "/System/NrOfBatteries", description="Number of batteries")
fix("battery", "/System/BatteriesParallel", description="Batteries in parallel")
fix("battery", "/System/BatteriesSeries", description="Batteries in series")
fix("battery", "/System/NrOfCellsPerBattery", description="Cells per battery")
fix("battery", "/System/MinCellVoltage", unit="V DC", description="Lowest cell voltage")
fix("battery", "/System/MaxCellVoltage", unit="V DC", description="Highest cell voltage")
fix("battery", "/Diagnostics/ShutDownsDueError", description="Shutdowns due to an error")
for n in range(1, 5):
    fix("battery", "/Diagnostics/LastErrors/%d/Error" % n, description="Diagnostics: last error %d" % n)
fix("battery", "/Io/AllowToCharge", enum=ENUM_NOYES, description="Charging allowed")
fix("battery", "/Io/AllowToDischarge", enum=ENUM_NOYES, description="Discharging allowed")
fix("battery", "/Io/ExternalRelay", enum={0: "Open", 1: "Closed"}, description="External relay")
fix("battery", "/NrOfDistributors", description="Number of connected Lynx distributors (up to 8)")

# --------------------------------------------------------------------------------------------
# solar chargers
# --------------------------------------------------------------------------------------------
fix("solarcharger", "/NrOfTrackers", description="Number of PV trackers")
fix("solarcharger", "/Pv/V", unit="V DC", description="PV voltage (single-tracker products)")
fix("solarcharger", "/Yield/Power", unit="W", description="PV power")
fix("solarcharger", "/MppOperationMode", enum=ENUM_MPP, description="MPPT mode (all trackers)")
fix("solarcharger", "/Pv/I", unit="A DC",
    exclude="removed in Venus OS v2.80; register 777 computes it from /Yield/Power and /Pv/V")
for x in range(4):
    fix("solarcharger", "/Pv/%d/I" % x, unit="A DC", exclude="removed in Venus OS v2.80 (tracker current)")
fix("solarcharger", "/Link/NetworkMode", enum=ENUM_NETWORK_MODE, bitmask=True,
    description="Network mode (bit mask, written by the GX device)")
fix("solarcharger", "/Link/BatteryCurrent", unit="A DC", description="Battery current sent by the GX device (SCS)")
fix("solarcharger", "/Link/ChargeCurrent", unit="A DC",
    description="Charge current limit sent by the GX device (every 60 s)")
fix("solarcharger", "/Link/ChargeVoltage", unit="V DC", description="Charge voltage sent by the GX device (every 60 s)")
fix("solarcharger", "/Link/NetworkStatus", enum=ENUM_NETWORK_STATUS, bitmask=True, description="Network status (bit mask)")
fix("solarcharger", "/Link/TemperatureSense", unit="°C", description="Battery temperature sent by the GX device (STS)")
fix("solarcharger", "/Link/TemperatureSenseActive", enum=ENUM_NOYES, description="Temperature sense in use")
fix("solarcharger", "/Link/VoltageSense", unit="V DC", description="Battery voltage sent by the GX device (SVS)")
fix("solarcharger", "/Link/VoltageSenseActive", enum=ENUM_NOYES, description="Voltage sense in use")
fix("solarcharger", "/Settings/BmsPresent", enum=ENUM_NOYES, description="BMS present (external control expected)")
fix("solarcharger", "/Settings/ChargeCurrentLimit", unit="A DC",
    description="Configured maximum charge current (non-volatile)")
fix("solarcharger", "/Dc/0/Voltage", unit="V DC", description="Battery voltage")
fix("solarcharger", "/Dc/0/Current", unit="A DC", description="Charge current")
fix("solarcharger", "/Yield/User", unit="kWh", description="PV yield (user resettable)")
fix("solarcharger", "/Yield/System", unit="kWh", description="PV yield (not resettable)")
fix("solarcharger", "/Load/State", enum=ENUM_OFFON, description="Load output state")
fix("solarcharger", "/Load/I", unit="A DC", description="Load output current")
fix("solarcharger", "/State", enum=ENUM_CHARGER_STATE, description="Charger state")
fix("solarcharger", "/History/*",
    exclude="family of history sub-paths; the daily history /History/Daily/N/... is listed path by path")
fix("solarcharger", "/Mode", enum=ENUM_ONOFF_MODE, access="W", description="On/off")
fix("solarcharger", "/DeviceOffReason", enum=ENUM_DEVICE_OFF, bitmask=True, description="Reasons the charger is off (bit mask)")
fix("solarcharger", "/Relay/0/State", enum={0: "Open", 1: "Closed"}, access="W",
    description="Relay state (writable when the relay is in remote mode)")

# --------------------------------------------------------------------------------------------
# dcdc, pvinverter, charger, grid, genset meters
# --------------------------------------------------------------------------------------------
fix("dcdc", "/Capabilities/Capabilities1", bitmask=True, description="Capabilities (bit mask)")
fix("dcdc", "/Dc/0/Current", unit="A DC", description="Output current")
fix("dcdc", "/Dc/0/Power", unit="W", description="Output power")
fix("dcdc", "/Dc/0/Voltage", unit="V DC", description="Output voltage")
fix("dcdc", "/Dc/In/I", unit="A DC", description="Input current")
fix("dcdc", "/Dc/In/P", unit="W", description="Input power")
fix("dcdc", "/Dc/In/V", unit="V DC", description="Input voltage")
fix("dcdc", "/DeviceOffReason", enum=ENUM_DEVICE_OFF, bitmask=True, description="Reasons the device is off (bit mask)")
fix("dcdc", "/ErrorCode", description="Error code (see the solar charger error codes)")
fix("dcdc", "/Mode", enum=ENUM_ONOFF_MODE, access="W", description="On/off")
fix("dcdc", "/Settings/DeviceFunction", enum={0: "Charger", 1: "Power supply"}, description="Device function")
fix("dcdc", "/State", enum={0: "Off", 2: "Fault", 11: "Power supply"}, description="State")

fix("pvinverter", "/Ac/Energy/Forward", unit="kWh", description="Energy produced (all phases)")
fix("pvinverter", "/Ac/Power", unit="W", description="Total power (all phases)")
for ph in ("L1", "L2", "L3"):
    fix("pvinverter", "/Ac/%s/Current" % ph, unit="A AC", description="%s current" % ph)
    fix("pvinverter", "/Ac/%s/Energy/Forward" % ph, unit="kWh", description="%s energy produced" % ph)
    fix("pvinverter", "/Ac/%s/Power" % ph, unit="W", description="%s power" % ph)
    fix("pvinverter", "/Ac/%s/Voltage" % ph, unit="V AC", description="%s voltage" % ph)
fix("pvinverter", "/Ac/Current", unit="A AC", exclude="deprecated (use the per-phase currents)")
fix("pvinverter", "/Ac/Voltage", unit="V AC", exclude="deprecated (use the per-phase voltages)")
fix("pvinverter", "/Ac/MaxPower", unit="W", description="Maximum rated power")
fix("pvinverter", "/Ac/PowerLimit", unit="W", access="W", description="Power limit (zero feed-in control)")
fix("pvinverter", "/ErrorCode", enum={0: "No error"}, description="Error code")
fix("pvinverter", "/FroniusDeviceType", description="Fronius device type")
fix("pvinverter", "/Position", enum={0: "AC input 1", 1: "AC output", 2: "AC input 2"}, description="Position")
fix("pvinverter", "/StatusCode",
    enum={0: "Startup 0", 1: "Startup 1", 2: "Startup 2", 3: "Startup 3", 4: "Startup 4", 5: "Startup 5",
          6: "Startup 6", 7: "Running", 8: "Standby", 9: "Boot loading", 10: "Error"},
    description="Status code")

fix("charger", "/Ac/In/L1/I", unit="A AC", description="AC input current")
fix("charger", "/Ac/In/L1/P", unit="W", description="AC input power")
fix("charger", "/Ac/In/CurrentLimit", unit="A AC", access="W", description="AC input current limit")
fix("charger", "/NrOfOutputs", description="Number of outputs")
for n in range(3):
    fix("charger", "/Dc/%d/Voltage" % n, unit="V DC", description="Output %d voltage" % (n + 1))
    fix("charger", "/Dc/%d/Current" % n, unit="A DC", description="Output %d current" % (n + 1))
    fix("charger", "/Dc/%d/Temperature" % n, unit="°C", description="Output %d battery temperature" % (n + 1))
fix("charger", "/State", enum={**ENUM_CHARGER_STATE, 7: "Equalize (manual)", 11: "Power supply",
                                   246: "Repeated absorption", 247: "Recondition", 248: "BatterySafe"},
    description="Charger state")
fix("charger", "/Mode", enum=ENUM_ONOFF_MODE, access="W", description="On/off")
fix("charger", "/Relay/0/State", enum={0: "Open", 1: "Closed"}, access="W",
    description="Relay state (writable on Phoenix Smart chargers in remote mode)")
fix("charger", "/Alarms/LowVoltage", enum={0: "Inactive", 1: "Active"}, description="Low voltage alarm")
fix("charger", "/Alarms/HighVoltage", enum={0: "Inactive", 1: "Active"}, description="High voltage alarm")

for svc in ("grid", "genset"):
    fix(svc, "/Ac/Energy/Forward", unit="kWh", description="Energy forward (bought or produced, all phases)")
    fix(svc, "/Ac/Energy/Reverse", unit="kWh", description="Energy reverse (sold, all phases)")
    fix(svc, "/Ac/Power", unit="W", description="Total power (all phases)")
    fix(svc, "/Ac/Current", unit="A AC", exclude="deprecated (use the per-phase currents)")
    fix(svc, "/Ac/Voltage", unit="V AC", exclude="deprecated (use the per-phase voltages)")
    for ph in ("L1", "L2", "L3"):
        fix(svc, "/Ac/%s/Current" % ph, unit="A AC", description="%s current" % ph)
        fix(svc, "/Ac/%s/Energy/Forward" % ph, unit="kWh", description="%s energy forward" % ph)
        fix(svc, "/Ac/%s/Energy/Reverse" % ph, unit="kWh", description="%s energy reverse" % ph)
        fix(svc, "/Ac/%s/Power" % ph, unit="W", description="%s power" % ph)
        fix(svc, "/Ac/%s/Voltage" % ph, unit="V AC", description="%s voltage" % ph)
    fix(svc, "/DeviceType", description="Meter device type")
    fix(svc, "/ErrorCode", description="Error code")

# --------------------------------------------------------------------------------------------
# temperature, tank
# --------------------------------------------------------------------------------------------
fix("temperature", "/Temperature", unit="°C", description="Temperature")
fix("temperature", "/TemperatureType",
    enum={0: "Battery", 1: "Fridge", 2: "Generic", 3: "Room", 4: "Outdoor", 5: "Water heater", 6: "Freezer"},
    access="W", description="Temperature type")
fix("temperature", "/Status",
    enum={0: "OK", 1: "Disconnected", 2: "Short circuited", 3: "Reverse polarity", 4: "Unknown"},
    description="Sensor status (wired inputs)")
fix("temperature", "/Scale", description="Calibration scale (wired inputs; normally not needed)")
fix("temperature", "/Offset", unit="°C", description="Calibration offset (wired inputs; normally not needed)")
for a in "XYZ":
    fix("temperature", "/Accel" + a, unit="g", description="Acceleration %s (Ruuvi)" % a)
fix("temperature", "/BatteryVoltage", unit="V DC", description="Sensor battery voltage (Ruuvi)")
fix("temperature", "/Humidity", unit="%", description="Relative humidity")
fix("temperature", "/Pressure", unit="hPa", description="Air pressure")
fix("temperature", "/SeqNo", description="Measurement sequence number (Ruuvi)")
fix("temperature", "/TxPower", unit="dBm", description="Transmit power (Ruuvi)")

fix("tank", "/Level", unit="%", description="Level")
fix("tank", "/Remaining", unit="m3", description="Remaining fluid")
fix("tank", "/Status", enum={0: "OK", 1: "Disconnected", 2: "Short circuited", 3: "Unknown"}, description="Sensor status")
fix("tank", "/Capacity", unit="m3", access="W", description="Capacity")
fix("tank", "/FluidType",
    enum={0: "Fuel", 1: "Fresh water", 2: "Waste water", 3: "Live well", 4: "Oil", 5: "Black water (sewage)",
          6: "Gasoline", 7: "Diesel", 8: "LPG", 9: "LNG", 10: "Hydraulic oil", 11: "Raw water"},
    access="W", description="Fluid type (as in NMEA 2000)")
fix("tank", "/Standard", enum={0: "European (resistive)", 1: "USA (resistive)", 2: "Not applicable"},
    description="Sensor standard")
for hl in ("High", "Low"):
    fix("tank", "/Alarms/%s/Active" % hl, unit="%", description="%s level alarm: activation level" % hl)
    fix("tank", "/Alarms/%s/Delay" % hl, unit="s", description="%s level alarm: delay" % hl)
    fix("tank", "/Alarms/%s/Enable" % hl, enum=ENUM_NOYES, description="%s level alarm: enabled" % hl)
    fix("tank", "/Alarms/%s/Restore" % hl, unit="%", description="%s level alarm: restore level" % hl)
    fix("tank", "/Alarms/%s/State" % hl, enum={0: "Inactive", 1: "Active"},
        description="%s level alarm: state (invalid when disabled)" % hl)
fix("tank", "/BatteryVoltage", unit="V DC", description="Sensor battery voltage (Mopeka)")
fix("tank", "/FilterLength", unit="s", description="Averaging filter length")
fix("tank", "/RawUnit", kind="text", length=8, description="Unit of the raw value (V, mA, ohm)")
fix("tank", "/RawValue", description="Raw sensor value (in /RawUnit)")
fix("tank", "/RawValueEmpty", description="Raw value when empty (calibration)")
fix("tank", "/RawValueFull", description="Raw value when full (calibration)")
fix("tank", "/Shape", kind="text", exclude="text: tank shape as a list of level points (configuration)")
fix("tank", "/Temperature", unit="°C", description="Sensor temperature (Mopeka)")

# --------------------------------------------------------------------------------------------
# genset / dcgenset data
# --------------------------------------------------------------------------------------------
AC_GENSET = {"/Ac/Energy/Forward", "/Ac/Power", "/Ac/Frequency", "/NrOfPhases"} | {
    "/Ac/%s/%s" % (ph, q) for ph in ("L1", "L2", "L3") for q in ("Current", "Power", "Voltage")}
DC_GENSET = {"/Dc/0/Voltage", "/Dc/0/Current"}
for svc in ("genset", "dcgenset"):
    fix(svc, "/Ac/Frequency", unit="Hz", description="Frequency")
    fix(svc, "/NrOfPhases", description="Number of phases")
    fix(svc, "/Dc/0/Voltage", unit="V DC", description="DC output voltage")
    fix(svc, "/Dc/0/Current", unit="A DC", description="DC output current")
    fix(svc, "/HeatsinkTemperature", unit="°C", description="Heatsink temperature")
    fix(svc, "/RemoteStartModeEnabled", enum={0: "Disabled", 1: "Enabled"},
        description="Remote start mode enabled (needed to start with /Start)")
    fix(svc, "/EnableRemoteStartMode", enum={0: "No", 1: "Enable"}, access="W",
        description="Engage the controller's remote start mode (write 1)")
    for n in range(8):
        fix(svc, "/Error/%d/Id" % n, kind="text", length=32,
            description="Error %d identifier (manufacturer:[ewi]-code; empty when none)" % n)
    fix(svc, "/ModuleId", description="Module ID (Fischer Panda)")
    fix(svc, "/Start", enum={0: "Stop", 1: "Start"}, access="W",
        description="Start/stop (controlled by generator start/stop; needs remote start mode)")
    fix(svc, "/StarterVoltage", unit="V DC", description="Starter battery voltage")
    fix(svc, "/StatusCode",
        enum={0: "Standby", 1: "Startup 1", 2: "Startup 2", 3: "Startup 3", 4: "Startup 4", 5: "Startup 5",
              6: "Startup 6", 7: "Startup 7", 8: "Running", 9: "Stopping", 10: "Error"},
        description="Status code")
    fix(svc, "/Engine/CoolantTemperature", unit="°C", description="Engine coolant temperature")
    fix(svc, "/Engine/ExaustTemperature", unit="°C", description="Engine exhaust temperature")
    fix(svc, "/Engine/Load", unit="%", description="Engine load")
    fix(svc, "/Engine/OilPressure", unit="kPa", description="Engine oil pressure")
    fix(svc, "/Engine/OilTemperature", unit="°C", description="Engine oil temperature")
    fix(svc, "/Engine/OperatingHours", unit="s", description="Engine operating time")
    fix(svc, "/Engine/Speed", unit="RPM", description="Engine speed")
    fix(svc, "/Engine/WindingTemperature", unit="°C", description="Winding temperature")
    fix(svc, "/Engine/Starts", description="Engine starts (count)")
fix("genset", "/Ac/Energy/Forward", unit="kWh", description="Energy produced (all phases)")

# --------------------------------------------------------------------------------------------
# generator start/stop
# --------------------------------------------------------------------------------------------
fix("generator", "/Alarms/NoGeneratorAtAcIn", enum={0: "No alarm", 2: "Alarm"},
    description="Alarm: generator not detected at the AC input")
fix("generator", "/Alarms/AutoStartDisabled", enum={0: "OK", 2: "Alarm"},
    description="Alarm: autostart armed but disabled")
fix("generator", "/Alarms/ServiceIntervalExceeded", enum={0: "OK", 1: "Service required"},
    description="Service interval exceeded")
fix("generator", "/AutoStartEnabled", enum={0: "Disabled", 1: "Enabled"}, access="W",
    description="Automatic start/stop enabled")
fix("generator", "/DigitalInput/Input", description="Digital input signalling that the generator runs (0 = none)")
fix("generator", "/DigitalInput/Running", enum={0: "Not running", 1: "Running"},
    description="Generator running according to the digital input")
fix("generator", "/Enabled", enum={0: "Disabled", 1: "Enabled"}, description="Generator start/stop enabled")
fix("generator", "/Error", enum={0: "No error", 1: "Remote control disabled", 2: "Remote in fault condition"},
    description="Error")
fix("generator", "/GensetService", kind="text", length=64, description="Genset service controlled by this instance")
fix("generator", "/GensetServiceType", kind="text", length=16,
    description="Type of the controlled genset service (genset or dcgenset)")
fix("generator", "/ManualStart", enum={0: "Stop", 1: "Start"}, access="W", description="Manual start")
fix("generator", "/ManualStartTimer", unit="s", access="W",
    description="Manual run time (set before a manual start; then the time left)")
fix("generator", "/NextTestRun", unit="s", description="Time until the next test run")
fix("generator", "/QuietHours", enum={0: "Not in quiet hours", 1: "Quiet hours"}, description="Quiet hours active")
fix("generator", "/RunningByCondition", kind="text", exclude="duplicate of /RunningByConditionCode (text form)")
fix("generator", "/RunningByConditionCode",
    enum={0: "Stopped", 1: "Manual", 2: "Test run", 3: "Loss of communication", 4: "SOC", 5: "AC load",
          6: "Battery current", 7: "Battery voltage", 8: "Inverter high temperature", 9: "Inverter overload"},
    description="Condition that started or keeps the generator running")
fix("generator", "/Runtime", unit="s", description="Run time of the current run")
fix("generator", "/SkipTestRun", enum=ENUM_NOYES, description="Next test run will be skipped")
fix("generator", "/State",
    enum={0: "Stopped", 1: "Running", 2: "Warm-up", 3: "Cool-down", 4: "Stopping", 10: "Error"}, description="State")
fix("generator", "/ServiceCounter", unit="h", description="Time left until service (negative when overdue)")
fix("generator", "/ServiceCounterReset", enum={1: "Reset"}, access="W", description="Reset the service counter (write 1)")
fix("generator", "/TestRunIntervalRuntime", unit="s", description="Run time since the last test run")
fix("generator", "/TodayRuntime", unit="s", description="Run time today")
fix("generator", "/Type", enum={0: "Relay switched", 1: "Fischer Panda"}, description="Type")

# --------------------------------------------------------------------------------------------
# vecan
# --------------------------------------------------------------------------------------------
fix("vecan", "/Link/Soc", unit="%", description="SOC broadcast on VE.Can")
fix("vecan", "/Link/TemperatureSense", unit="°C", description="Battery temperature broadcast on VE.Can")
fix("vecan", "/Link/VoltageSense", unit="V DC", description="Battery voltage broadcast on VE.Can")
fix("vecan", "/Link/BatteryCurrent", unit="A DC", description="Battery current broadcast on VE.Can")
fix("vecan", "/Link/ExtraBatteryCurrent", unit="A DC", description="Extra battery current broadcast on VE.Can")
fix("vecan", "/Link/ChargeVoltage", unit="V DC", description="Charge voltage broadcast on VE.Can (ESS, DVCC)")
fix("vecan", "/Link/NetworkMode", enum=ENUM_NETWORK_MODE, bitmask=True, description="Network mode broadcast on VE.Can")

# --------------------------------------------------------------------------------------------
# alternator, dcsource, fuelcell, motordrive, dcsystem, dcload (DC meters)
# --------------------------------------------------------------------------------------------
DC_METERS = ("alternator", "dcsource", "fuelcell", "motordrive", "dcsystem", "dcload")
for svc in DC_METERS:
    fix(svc, "/Dc/0/Voltage", unit="V DC", description="Voltage")
    fix(svc, "/Dc/0/Current", unit="A DC", description="Current")
    fix(svc, "/Dc/0/Temperature", unit="°C", description="Temperature")
    fix(svc, "/Dc/1/Voltage", unit="V DC", description="Secondary battery voltage")
    fix(svc, "/History/EnergyOut", unit="kWh", description="Energy produced")
    fix(svc, "/History/EnergyIn", unit="kWh", description="Energy consumed")
    for p, d in (("LowVoltage", "Low voltage"), ("HighVoltage", "High voltage"),
                 ("LowStarterVoltage", "Low secondary battery voltage"),
                 ("HighStarterVoltage", "High secondary battery voltage"), ("LowTemperature", "Low temperature"),
                 ("HighTemperature", "High temperature")):
        fix(svc, "/Alarms/" + p, enum=ENUM_ALARM, description="%s alarm" % d)
fix("alternator", "/Dc/0/Current", unit="A DC", description="Current (positive when charging)")
fix("fuelcell", "/Dc/0/Current", unit="A DC", description="Current (positive when generating)")
fix("motordrive", "/Dc/0/Current", unit="A DC", description="Current (negative when regenerating)")
fix("motordrive", "/Dc/0/Temperature", unit="°C", description="Motor temperature")
fix("dcsystem", "/Dc/0/Current", unit="A DC", description="Current (positive when the DC system consumes)")
fix("dcload", "/Dc/0/Current", unit="A DC", description="Current (positive when consumed)")
fix("alternator", "/Engine/Speed", unit="RPM", description="Engine speed")
fix("alternator", "/FieldDrive", unit="%", description="Field drive")
fix("alternator", "/Speed", unit="RPM", description="Alternator speed")
fix("alternator", "/State", enum=ENUM_CHARGER_STATE, description="Charger state")
fix("alternator", "/Capabilities/Capabilities1", bitmask=True, description="Capabilities (bit mask)")
fix("alternator", "/Dc/0/Power", unit="W", description="Battery power")
fix("alternator", "/Dc/In/V", unit="V DC", description="Input voltage")
fix("alternator", "/Dc/In/I", unit="A DC", description="Input current")
fix("alternator", "/Dc/In/P", unit="W", description="Input power")
fix("alternator", "/DeviceOffReason", enum=ENUM_DEVICE_OFF, bitmask=True, description="Reasons the device is off (bit mask)")
fix("alternator", "/ErrorCode", description="Error code (see the solar charger error codes)")
fix("alternator", "/History/*",
    exclude="family of charge-cycle history sub-paths that the list does not name")
fix("alternator", "/Link/BatteryCurrent", unit="A DC", description="Battery current sent by the GX device (SCS)")
fix("alternator", "/Link/ChargeCurrent", unit="A DC", description="Charge current limit sent by the GX device (every 60 s)")
fix("alternator", "/Link/ChargeVoltage", unit="V DC", description="Charge voltage sent by a managed battery")
fix("alternator", "/Link/CurrentSenseActive", enum=ENUM_NOYES, description="Current sense in use")
fix("alternator", "/Link/NetworkMode", enum=ENUM_NETWORK_MODE, bitmask=True, description="Network mode (bit mask)")
fix("alternator", "/Link/NetworkStatus", enum=ENUM_NETWORK_STATUS, bitmask=True, description="Network status (bit mask)")
fix("alternator", "/Link/TemperatureSense", unit="°C", description="Battery temperature sent by the GX device (STS)")
fix("alternator", "/Link/TemperatureSenseActive", enum=ENUM_NOYES, description="Temperature sense in use")
fix("alternator", "/Link/VoltageSense", unit="V DC", description="Battery voltage sent by the GX device (SVS)")
fix("alternator", "/Link/VoltageSenseActive", enum=ENUM_NOYES, description="Voltage sense in use")
fix("alternator", "/Mode", enum=ENUM_ONOFF_MODE, access="W", description="On/off")
fix("alternator", "/Settings/BmsPresent", enum=ENUM_NOYES, description="A BMS controls the charger")
fix("alternator", "/Settings/DeviceFunction", enum={0: "Charger", 1: "Power supply"}, description="Device function")
fix("alternator", "/Settings/ChargeCurrentLimit", unit="A DC", description="Configured maximum charge current")
for svc in ("alternator", "dcsource"):
    fix(svc, "/Settings/MonitorMode", enum=ENUM_MONITOR_MODE, description="Kind of DC source (DC meters)")
fix("motordrive", "/Controller/Temperature", unit="°C", description="Controller temperature")
fix("motordrive", "/Coolant/Temperature", unit="°C", description="Coolant temperature")
fix("motordrive", "/Motor/Temperature", unit="°C", description="Motor temperature (reported by the motor)")
fix("motordrive", "/Motor/RPM", unit="RPM", description="Motor speed")
fix("motordrive", "/Motor/Direction", enum={0: "Neutral", 1: "Reverse", 2: "Forward"}, description="Motor direction")

# --------------------------------------------------------------------------------------------
# evcharger, heatpump
# --------------------------------------------------------------------------------------------
fix("evcharger", "/Ac/Energy/Forward", unit="kWh", description="Energy charged (this session)")
for ph in ("L1", "L2", "L3"):
    fix("evcharger", "/Ac/%s/Power" % ph, unit="W", description="%s power" % ph)
fix("evcharger", "/Ac/Power", unit="W", description="Total power")
fix("evcharger", "/AutoStart", enum={0: "Disabled", 1: "Enabled"}, access="W", description="Charger autostart")
fix("evcharger", "/ChargingTime", unit="s", description="Charging time")
fix("evcharger", "/Connected", enum={0: "Not connected", 1: "Connected"}, description="Charger connected")
fix("evcharger", "/Current", unit="A AC",
    description="Actual charge current setpoint (may be below /SetCurrent because of limits)")
fix("evcharger", "/EnableDisplay", enum={0: "Control disabled", 1: "Control enabled"}, access="W",
    description="Control via the display")
fix("evcharger", "/MaxCurrent", unit="A AC", access="W", description="Maximum charge current (installer setting)")
fix("evcharger", "/Mode", enum={0: "Manual", 1: "Auto", 2: "Scheduled"}, access="W", description="Mode")
fix("evcharger", "/Model", kind="text", length=16, description="Model (e.g. AC22E, AC22NS)")
fix("evcharger", "/Position", enum={0: "AC output", 1: "AC input"}, access="W", description="Position")
fix("evcharger", "/Role", description="Role")
fix("evcharger", "/SetCurrent", unit="A AC", access="W", description="Charge current setpoint (manual mode)")
fix("evcharger", "/StartStop", enum={0: "Stop", 1: "Start"}, access="W", description="Start/stop charging")
fix("evcharger", "/Status",
    enum={0: "Disconnected", 1: "Connected", 2: "Charging", 3: "Charged", 4: "Waiting for sun",
          5: "Waiting for RFID", 6: "Waiting for start", 7: "Low SOC", 8: "Ground test error",
          9: "Welded contacts error", 10: "CP input test error (shorted)", 11: "Residual current detected",
          12: "Undervoltage detected", 13: "Overvoltage detected", 14: "Overheating detected",
          20: "Charging limit"},
    description="Charger status")
fix("heatpump", "/State", description="Heat pump state (codes not yet defined)")
fix("heatpump", "/Temperature", unit="°C", description="Water temperature")
fix("heatpump", "/TargetTemperature", unit="°C", description="Target water temperature")
fix("heatpump", "/Ac/Power", unit="W", description="Power consumed")
fix("heatpump", "/Ac/Energy/Forward", unit="kWh", description="Energy consumed")

# --------------------------------------------------------------------------------------------
# switch, rvc, platform notifications
# --------------------------------------------------------------------------------------------
SWITCH_CHANNELS = 8
RVC_DEVICES = 8
RVC_DC_SOURCES = 2
NOTIFICATIONS = 20
DISTRIBUTORS = "ABCDEFGH"
DISTRIBUTOR_FUSES = 4
fix("switch", "/ShowCurrent", enum=ENUM_NOYES, description="Show the current in the GUI (deprecated?)")
fix("switch", "/ShowVoltage", enum=ENUM_NOYES, description="Show the voltage in the GUI (deprecated?)")
fix("switch", "/NrOfChannels", description="Number of channels")
fix("switch", "/MinFuse", description="Lowest fuse index supported")
fix("switch", "/MaxFuse", description="Highest fuse index supported")
fix("switch", "/State",
    enum={0x100: "Connected", 0x101: "Over temperature", 0x102: "Temperature warning", 0x103: "Channel fault",
          0x104: "Channel tripped", 0x105: "Under voltage"},
    description="Module state")
ENUM_FUSE = {0: "Invalid", 1: "1 A", 2: "2 A", 3: "3 A", 4: "4 A", 5: "5 A", 6: "6 A", 7: "7.5 A", 8: "10 A",
             9: "15 A", 10: "20 A", 11: "30 A"}
for x in range(SWITCH_CHANNELS):
    c = "/Channel/%d/" % x
    fix("switch", c + "CustomName", kind="text", length=32, access="W", description="Channel %d name" % x)
    fix("switch", c + "Function", enum={0: "Momentary", 1: "Latching", 2: "Dimmable"}, access="W",
        description="Channel %d function" % x)
    fix("switch", c + "State", enum=ENUM_OFFON, access="W", description="Channel %d requested on/off" % x)
    fix("switch", c + "Status",
        enum={0: "Off", 1: "Input active", 2: "Tripped", 4: "Over temperature", 8: "Active", 9: "On",
              16: "Short fault", 32: "Disabled"},
        description="Channel %d status" % x)
    fix("switch", c + "Dimming", unit="%", access="W", description="Channel %d dimming (dimmable outputs)" % x)
    fix("switch", c + "Fuse", enum=ENUM_FUSE, access="W", description="Channel %d trip rating" % x)
    fix("switch", c + "Temperature", unit="°C", description="Channel %d temperature" % x)
    fix("switch", c + "Voltage", unit="V DC", description="Channel %d output voltage" % x)
    fix("switch", c + "Current", unit="A DC", description="Channel %d current" % x)
    fix("switch", c + "Settings/FuseRating", unit="A",
        exclude="proposed in the path list, not yet published by switches")

fix("rvc", "/Alarms/SameUniqueNameUsed", enum=ENUM_NOYES,
    description="The GX device's RV-C unique name is used by another device")
for d in range(RVC_DEVICES):
    p = "/Devices/%d/" % d
    fix("rvc", p + "ChargerInstance", access="W", description="Device %d: charger instance (CHARGER_* DGNs)" % d)
    fix("rvc", p + "InverterInstance", access="W", description="Device %d: inverter instance (INVERTER_* DGNs)" % d)
    for ln in (0, 1):
        fix("rvc", p + "Line/%d/Instance" % ln, enum={0: "L1", 1: "L2"}, access="W",
            description="Device %d: line %d instance (AC status DGNs)" % (d, ln + 1))
    for n in range(RVC_DC_SOURCES):
        fix("rvc", p + "DcSource/%d/Instance" % n, access="W",
            description="Device %d: DC source %d instance (DC_SOURCE_STATUS DGNs)" % (d, n))
        fix("rvc", p + "DcSource/%d/Priority" % n, access="W",
            description="Device %d: DC source %d priority (DC_SOURCE_STATUS DGNs)" % (d, n))
    fix("rvc", p + "TankInstance", access="W", description="Device %d: tank instance (TANK_STATUS DGN)" % d)

fix("platform", "/Notifications/AcknowledgeAll", enum={1: "Acknowledge all"}, access="W",
    description="Acknowledge all notifications (write 1)")
fix("platform", "/Notifications/Alarm", enum={0: "Not needed", 1: "Visual and audible attention needed"},
    description="An active, unacknowledged alarm needs attention (buzzer/relay)")
fix("platform", "/Notifications/Alert", enum={0: "Not needed", 1: "Visual attention needed"},
    description="An unacknowledged notification needs visual attention")
fix("platform", "/Notifications/NumberOfActiveNotifications", description="Number of active notifications")
fix("platform", "/Notifications/NumberOfNotifications", description="Number of notifications")
for n in range(NOTIFICATIONS):
    p = "/Notifications/%d/" % n
    fix("platform", p + "Acknowledged", enum={0: "Not acknowledged", 1: "Acknowledged"}, access="W",
        description="Notification %d acknowledged" % n)
    fix("platform", p + "Active", enum={0: "Inactive", 1: "Active"},
        description="Notification %d: its condition is still active" % n)
    fix("platform", p + "AlarmValue", kind="text", length=16, description="Notification %d: alarm threshold value" % n)
    fix("platform", p + "Value", kind="text", length=16,
        description="Notification %d: value that triggered it" % n)
    fix("platform", p + "DateTime", unit="timestamp", description="Notification %d: time created (Unix time)" % n)
    fix("platform", p + "Description", kind="text", length=64,
        description="Notification %d: description (in the GUI language)" % n)
    fix("platform", p + "Service", kind="text", length=64,
        description="Notification %d: D-Bus service that raised it" % n)
    fix("platform", p + "Trigger", kind="text", length=32, description="Notification %d: D-Bus path that raised it" % n)
    fix("platform", p + "Type",
        enum={0: "Warning", 1: "Alarm", 2: "Notification", 3: "Error", 4: "Information"},
        description="Notification %d: type" % n)

# --------------------------------------------------------------------------------------------
# Descriptions of repeated structures and of paths the automatic naming words badly.
# --------------------------------------------------------------------------------------------
for grp, label in (("Consumption", "AC consumption"), ("ConsumptionOnInput", "AC consumption on the input"),
                   ("ConsumptionOnOutput", "AC consumption on the output"), ("Genset", "Genset"),
                   ("Grid", "Grid"), ("PvOnGenset", "AC-coupled PV on the genset input"),
                   ("PvOnGrid", "AC-coupled PV on the grid input"), ("PvOnOutput", "AC-coupled PV on the output")):
    for ph in PHASES_:
        fix("system", "/Ac/%s/%s/Power" % (grp, ph), unit="W", description="%s %s power" % (label, ph))
    if "NumberOfPhases" not in FIX.get(("system", "/Ac/%s/NumberOfPhases" % grp), {}).get("description", "x"):
        fix("system", "/Ac/%s/NumberOfPhases" % grp, description="%s: number of phases" % label)
for ph in PHASES_:
    fix("system", "/Ac/Consumption/%s/Power" % ph, unit="W",
        description="AC consumption %s power (input plus output consumption)" % ph)
fix("system", "/Dc/Battery/ConsumedAmphours", unit="Ah", description="Battery consumed amp-hours")
fix("system", "/Dc/Battery/Current", unit="A DC", description="Battery current")
fix("system", "/Dc/Battery/Power", unit="W", description="Battery power")
fix("system", "/Dc/Battery/Soc", unit="%", description="Battery state of charge")
fix("system", "/Dc/Battery/State", description="Battery state")
fix("system", "/Dc/Battery/Temperature", unit="°C", description="Battery temperature")
fix("system", "/Dc/Battery/Voltage", unit="V DC", description="Battery voltage")
fix("system", "/Dc/Charger/Power", unit="W", description="Total power of the AC chargers")
fix("system", "/Relay/0/State", enum={0: "Open", 1: "Closed"}, access="W", description="GX relay 1 state")
fix("system", "/Relay/1/State", enum={0: "Open", 1: "Closed"}, access="W", description="GX relay 2 state")
fix("system", "/Serial", description="Serial number of the GX device (its MAC address)")
fix("system", "/FirmwareVersion", description="Firmware version of the GX device")
for svc in ("multi", "solarcharger"):
    for x in range(4):
        fix(svc, "/Pv/%d/V" % x, unit="V DC", description="PV tracker %d voltage" % x)
        fix(svc, "/Pv/%d/P" % x, unit="W", description="PV tracker %d power" % x)
        fix(svc, "/Pv/%d/MppOperationMode" % x, enum=ENUM_MPP, description="PV tracker %d MPPT mode" % x)
        fix(svc, "/Pv/%d/Name" % x, kind="text", length=32, description="PV tracker %d name" % x)
for d in "ABCDEFGH":
    fix("battery", "/Distributor/%s/Status" % d, description="Lynx distributor %s status" % d)
    fix("battery", "/Distributor/%s/Alarms/ConnectionLost" % d, description="Lynx distributor %s: connection lost alarm" % d)
    for f in range(4):
        fix("battery", "/Distributor/%s/Fuse/%d/Name" % (d, f), kind="text", length=16,
            description="Lynx distributor %s fuse %d name" % (d, f))
        fix("battery", "/Distributor/%s/Fuse/%d/Status" % (d, f), description="Lynx distributor %s fuse %d status" % (d, f))
        fix("battery", "/Distributor/%s/Fuse/%d/Alarms/Blown" % (d, f),
            description="Lynx distributor %s fuse %d blown alarm" % (d, f))
fix("solarcharger", "/ErrorCode", description="Charger error code")
fix("charger", "/ErrorCode", description="Charger error code")
fix("temperature", "/CustomName", kind="text", length=16, access="W", description="Custom name")
for x in range(8):
    fix("switch", "/Channel/%d/Settings/FuseRating" % x, enum={})
fix("acsystem", "/Settings/AlarmLevel/...", description="Alarm levels (disable, warn or alarm) per alarm")
fix("vebus", "/VebusError",
    enum={0: "No error", 1: "Error 1: switched off because another phase switched off",
          2: "Error 2: old and new MK2 types mixed", 3: "Error 3: unexpected number of devices",
          4: "Error 4: no other device detected", 5: "Error 5: overvoltage on AC-out", 6: "Error 6: DDC program error",
          7: "VE.Bus BMS without the required assistant", 10: "Error 10: time synchronisation problem",
          14: "Error 14: device cannot transmit", 16: "Error 16: dongle missing",
          17: "Error 17: a device took over as master", 18: "Error 18: AC overvoltage on a slave output",
          22: "Error 22: device cannot be a slave", 24: "Error 24: switch-over protection",
          25: "Error 25: firmware incompatibility", 26: "Error 26: internal error"},
    description="VE.Bus error code")
fix("vebus", "/Hub4/TargetPowerIsMaxFeedIn",
    enum={0: "Setpoint interpreted normally", 1: "Setpoint is the overvoltage feed-in limit"})
fix("vebus", "/MicroGrid/Error", enum={0: "No error", 1: "Phase masters disagree on fallback droop parameters",
                                       2: "Droop parameter write failed"})
fix("vebus", "/MicroGrid/OperationSwitcher/OperationIsAdjustable",
    enum={0: "Only through the AUX inputs", 1: "Also through D-Bus/Modbus"})
fix("system", "/DynamicEss/Available", enum={0: "Not capable", 1: "Capable"})
fix("system", "/DynamicEss/Restrictions",
    enum={0: "No restrictions", 1: "Battery to grid restricted", 2: "Grid to battery restricted",
          3: "No flow between battery and grid"})
fix("settings", "/Settings/DynamicEss/Schedule/0/Restrictions",
    enum={0: "No restrictions", 1: "Grid to battery restricted", 2: "Battery to grid restricted",
          3: "No flow between battery and grid"})
fix("settings", "/Settings/CGwacs/OvervoltageFeedIn",
    enum={0: "Do not feed in excess DC-coupled PV", 1: "Feed in excess DC-coupled PV"})


for x in range(8):
    fix("switch", "/Channel/%d/Current" % x, enum={})
fix("multi", "/Ac/NumberOfAcInputs", enum={})
fix("inverter", "/Alarms/LowSoc", enum=ENUM_ALARM, description="Low state of charge alarm")
fix("temperature", "/CO2", description="CO2 concentration")
fix("temperature", "/Luminosity", description="Luminosity")
fix("temperature", "/NOX", description="NOx index")
fix("temperature", "/PM25", description="PM2.5 particulate matter")
fix("temperature", "/VOC", description="VOC index")
fix("battery", "/Soh", description="State of health")
fix("genset", "/Ac/Energy/Reverse", description="Energy reverse (all phases)")
for ph in PHASES_:
    fix("genset", "/Ac/%s/Energy/Reverse" % ph, description="%s energy reverse" % ph)
    fix("genset", "/Ac/%s/Energy/Forward" % ph, description="%s energy produced" % ph)
for ph in PHASES_:
    fix("vebus", "/Hub4/%s/AcPowerSetpoint" % ph, description="ESS %s AC power setpoint" % ph)
    fix("vebus", "/Hub4/%s/MaxFeedInPower" % ph, description="ESS %s maximum feed-in power" % ph)
fix("vebus", "/Hub4/DisableCharge", description="ESS: charging disabled")
fix("vebus", "/Hub4/DisableFeedIn", description="ESS: feed-in disabled")
fix("vebus", "/Hub4/DoNotFeedInOvervoltage", description="ESS: do not feed in excess DC-coupled PV")
fix("vebus", "/Hub4/TargetPowerIsMaxFeedIn", description="ESS: the setpoint is the feed-in limit")
fix("vebus", "/Hub4/FixSolarOffsetTo100mV", description="ESS: overvoltage feed-in offset of 0.1 V instead of 1 V")
fix("vebus", "/Hub4/Sustain", description="ESS sustain active")
for n in range(12):
    fix("vebus", "/Devices/%d/ExtendStatus/RelayTestOk" % n, description="Device %d: relay test passed" % n)
for svc in ("solarcharger", "alternator"):
    fix(svc, "/History/*", description="History sub-paths")
for svc in ("dcdc", "alternator"):
    fix(svc, "/History/Cumulative/User/ChargedAh", description="History: charged amp-hours (user resettable)")
fix("battery", "/History/TotalAhDrawn", description="History: total amp-hours drawn")
# Patterns for families of published paths the automatic naming words badly.
DESCRIBE = [
    (r"^/History/Daily/(\d+)/Pv/(\d+)/Yield$", lambda m: "Yield %s, PV tracker %s" % (DAY[m.group(1)], m.group(2))),
    (r"^/History/Daily/(\d+)/Pv/(\d+)/MaxPower$",
     lambda m: "Maximum power %s, PV tracker %s" % (DAY[m.group(1)], m.group(2))),
    (r"^/History/Daily/(\d+)/Yield$", lambda m: "Yield %s" % DAY[m.group(1)]),
    (r"^/History/Daily/(\d+)/MaxPower$", lambda m: "Maximum power %s" % DAY[m.group(1)]),
    (r"^/History/Daily/(\d+)/(\w+)$", lambda m: "%s %s" % (words_of("/" + m.group(2)), DAY[m.group(1)])),
    (r"^/Pv/(\d+)/(V|P|MppOperationMode|Enabled|Name)$",
     lambda m: "PV tracker %s %s" % (m.group(1), {"V": "voltage", "P": "power", "MppOperationMode": "MPPT mode",
                                                   "Enabled": "enabled", "Name": "name"}[m.group(2)])),
    (r"^/Energy/(\w+)$", lambda m: "Energy flow: " + words_of("/" + m.group(1))),
]
DAY = {"0": "today", "1": "yesterday"}


# --------------------------------------------------------------------------------------------
# Expanding the wiki's shorthand (wildcards, "same as L1", x and n placeholders).
# --------------------------------------------------------------------------------------------
PHASES = ("L1", "L2", "L3")
# Paths the wiki names in running text rather than on a line of their own.
EXTRA_PATHS = [("platform", "/Gui/RunningVersion"), ("system", "/FirmwareVersion")]


def expand(service, raw):
    """-> list of (service, path) for one raw path of the wiki."""
    p = raw
    if not p.startswith("/"):
        if service == "platform" and not p.startswith("Gui/"):
            p = "/Notifications/" + p
        else:
            p = "/" + p
    if service == "system":
        if p == "/ConsumptionOnOutput":
            return []  # the tail of a wrapped line
        m = re.match(r"^/Ac/(\w+)/\*$", p)
        if m:
            return [(service, "/Ac/%s/%s/Power" % (m.group(1), ph)) for ph in PHASES] + [
                (service, "/Ac/%s/NumberOfPhases" % m.group(1))]
    if service == "vebus":
        if p in ("/Ac/ActiveIn/*", "/Ac/ActiveIn/Lx/*"):
            return [(service, "/Ac/ActiveIn/%s/%s" % (ph, q)) for ph in ("L2", "L3") for q in "FIPSV"]
        if p == "/Ac/Out/L*/*":
            return [(service, "/Ac/Out/%s/%s" % (ph, q)) for ph in PHASES for q in "FIPSV"] + [
                (service, "/Ac/Out/P"), (service, "/Ac/Out/S")]
        m = re.match(r"^/Alarms/(L[23])/\*$", p)
        if m:
            return [(service, "/Alarms/%s/%s" % (m.group(1), q))
                    for q in ("HighTemperature", "LowBattery", "Overload", "Ripple")]
        if p == "/Ac/In/2/*":
            return [(service, "/Ac/In/2/CurrentLimit"), (service, "/Ac/In/2/CurrentLimitIsAdjustable")]
    if service in ("multi", "acsystem"):
        qs = "VFIP" if service == "multi" else None
        if p == "/Ac/In/n/Lx/*":
            return [(service, "/Ac/In/%d/%s/%s" % (n, ph, q)) for n in (1, 2) for ph in PHASES for q in qs]
        m = re.match(r"^/Ac/In/n/Lx/(\w)$", p)
        if m:
            return [(service, "/Ac/In/%d/%s/%s" % (n, ph, m.group(1))) for n in (1, 2) for ph in PHASES]
        m = re.match(r"^/Ac/In/n/(.+)$", p)
        if m:
            return [(service, "/Ac/In/%d/%s" % (n, m.group(1))) for n in (1, 2)]
        if p == "/Ac/Out/Lx/*":
            return [(service, "/Ac/Out/%s/%s" % (ph, q)) for ph in PHASES for q in "VFIP"]
        m = re.match(r"^/Ac/Out/Lx/(\w)$", p)
        if m:
            return [(service, "/Ac/Out/%s/%s" % (ph, m.group(1))) for ph in PHASES]
    if service in ("multi", "solarcharger"):
        m = re.match(r"^/Pv/x/(\w+)$", p)
        if m:
            return [(service, "/Pv/%d/%s" % (x, m.group(1))) for x in range(1, 4)]
    if service == "battery":
        if p in ("/Distributor/A/Fuse/n/*", "/Distributor/B/...", "/Distributor/E/...", "/Distributor/..."):
            return []
        m = re.match(r"^/Distributor/A/(.+)$", p)
        if m:
            rest = m.group(1)
            if rest.startswith("Fuse/0/"):
                tail = rest[len("Fuse/0/"):]
                return [(service, "/Distributor/%s/Fuse/%d/%s" % (d, f, tail))
                        for d in DISTRIBUTORS for f in range(DISTRIBUTOR_FUSES)]
            return [(service, "/Distributor/%s/%s" % (d, rest)) for d in DISTRIBUTORS]
    if service == "pvinverter":
        m = re.match(r"^/Ac/(L[23])/\*$", p)
        if m:
            return [(service, "/Ac/%s/%s" % (m.group(1), q))
                    for q in ("Current", "Energy/Forward", "Power", "Voltage")]
    if service == "charger":
        m = re.match(r"^/Dc/([12])/\.\.\.$", p)
        if m:
            return [(service, "/Dc/%s/%s" % (m.group(1), q)) for q in ("Voltage", "Current", "Temperature")]
    if service == "grid":
        m = re.match(r"^/Ac/(L[23])/\*$", p)
        paths = [p]
        if m:
            paths = ["/Ac/%s/%s" % (m.group(1), q)
                     for q in ("Current", "Energy/Forward", "Energy/Reverse", "Power", "Voltage")]
        return [(s, x) for x in paths for s in ("grid", "genset")]
    if service == "tank" and p == "/Alarms/Low/*":
        return [(service, "/Alarms/Low/%s" % q) for q in ("Active", "Delay", "Enable", "Restore", "State")]
    if service == "genset":
        m = re.match(r"^/Ac/(L[23])/\*$", p)
        paths = [p]
        if m:
            paths = ["/Ac/%s/%s" % (m.group(1), q) for q in ("Current", "Power", "Voltage")]
        if p == "/Error/0/Id":
            paths = ["/Error/%d/Id" % n for n in range(8)]
        out = []
        for x in paths:
            if x in AC_GENSET:
                out.append(("genset", x))
            elif x in DC_GENSET:
                out.append(("dcgenset", x))
            else:
                out += [("genset", x), ("dcgenset", x)]
        return out
    if service == "alternator":
        return [("alternator", p)] + ([("dcsource", p)] if alt_common(p) else [])
    if service in ("fuelcell", "dcsystem", "dcload", "motordrive"):
        return [(service, p)]
    if service == "switch":
        if p.startswith("/Channel/x/"):
            return [(service, "/Channel/%d/%s" % (x, p[len("/Channel/x/"):])) for x in range(SWITCH_CHANNELS)]
    if service == "rvc":
        m = re.match(r"^/Devices/#/(.+)$", p)
        if m:
            rest = m.group(1)
            out = []
            for d in range(RVC_DEVICES):
                if "/n/" in rest:
                    out += [(service, "/Devices/%d/%s" % (d, rest.replace("/n/", "/%d/" % n)))
                            for n in range(RVC_DC_SOURCES)]
                else:
                    out.append((service, "/Devices/%d/%s" % (d, rest)))
            return out
    if service == "platform":
        m = re.match(r"^/Notifications/\[0-19\]/(\w+)$", p)
        if m:
            return [(service, "/Notifications/%d/%s" % (n, m.group(1))) for n in range(NOTIFICATIONS)]
    return [(service, p)]


def alt_common(path):
    """The first part of the alternator section (DC meter paths) applies to dcsource as well."""
    return path.startswith("/Dc/0/V") or path.startswith("/Dc/0/Current") or path.startswith("/Dc/0/Temp") or \
        path.startswith("/Dc/1/") or path.startswith("/Alarms/") or path == "/History/EnergyOut" or \
        path == "/Settings/MonitorMode"


def extract(seed):
    lines = open(seed, encoding="utf-8").read().split("\n")
    out = []
    for first, last, svc in SECTIONS:
        cur = None
        for n in range(first, last + 1):
            line = lines[n - 1].rstrip()
            m = PATH_LINE.match(line)
            if m and not line.startswith("/Yield Power"):
                rest = m.group(2).strip()
                if rest.startswith("GetMin") or rest.startswith("GetMax"):
                    cur = None  # D-Bus methods of the item, not paths
                    continue
                cur = {"service": svc, "line": n, "path": m.group(1).rstrip(":"), "text": rest, "more": []}
                out.append(cur)
            elif cur is not None:
                cur["more"].append(line)
    return out


ARROW = re.compile(r"^(<-+|->|<=|<---|<—-|-+>|:)\s*")
ENUM_ITEM = re.compile(r"^\s*(?:->|\*|-)?\s*(-?(?:0x[0-9A-Fa-f]+|\d+))\s*(?:=|:|\.\s)\s*(.+?)\s*$")


def auto_enum(entry):
    """Enum texts from the wiki note: 'N=text;N=text' on the first line or 'N = text' lines after it."""
    items = {}
    first = ARROW.sub("", entry["text"])
    for part in re.split(r";|,\s*(?=-?\d+\s*=)", first):
        m = re.match(r"^\s*(-?\d+)\s*=\s*(.+?)\s*$", part)
        if m:
            items[int(m.group(1))] = m.group(2)
    for line in entry["more"]:
        for part in line.split(";"):
            m = ENUM_ITEM.match(part)
            if m and not re.match(r"^\d+\)", part.strip()):
                items[int(m.group(1), 0)] = m.group(2).rstrip(".,")
    return items


WORDS = {"Ac": "AC", "Dc": "DC", "Pv": "PV", "Soc": "SOC", "L1": "L1", "L2": "L2", "L3": "L3", "V": "voltage",
         "I": "current", "P": "power", "F": "frequency", "S": "apparent power", "Mppt": "MPPT", "Bms": "BMS",
         "Ess": "ESS", "Gps": "GPS", "Id": "ID", "Nr": "number", "Vebus": "VE.Bus", "Ve": "VE", "Co2": "CO2",
         "Nox": "NOx", "Hub4": "Hub4", "Mpp": "MPP", "In": "input", "Out": "output", "Soh": "state of health", "100mV": "100 mV", "Lynx": "Lynx", "Pm25": "PM2.5", "Voc": "VOC", "Dvcc": "DVCC", "Cgwacs": "ESS", "CGwacs": "ESS"}


def words_of(path):
    comps = path.strip("/").split("/")
    if comps[0] == "Alarms" and len(comps) > 1:
        return words_of("/" + "/".join(comps[1:])) + " alarm"
    if comps[0] == "History" and len(comps) > 1:
        return "History: " + words_of("/" + "/".join(comps[1:])).lower()
    if comps[0] == "Settings" and len(comps) > 2:
        comps = comps[1:]
    parts = []
    for comp in comps:
        if comp in WORDS:
            parts.append(WORDS[comp])
            continue
        ws = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", comp)
        out = []
        for i, w in enumerate(ws):
            if w in ("In", "Out"):  # "input"/"output" only after "Ac" (AcIn1ToAcOut), else "FeedIn" reads oddly
                out.append(WORDS[w] if i and ws[i - 1] == "Ac" else w.lower())
            else:
                out.append(WORDS.get(w, w if (w.isupper() and len(w) > 1) else w.lower()))
        parts.append(" ".join(out))
    text = " ".join(parts).replace("  ", " ")
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------------------------
# 2. The published register list (facts only).
# --------------------------------------------------------------------------------------------
COMPUTED = {
    777: {"type": "int16", "compute": "quotient", "inputs": ["/Yield/Power", "/Pv/V"],
          "description": "PV current (the path /Pv/I was removed from Venus OS)",
          "unit": "A DC"},
    830: {"type": "uint64", "compute": "utc-time", "description": "UTC time of the GX clock (seconds since 1970)",
          "unit": "s"},
    834: {"type": "uint32", "compute": "firmware-version", "inputs": ["/FirmwareVersion"],
          "description": "Firmware version of the GX device"},
    3214: {"type": "uint16", "compute": "any-text", "inputs": ["/Error/%d/Id" % i for i in range(8)], "value": 65280,
           "description": "Error summary of /Error/0/Id to /Error/7/Id",
           "enum": {0: "No error", 65280: "Unknown error"}},
    5202: {"type": "uint16", "compute": "any-text", "inputs": ["/Error/%d/Id" % i for i in range(8)], "value": 65280,
           "description": "Error summary of /Error/0/Id to /Error/7/Id",
           "enum": {0: "No error", 65280: "Unknown error"}},
}
# Documented valid ranges (D-Bus units) narrower than the type: from the published spreadsheet.
RANGES = {806: (0, 1), 807: (0, 1), 843: (0, 100), 2701: (0, 100), 2702: (0, 100), 3309: (0, 40000),
          3310: (0, 144284), 3313: (0, 1000), 3314: (0, 500), 3422: (0, 1), 3423: (0, 2), 3500: (0, 1),
          4703: (0, 100), 4704: (0, 100)}

UNIT_NORMAL = {"Degrees celsius": "°C", "Degrees Celsius": "°C", "Degrees centigrade": "°C", "seconds": "s",
               "Seconds": "s", "hour": "h", "day": "d", "W DC": "W", "W AC": "W"}


def parse_ref_unit(text):
    """attributes.csv column 4 -> (unit, enum)."""
    text = text.strip()
    if "=" in text:
        items = {}
        for part in text.split(";"):
            if not part.strip():
                continue
            k, _, v = part.partition("=")
            try:
                items[int(k.strip())] = v.strip()
            except ValueError:
                return "", None
        return "", items
    return UNIT_NORMAL.get(text, text), None


def read_reference(ref):
    rows = []
    with open(os.path.join(ref, "attributes.csv"), newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) >= 8 and row[4].strip().isdigit():
                rows.append(row[:8])
    rows.sort(key=lambda r: int(r[4]))
    units = []
    with open(os.path.join(ref, "unitid2di.csv"), newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if row and row[0].strip().isdigit() and int(row[0]) != int(row[1]):
                units.append((int(row[0]), int(row[1]), row[2].strip() if len(row) > 2 else ""))
    return rows, units


# --------------------------------------------------------------------------------------------
# 3. Our extensions: types by unit, block plan.
# --------------------------------------------------------------------------------------------
EXT_START = 40000
TYPE_BY_UNIT = {
    "V DC": ("uint16", 100, "d"), "V AC": ("uint16", 10, "d"), "A DC": ("int16", 10, "d"), "A AC": ("int16", 10, "d"),
    "A": ("int16", 10, "d"), "W": ("int32", 1, "d"), "VA": ("int32", 1, "d"), "Hz": ("uint16", 100, "d"),
    "kWh": ("uint32", 100, "d"), "%": ("uint16", 10, "d"), "°C": ("int16", 10, "d"), "Ah": ("int32", 10, "d"),
    "s": ("uint32", 1, "d"), "h": ("int32", 1, "d"), "RPM": ("uint16", 1, "d"), "kPa": ("uint16", 1, "d"),
    "m3": ("uint32", 10000, "d"), "g": ("int16", 1000, "d"), "hPa": ("uint16", 10, "d"), "dBm": ("int16", 1, "d"),
    "timestamp": ("uint32", 1, "i"),
}
TYPE_FIX = {
    ("battery", "/Dc/0/MidVoltageDeviation"): ("int16", 100, "d"),
    ("temperature", "/Scale"): ("uint16", 1000, "d"),
    ("temperature", "/SeqNo"): ("uint32", 1, "i"),
    ("tank", "/RawValue"): ("uint32", 1000, "d"), ("tank", "/RawValueEmpty"): ("uint32", 1000, "d"),
    ("tank", "/RawValueFull"): ("uint32", 1000, "d"),
    ("genset", "/Engine/Starts"): ("uint32", 1, "i"), ("dcgenset", "/Engine/Starts"): ("uint32", 1, "i"),
    ("generator", "/ManualStartTimer"): ("uint32", 1, "i"), ("generator", "/ServiceCounter"): ("int32", 1, "i"),
    ("switch", "/Channel/0/Dimming"): ("uint16", 1, "d"),
    ("alternator", "/Settings/MonitorMode"): ("int16", 1, "i"), ("dcsource", "/Settings/MonitorMode"): ("int16", 1, "i"),
    ("system", "/Ac/In/0/DeviceInstance"): ("uint16", 1, "i"), ("system", "/Ac/In/1/DeviceInstance"): ("uint16", 1, "i"),
    ("vebus", "/Ac/In/1/CurrentLimit"): ("uint16", 10, "d"), ("vebus", "/Ac/In/2/CurrentLimit"): ("uint16", 10, "d"),
    ("vebus", "/Ac/ActiveIn/CurrentLimit"): ("uint16", 10, "d"),
    ("multi", "/Ac/In/1/CurrentLimit"): ("uint16", 10, "d"), ("multi", "/Ac/In/2/CurrentLimit"): ("uint16", 10, "d"),
    ("acsystem", "/Ac/In/1/CurrentLimit"): ("uint16", 10, "d"),
    ("acsystem", "/Ac/In/2/CurrentLimit"): ("uint16", 10, "d"),
}
for _x in range(8):
    TYPE_FIX[("switch", "/Channel/%d/Dimming" % _x)] = ("uint16", 1, "d")
# Writable extension registers: the D-Bus type their path uses (settings are doubles or ints).
DBUS_WRITE = {
    ("vebus", "/Ac/Control/IgnoreAcIn1"): "i", ("vebus", "/Ac/Control/IgnoreAcIn2"): "i",
    ("vebus", "/VebusSetChargeState"): "i", ("settings", "/Settings/Gui/RunningVersion"): "i",
    ("settings", "/Settings/CGwacs/MaxChargePower"): "d", ("acsystem", "/Ess/UseInverterPowerSetpoint"): "i",
    ("acsystem", "/Ess/InverterPowerSetpoint"): "d", ("generator", "/AutoStartEnabled"): "i",
    ("generator", "/ManualStartTimer"): "i", ("generator", "/ServiceCounterReset"): "i",
    ("platform", "/Notifications/AcknowledgeAll"): "i", ("evcharger", "/EnableDisplay"): "u",
    ("genset", "/EnableRemoteStartMode"): "i", ("dcgenset", "/EnableRemoteStartMode"): "i",
    ("temperature", "/TemperatureType"): "i", ("tank", "/Capacity"): "d", ("tank", "/FluidType"): "i",
}
# Identity header of every device service's block (the generic paths).
IDENTITY = [("/ProductId", "uint16", 1, "i"), ("/DeviceInstance", "uint16", 1, "i"), ("/Connected", "uint16", 1, "i"),
            ("/FirmwareVersion", "uint32", 1, "i"), ("/ProductName", "string[16]", 1, "s"),
            ("/Serial", "string[8]", 1, "s"), ("/CustomName", "string[16]", 1, "s"),
            ("/HardwareVersion", "string[8]", 1, "s")]
NO_IDENTITY = {"system", "hub4", "settings", "platform", "pump", "generator", "vecan", "rvc"}
# A 16-bit published register whose range can be exceeded in practice gets a 32-bit twin.
TWIN_POWER_LIMIT = 100000  # W: a 16-bit power register of a site total or large device must reach 100 kW
TWIN_DEVICE_POWER_LIMIT = 20000  # W: one of a single smaller device (charger, tracker, motor) must reach 20 kW
AGGREGATING = {"system", "settings", "hub4", "grid", "genset", "acload", "pvinverter", "battery", "vebus", "acsystem"}
TWIN_ENERGY_LIMIT = 1000000  # kWh: a 16-bit energy total must reach 1 GWh


def ext_type(service, path, meta):
    key = (service, path)
    if key in TYPE_FIX:
        return TYPE_FIX[key]
    if meta.get("kind") == "text":
        n = max(1, (int(meta.get("length", 32)) + 1) // 2)
        return ("string[%d]" % n, 1, "s")
    if meta.get("enum") or meta.get("bitmask"):
        lo = min(meta["enum"]) if meta.get("enum") else 0
        return ("int16" if lo < 0 else "uint16", 1, "i")
    unit = meta.get("unit", "")
    if unit in TYPE_BY_UNIT:
        return TYPE_BY_UNIT[unit]
    return ("uint16", 1, "i")


# --------------------------------------------------------------------------------------------
# 4. Writing YAML (flow style, one entry per line, deterministic).
# --------------------------------------------------------------------------------------------
def q(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def num(v):
    v = float(v)
    if v == int(v):
        return str(int(v))
    return repr(v)


def enum_text(items):
    return "{" + ", ".join("%d: %s" % (k, q(v)) for k, v in sorted(items.items())) + "}"


def path_line(meta):
    f = ["path: " + q(meta["path"])]
    if meta.get("description"):
        f.append("description: " + q(meta["description"]))
    if meta.get("unit"):
        f.append("unit: " + q(meta["unit"]))
    if meta.get("enum"):
        f.append("enum: " + enum_text(meta["enum"]))
    if meta.get("bitmask"):
        f.append("bitmask: true")
    if meta.get("access") == "W":
        f.append("access: W")
    if meta.get("kind") and meta["kind"] != "number":
        f.append("kind: " + meta["kind"])
    if meta.get("length") and meta.get("kind") == "text":
        f.append("length: %d" % meta["length"])
    if meta.get("exclude"):
        f.append("exclude: " + q(meta["exclude"]))
    return "      - {" + ", ".join(f) + "}\n"


def reg_line(r):
    f = ["address: %d" % r["address"], "service: " + r["service"]]
    if r.get("path"):
        f.append("path: " + q(r["path"]))
    f.append("type: " + q(r["type"]) if "[" in r["type"] else "type: " + r["type"])
    if "scale" in r:
        f.append("scale: " + num(r["scale"]))
    if r.get("dbus-type"):
        f.append("dbus-type: " + r["dbus-type"])
    f.append("access: " + r["access"])
    if r.get("compute"):
        f.append("compute: " + r["compute"])
        if r.get("inputs"):
            f.append("inputs: [" + ", ".join(r["inputs"]) + "]")
        if "value" in r:
            f.append("value: %d" % r["value"])
    if r.get("range"):
        f.append("range: [%s, %s]" % (num(r["range"][0]), num(r["range"][1])))
    if r.get("unit"):
        f.append("unit: " + q(r["unit"]))
    if r.get("enum"):
        f.append("enum: " + enum_text(r["enum"]))
    if r.get("description"):
        f.append("description: " + q(r["description"]))
    if r.get("remarks"):
        f.append("remarks: " + q(r["remarks"]))
    return "  - {" + ", ".join(f) + "}\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    names = ["paths.yaml", "published.yaml", "extensions.yaml", "unit-ids.yaml"]
    os.makedirs(args.out, exist_ok=True)
    if not args.force and any(os.path.exists(os.path.join(args.out, n)) for n in names):
        sys.exit("derive-sources: %s already holds the sources; they are edited by hand now (use --force to "
                 "overwrite)" % args.out)

    # ---- the path list
    catalogue = {s: {} for s in SERVICE_ORDER}  # service -> path -> meta (insertion order kept)
    for entry in extract(args.seed):
        for svc, path in expand(entry["service"], entry["path"]):
            if path in catalogue[svc]:
                continue
            meta = {"path": path, "description": ""}
            e = auto_enum(entry) if "enum" not in FIX.get((svc, path), {}) else None
            if e:
                meta["enum"] = e
            catalogue[svc][path] = meta
    for svc, path in EXTRA_PATHS:
        catalogue[svc].setdefault(path, {"path": path, "description": ""})
    # Wiki entries that apply to several paths ("/Pv/0/V" and "/Pv/x/V") keep the first description.
    rows, units = read_reference(args.reference)
    ref_by_key = {}
    for row in rows:
        svc = row[0].split(".")[2]
        address = int(row[4])
        if row[5].startswith("reserved") or address in COMPUTED:
            continue
        ref_by_key.setdefault((svc, row[1]), []).append(row)
    for (svc, path), rs in ref_by_key.items():
        if svc not in catalogue:
            sys.exit("unknown service " + svc)
        meta = catalogue[svc].setdefault(path, {"path": path, "description": ""})
        unit, enum = parse_ref_unit(rs[0][3])
        meta.setdefault("ref_unit", unit)
        if enum and not meta.get("enum"):
            meta["enum"] = enum
        if rs[0][2] == "s":
            meta["kind"] = "text"
            meta["length"] = max(2 * int(re.search(r"\d+", r[5]).group(0)) for r in rs)
        if any(r[7] == "W" for r in rs):
            meta["access"] = "W"
    for svc, paths in catalogue.items():
        for path, meta in paths.items():
            fx = FIX.get((svc, path), {})
            meta.update(fx)
            if not meta.get("unit") and meta.get("ref_unit") and not meta.get("enum"):
                meta["unit"] = meta["ref_unit"]
            meta.pop("ref_unit", None)
            if not meta.get("description"):
                for pattern, make in DESCRIBE:
                    m = re.match(pattern, path)
                    if m:
                        meta["description"] = make(m)
                        break
                else:
                    meta["description"] = words_of(path)
    unknown = ["%s %s" % k for k in FIX if k[1] not in catalogue[k[0]]]
    if unknown:
        print("derive-sources: fixes for paths the service lacks (ignored):\n  " + "\n  ".join(unknown),
              file=sys.stderr)

    with open(os.path.join(args.out, "paths.yaml"), "w", encoding="utf-8") as out:
        out.write("# The Venus OS D-Bus paths venus-modbusd knows, per service type: the source of the descriptions,\n"
                  "# units and enum texts of register-maps/victron.yaml, and of docs/coverage.md.\n"
                  "# Hand-curated (first derived by tools/regmap/derive-sources.py from the D-Bus path list and the\n"
                  "# published register list). Edit it here, then run `build/venus-regmap generate`.\n"
                  "#\n"
                  "# Per service: service (the type, third part of the bus name), title, units (which unit IDs\n"
                  "# reach it), paths. Per path: path, description, unit, enum (value: text), bitmask (the enum\n"
                  "# values are bits), access (W: the path accepts writes), kind (number, text or array;\n"
                  "# default number), length (text: characters), exclude (why the path has no register).\n"
                  "# The 'generic' paths belong to every device service.\n")
        out.write("services:\n")
        for svc in SERVICE_ORDER:
            title, unit_text = TITLES[svc]
            out.write("  - service: %s\n    title: %s\n    units: %s\n    paths:\n" % (svc, q(title), q(unit_text)))
            for path, meta in catalogue[svc].items():
                out.write(path_line(meta))

    # ---- the unit-ID table
    with open(os.path.join(args.out, "unit-ids.yaml"), "w", encoding="utf-8") as out:
        out.write("# Modbus unit ID -> D-Bus /DeviceInstance where the two differ (the published table).\n"
                  "# Unit IDs without a row reach the device whose /DeviceInstance equals the unit ID.\n"
                  "unit-ids:\n")
        for unit, instance, remark in units:
            out.write("  - {unit: %d, instance: %d%s}\n" % (unit, instance, ", remark: " + q(remark) if remark else ""))

    # ---- the published registers
    published = []
    with open(os.path.join(args.out, "published.yaml"), "w", encoding="utf-8") as out:
        out.write("# The published Victron GX register list: address, service type, path, Modbus type, scale, D-Bus\n"
                  "# type and access of each of its 1003 registers, exactly as published (tests/regmap checks them\n"
                  "# against the reference). Descriptions, units and enums come from paths.yaml; 'description',\n"
                  "# 'unit' or 'enum' here override them for one register. Never change an address, type or scale.\n"
                  "registers:\n")
        for service, path, dbus_type, unit, address, mtype, scale, access in rows:
            svc = service.split(".")[2]
            address = int(address)
            r = {"address": address, "service": svc, "access": access}
            if address in COMPUTED:
                c = COMPUTED[address]
                r.update({"type": c["type"], "scale": float(scale or 1) or 1, "compute": c["compute"],
                          "access": "R", "description": c["description"]})
                for k in ("inputs", "value", "unit", "enum"):
                    if k in c:
                        r[k] = c[k]
            elif mtype.startswith("reserved"):
                r["type"] = mtype
            else:
                r.update({"path": path, "type": mtype, "scale": float(scale or 1) or 1, "dbus-type": dbus_type})
                if address in RANGES:
                    r["range"] = RANGES[address]
                u, e = parse_ref_unit(unit)
                meta = catalogue[svc][path]
                if u and not meta.get("enum") and u != meta.get("unit"):
                    r["unit"] = u
            published.append(r)
            out.write(reg_line(r))

    # ---- our extensions
    published_paths = {}
    computed_inputs = set()
    for r in published:
        if r.get("path"):
            published_paths.setdefault((r["service"], r["path"]), []).append(r)
        for i in r.get("inputs", []):
            computed_inputs.add((r["service"], i))
    blocks = []
    ext = []
    address = EXT_START
    for svc in SERVICE_ORDER:
        if svc == "generic":
            continue
        regs = []
        if svc not in NO_IDENTITY:
            for path, t, sc, dt in IDENTITY:
                meta = FIX[("generic", path)]
                r = {"service": svc, "path": path, "type": t, "scale": sc, "dbus-type": dt,
                     "access": meta.get("access", "R")}
                if (svc, path) in published_paths:
                    r["remarks"] = "also at register %d" % published_paths[(svc, path)][0]["address"]
                regs.append(r)
        # 32-bit twins of published 16-bit registers that overflow in practice
        for (s, path), rs in published_paths.items():
            if s != svc:
                continue
            wide = [r for r in rs if r["type"] in ("int32", "uint32")]
            narrow = [r for r in rs if r["type"] in ("int16", "uint16")]
            if wide or not narrow:
                continue
            r0 = narrow[0]
            meta = catalogue[svc][path]
            unit = r0.get("unit") or meta.get("unit", "")
            top = max((32767 if r["type"] == "int16" else 65535) / abs(r["scale"]) for r in narrow)
            power_limit = TWIN_POWER_LIMIT if svc in AGGREGATING else TWIN_DEVICE_POWER_LIMIT
            need = (unit == "W" and top < power_limit and "/Daily/" not in path) or (
                unit == "kWh" and top < TWIN_ENERGY_LIMIT and "/Daily/" not in path and r0["access"] == "R")
            if not need:
                continue
            if unit == "W":
                t, sc = ("int32" if r0["type"] == "int16" or svc in ("system", "settings") else "uint32"), 1
                if r0["type"] == "int16":
                    t = "int32"
            else:
                t, sc = "uint32", 100
            tw = {"service": svc, "path": path, "type": t, "scale": sc, "dbus-type": r0["dbus-type"],
                  "access": r0["access"], "remarks": "32-bit twin of register %d" % r0["address"]}
            if r0.get("range"):
                tw["range"] = r0["range"]
            regs.append(tw)
        for path, meta in catalogue[svc].items():
            if meta.get("exclude") or (svc, path) in published_paths or (svc, path) in computed_inputs:
                continue
            if svc in ("genset", "dcgenset") and path.startswith("/Error/"):
                continue
            t, sc, dt = ext_type(svc, path, meta)
            acc = meta.get("access", "R")
            if acc == "W":
                dt = DBUS_WRITE.get((svc, path), dt)
            r = {"service": svc, "path": path, "type": t, "scale": sc, "dbus-type": dt, "access": acc}
            if acc == "W" and meta.get("enum") and not meta.get("bitmask"):
                r["range"] = (min(meta["enum"]), max(meta["enum"]))
            if acc == "W" and meta.get("unit") == "%" and "Dimming" in path:
                r["range"] = (0, 100)
            regs.append(r)
        if not regs:
            continue
        # Repeated structures start at a round offset so that address = base + index * stride.
        start = address
        cursor = start
        group_of = re.compile(r"^/(Notifications|Channel|Devices|Distributor)/(\w+)/")
        group = None
        for r in regs:
            m = group_of.match(r["path"])
            key = m.group(1) if m and (svc, m.group(1)) in STRIDES else None
            if key:
                stride = STRIDES[(svc, key)]
                idx = "ABCDEFGH".index(m.group(2)) if key == "Distributor" else int(m.group(2))
                if group is None or group[0] != key:
                    group = (key, int(math.ceil(cursor / 10.0) * 10), {})
                _, base, nxt = group
                r["address"] = nxt.get(idx, base + idx * stride)
                nxt[idx] = r["address"] + words(r["type"])
                if nxt[idx] > base + (idx + 1) * stride:
                    sys.exit("stride too small for %s %s" % (svc, key))
                cursor = max(cursor, base + (max(nxt) + 1) * stride)
            else:
                group = None
                r["address"] = cursor
                cursor += words(r["type"])
        # Padding inside the block becomes reserved words, so that any span of the block can be read.
        regs.sort(key=lambda r: r["address"])
        filled = []
        for r in regs:
            if filled:
                end = filled[-1]["address"] + words(filled[-1]["type"])
                if r["address"] > end:
                    filled.append({"address": end, "service": svc, "type": "reserved[%d]" % (r["address"] - end),
                                   "access": "R"})
            filled.append(r)
        regs = filled
        cursor = max(cursor, regs[-1]["address"] + words(regs[-1]["type"]))
        used = cursor - start
        size = int(math.ceil(max(2 * used, used + 100) / 100.0) * 100)
        blocks.append((svc, start, size, used))
        ext += regs
        address = start + size
        if address >= 65536:
            sys.exit("the extension range is full")

    with open(os.path.join(args.out, "extensions.yaml"), "w", encoding="utf-8") as out:
        out.write("# venus-modbusd's own registers, beyond the published list: one block per service type from 40000\n"
                  "# on, so that future Victron additions above 5819 cannot clash (39000-39999 is kept free for the\n"
                  "# server's discovery block). Each block: the identity header (generic paths, device services\n"
                  "# only), 32-bit twins of published 16-bit registers that overflow in practice, then the paths\n"
                  "# of paths.yaml the published list lacks. Repeated structures (channels, notifications,\n"
                  "# devices, distributors) use a fixed stride. New registers go after the last one of their\n"
                  "# block; never move or re-type an existing one.\n")
        out.write("blocks:\n")
        for svc, start, size, used in blocks:
            out.write("  - {service: %s, first: %d, last: %d}\n" % (svc, start, start + size - 1))
        out.write("registers:\n")
        for r in ext:
            out.write(reg_line(r))
    print("derive-sources: %d services, %d paths, %d published, %d extension registers, blocks up to %d" % (
        len(catalogue), sum(len(p) for p in catalogue.values()), len(published), len(ext), address - 1))


STRIDES = {("platform", "Notifications"): 128, ("switch", "Channel"): 30, ("rvc", "Devices"): 20,
           ("battery", "Distributor"): 50}


def words(t):
    if t in ("int16", "uint16"):
        return 1
    if t in ("int32", "uint32"):
        return 2
    if t == "uint64":
        return 4
    return int(re.search(r"\d+", t).group(0))


if __name__ == "__main__":
    main()
