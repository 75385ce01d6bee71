"""The life of a write through the running daemon (issue 22), with the simulator's delayed SetValues
(tests/integration/scenarios/write-life-site.yaml) and raw Modbus TCP clients:

1. Exception 11 means "outcome unknown": a write answered 11 whose SetValue lands later arms the
   fail-safe, which then fires at its time (not before, and not much later).
2. A due fail-safe waits for a client write in flight on its path: the controller's fresh value is
   never overwritten by the fail-safe of its previous one.
3. A request is applied whole: an FC 16 whose client disconnects at once still gets all its writes.
4. A fail-safe rule on an output-slot register fires, for the output in that slot.
5. The default write timeout answers 11 well before a client with a 1 s timeout gives up.
6. A short fail-safe armed after a long one fires at its own time, and a reload that shortens an
   armed fail-safe makes it fire at the new time (the one timer is moved earlier in both cases).

Usage: write_life_test.py BUILD_DIR
"""
import os
import signal
import socket
import struct
import sys
import time

from sitelib import SHIPPED_MAP, Checks, Connection, Site, waiting

build = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
scenario = os.path.join(here, "scenarios", "write-life-site.yaml")
site = Site(build, prefix="vmd-write-life.")
checks = Checks("write life")
check = checks.check
text = site.text
wait_for = waiting(20.0)

SLOW = "com.victronenergy.vebus.wl_slow"  # unit 44
SWITCH = "com.victronenergy.switch.wl_io"  # unit 45
L1, L2, L3 = ("/Hub4/L%d/AcPowerSetpoint" % i for i in (1, 2, 3))
MARGIN = 2.0  # s a fail-safe may fire after its deadline on a loaded machine under ASan


def applied(service, path):
    """The values the simulator applied to (service, path), in order (a delayed SET prints twice)."""
    return [l.split()[4] for l in site.set_lines() if l.startswith("SET %s %s " % (service, path))
            and not l.endswith("-> delayed")]


def arrived(service, path):
    """The values of the SetValues that reached (service, path), in arrival order."""
    return [l.split()[4] for l in site.set_lines() if l.startswith("SET %s %s " % (service, path))
            and l.endswith("-> delayed")]


def seen_at(log, needle, timeout=20.0, times=1):
    """The time (time.monotonic) at which `needle` was seen in `log` for the `times`th time, polled
    every 10 ms; None when it was not within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text(log).count(needle) >= times:
            return time.monotonic()
        time.sleep(0.01)
    return None


def outcome_unknown_arms_the_failsafe():
    c = Connection(port)
    started = time.monotonic()
    code = c.write(44, 37, 1500)
    answered = time.monotonic() - started
    check(code == 11, "a write whose SetValue takes 2 s answers exception 11 with --write-timeout 1000 (got %r)" % code)
    check(0.9 <= answered <= 1.0 + MARGIN, "the 11 comes after the write timeout, 1 s (took %.2f s)" % answered)
    late = seen_at("server.log", "answered after its request got exception 11: accepted")
    check(late is not None, "the late acceptance is logged")
    check(applied(SLOW, L1)[:1] == ["1500"], "the write applied late: %s" % applied(SLOW, L1))
    fired = seen_at("server.log", "fail-safe: no client wrote register 37")
    check(fired is not None, "the fail-safe armed by the late write fires: %s" % text("server.log")[-2000:])
    if late and fired:
        check(3.0 - 0.2 <= fired - late <= 3.0 + MARGIN,
              "it fires 3 s after the write landed, not before and not much later (%.2f s)" % (fired - late))
    check(wait_for(lambda: applied(SLOW, L1)[-1:] == ["0"]), "the fail-safe's 0 W is applied: %s" % applied(SLOW, L1))
    c.close()


def failsafe_waits_for_a_client_write_in_flight():
    c = Connection(port)
    before = len(applied(SLOW, L1))
    check(c.write(44, 37, 1500) == 11, "the first write answers 11")
    check(wait_for(lambda: applied(SLOW, L1)[before:] == ["1500"]), "1500 applied")
    landed = time.monotonic()  # the fail-safe is now due 3 s from here
    time.sleep(2.5)
    check(c.write(44, 37, 1600) == 11, "the controller's next write (2 s SetValue) answers 11")
    # The fail-safe comes due (3 s after 1500 landed) while the SetValue of 1600 is pending: it
    # waits, and 1600's acceptance arms it again from then.
    check(seen_at("server.log", "waits for a client write to that path") is not None,
          "the due fail-safe says it waits for the client write in flight")
    check(wait_for(lambda: applied(SLOW, L1)[before:] == ["1500", "1600"]), "1600 applied: %s" % applied(SLOW, L1))
    time.sleep(max(0.0, landed + 5.5 - time.monotonic()))
    check(applied(SLOW, L1)[before:] == ["1500", "1600"],
          "the controller's 1600 stands where the old fail-safe would have overwritten it: %s"
          % applied(SLOW, L1)[before:])
    check(c.read(44, 37) == [1600], "register 37 reads 1600")
    check(wait_for(lambda: applied(SLOW, L1)[before:] == ["1500", "1600", "0"]),
          "3 s after 1600 landed the fail-safe writes 0 W, once: %s" % applied(SLOW, L1)[before:])
    c.close()


def a_request_is_applied_whole():
    before2, before3 = len(applied(SLOW, L2)), len(applied(SLOW, L3))
    s = socket.create_connection(("127.0.0.1", port))
    pdu = struct.pack(">BHHB2h", 16, 40, 2, 4, -700, -800)  # L2 and L3, each SetValue answered 0.4 s late
    s.sendall(struct.pack(">HHHB", 1, 0, len(pdu) + 1, 44) + pdu)
    time.sleep(0.1)
    s.close()  # the client leaves while L2's SetValue is pending
    check(wait_for(lambda: applied(SLOW, L2)[before2:] == ["-700"] and applied(SLOW, L3)[before3:] == ["-800"]),
          "both writes of the request are applied after its client left (L2 %s, L3 %s)"
          % (applied(SLOW, L2)[before2:], applied(SLOW, L3)[before3:]))


def a_failsafe_on_an_output_slot_fires():
    c = Connection(port)
    check(c.write(45, 53360, 1) is None, "slot 2's state is written")
    check(wait_for(lambda: applied(SWITCH, "/SwitchableOutput/relay_2/State")[-1:] == ["1"]),
          "the write reaches relay_2, the output in slot 2")
    wrote = time.monotonic()
    fired = seen_at("server.log", "fail-safe: no client wrote register 53360")
    check(fired is not None, "the slot register's fail-safe fires")
    if fired:
        check(2.0 - 0.2 <= fired - wrote <= 2.0 + MARGIN, "after 2 s (%.2f s)" % (fired - wrote))
    check(wait_for(lambda: applied(SWITCH, "/SwitchableOutput/relay_2/State")[-1:] == ["0"]),
          "the fail-safe switches relay_2 off: %s" % applied(SWITCH, "/SwitchableOutput/relay_2/State"))
    check(applied(SWITCH, "/SwitchableOutput/relay_1/State") == [], "relay_1 is never written")
    c.close()


def the_default_timeout_answers_before_a_1s_client_gives_up():
    _, default_port = site.start_server(log="server-default.log")
    c = Connection(default_port, timeout=1.0)  # as Node-RED's Modbus nodes and mbpoll wait
    started = time.monotonic()
    try:
        code = c.write(44, 37, 100)  # L1: SetValue answered after 2 s
    except socket.timeout:
        code = "the client's 1 s timeout"
    took = time.monotonic() - started
    check(code == 11, "a 1 s client gets exception 11, not its own timeout (got %r after %.2f s)" % (code, took))
    c.close()


def write_overlay(after40):
    with open(overlay, "w") as f:
        f.write("amend:\n  - {address: 37, failsafe: {after: 3, value: 0}}\n"
                "  - {address: 40, failsafe: {after: %s, value: 0}}\n"
                "  - {address: 53360, failsafe: {after: 2, value: 0}}\n" % after40)


def the_one_timer_moves_earlier():
    c = Connection(port)
    long_line, short_line = "fail-safe: no client wrote register 40 ", "fail-safe: no client wrote register 53360 "
    longs, shorts = text("server.log").count(long_line), text("server.log").count(short_line)
    check(c.write(44, 40, 100) is None, "40 is written: its fail-safe is due in 8 s")
    check(c.write(45, 53360, 1) is None, "then slot 2's state: its fail-safe is due in 2 s")
    wrote = time.monotonic()
    fired = seen_at("server.log", short_line, times=shorts + 1)
    check(fired is not None and 2.0 - 0.2 <= fired - wrote <= 2.0 + MARGIN,
          "the short one fires after 2 s, not when the long one is due (%s)" % (fired and "%.2f s" % (fired - wrote)))
    check(text("server.log").count(long_line) == longs, "the long one has not fired yet")
    write_overlay(1)
    reloaded = time.monotonic()
    server.send_signal(signal.SIGHUP)
    fired = seen_at("server.log", long_line, times=longs + 1)
    check(fired is not None and fired - reloaded <= MARGIN,
          "a reload that shortens 40's fail-safe to 1 s makes it fire at once, its new deadline being past "
          "(%s after the reload)" % (fired and "%.2f s" % (fired - reloaded)))
    time.sleep(8.5 - (time.monotonic() - wrote))
    check(text("server.log").count(long_line) == longs + 1, "and only once: the old 8 s deadline is gone")
    c.close()


try:
    site.start_bus()
    site.start_sim(scenario)
    overlay = site.path("failsafe.yaml")
    write_overlay(8)
    server, port = site.start_server("--write-timeout", "1000", "--overlay", overlay, "--log-level", "debug")
    checks.run_parts([outcome_unknown_arms_the_failsafe, failsafe_waits_for_a_client_write_in_flight,
                      a_request_is_applied_whole, a_failsafe_on_an_output_slot_fires,
                      the_default_timeout_answers_before_a_1s_client_gives_up, the_one_timer_moves_earlier])
finally:
    site.stop_all()
checks.finish(lambda: "--- server.log\n" + text("server.log")[-6000:] + "\n--- sim.log\n" + text("sim.log")[-3000:])
