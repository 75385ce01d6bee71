#!/usr/bin/env python3
"""A minimal ESS mode-3 control loop over Modbus TCP (python3-pymodbus).

It puts the site in external control (Hub4Mode 3), then once a second reads the grid power and
moves the Multi's L1 AC power set point so that the grid power settles at --target watts
(negative: export). It rewrites the set point every second even when it does not change: the
Multi falls back to passthru when its set point is not written for about a minute.

  python3 examples/ess_control_loop.py --host 127.0.0.1 --port 5020 --target -500 --seconds 30
"""
import argparse
import sys
import time

from pymodbus.client import ModbusTcpClient

UNIT_SYSTEM = 100     # system, settings, hub4: device instance 0
UNIT_MULTI = 246      # the VE.Bus Multi on the CCGX VE.Bus port (instance 257)
REG_GRID_L1 = 820     # system /Ac/Grid/L1/Power, int16, W
REG_HUB4_MODE = 2902  # settings /Settings/CGwacs/Hub4Mode: 3 = external control
REG_SETPOINT_L1 = 37  # vebus /Hub4/L1/AcPowerSetpoint, int16, W (the 32-bit twin is at 96)


def signed16(word):
    return word - 0x10000 if word & 0x8000 else word


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5020)
    parser.add_argument("--target", type=int, default=0, help="grid power to hold, W (negative: export)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--gain", type=float, default=0.5)
    parser.add_argument("--tolerance", type=int, default=None,
                        help="exit 1 unless the median of the last five grid readings is within this many W "
                             "of the target (one reading can catch a load step)")
    args = parser.parse_args()

    client = ModbusTcpClient(args.host, port=args.port, timeout=3)
    if not client.connect():
        sys.exit("cannot connect to %s:%d" % (args.host, args.port))
    if client.write_register(REG_HUB4_MODE, 3, slave=UNIT_SYSTEM).isError():
        sys.exit("cannot switch to mode 3 (is the server read-only?)")

    setpoint = 0.0
    readings = []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        reply = client.read_holding_registers(REG_GRID_L1, 1, slave=UNIT_SYSTEM)
        if reply.isError():
            sys.exit("reading the grid power failed: %s" % reply)
        grid = signed16(reply.registers[0])
        readings.append(grid)
        # Integral action: the set point moves by a share of the error each second.
        setpoint += args.gain * (args.target - grid)
        setpoint = max(-32768, min(32767, setpoint))
        word = int(round(setpoint)) & 0xFFFF  # two's complement for negative watts
        if client.write_register(REG_SETPOINT_L1, word, slave=UNIT_MULTI).isError():
            sys.exit("writing the set point failed")
        print("grid %6d W   set point %7.0f W" % (grid, setpoint), flush=True)
        time.sleep(1.0)
    client.close()
    if args.tolerance is not None:
        last = sorted(readings[-5:])
        settled = last[len(last) // 2] if len(last) == 5 else None
        if settled is None or abs(settled - args.target) > args.tolerance:
            sys.exit("grid %s W (median of the last five readings %s) is not within %d W of the target %d W"
                     % (settled, readings[-5:], args.tolerance, args.target))


if __name__ == "__main__":
    main()
