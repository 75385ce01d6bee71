"""The diagnostics service as docs/architecture.md describes it: "com.victronenergy.modbustcp on the same bus
connection: the GX device's /LastError/* and /Services/N/*, plus our counters, refreshed once a second,
published the BusItem way (GetItems, ItemsChanged)". Run through with-site.sh; a GX tool reads it with
GetItems on / and follows ItemsChanged, so those two are checked with dbus-send and dbus-monitor, the
standard D-Bus tools, rather than our own client.
"""
import os
import re
import subprocess

from sitelib import SOURCE, Checks, Connection, Site, wait_for

BUS, PORT = os.environ["VMD_BUS"], int(os.environ["VMD_PORT"])
NAME = "com.victronenergy.modbustcp"
checks = Checks("diagnostics")
check = checks.check


def get_items():
    """GetItems on /: {path: (value text as dbus-send prints it, has Value, has Text)}."""
    out = subprocess.run(["dbus-send", "--bus=" + BUS, "--print-reply", "--dest=" + NAME, "/",
                          "com.victronenergy.BusItem.GetItems"], capture_output=True, text=True, timeout=10).stdout
    items = {}
    for path, body in re.findall(r'string "(/[^"]*)"\s+array \[(.*?)\n\s{9}\]', out, re.S):
        value = re.search(r'string "Value"\s+variant\s+(\S+ [^\n]*)', body)
        items[path] = (value.group(1) if value else None, 'string "Text"' in body)
    return items


def count_in(items, path):
    m = re.match(r"u?int\d+ (\d+)", (items.get(path) or ("",))[0] or "")
    return int(m.group(1)) if m else None


items = get_items()
for path in ("/Requests/Count", "/Services/Count", "/Services/0/ServiceName", "/Services/0/UnitId",
             "/LastError/Message", "/Clients/Count", "/Failsafe/Activations"):
    check(path in items and items[path][0] is not None and items[path][1],
          "GetItems on / lists %s with a Value and a Text" % path)
def monitored_counts(path):
    """The /Requests/Count values carried by the ItemsChanged signals dbus-monitor wrote to `path`."""
    with open(path) as f:
        text = f.read()
    return [int(n) for n in re.findall(r'string "/Requests/Count"\s+array \[(?:(?!\n      \)).)*?string "Value"\s+'
                                        r'variant\s+u?int\d+ (\d+)', text, re.S)]


log = os.path.join(os.environ["VMD_WORK"], "monitor.log")
with open(log, "w") as out:
    monitor = subprocess.Popen(["dbus-monitor", "--address", BUS, "type='signal',sender='%s',"
                                "interface='com.victronenergy.BusItem',member='ItemsChanged'" % NAME],
                               stdout=out, stderr=subprocess.STDOUT)
try:
    # dbus-monitor is monitoring once the bus took its name back (NameLost), its own first output.
    check(wait_for(lambda: "member=NameLost" in open(log).read(), 10), "dbus-monitor is monitoring the bus")
    before = count_in(get_items(), "/Requests/Count")
    c = Connection(PORT)
    for _ in range(25):
        c.read(100, 843)
    c.close()
    check(wait_for(lambda: (count_in(get_items(), "/Requests/Count") or 0) >= before + 25, 5),
          "GetItems shows the 25 requests counted within a few seconds")
    check(wait_for(lambda: any(n >= before + 25 for n in monitored_counts(log)), 5),
          "an ItemsChanged on / carries /Requests/Count with the new count: %s" % monitored_counts(log))
finally:
    monitor.terminate()
    monitor.wait(timeout=10)

# The GX GUI's Modbus TCP page has a "Clear error" button: SetValue of an invalid value (an empty
# array; dbus-send cannot send one in a variant, busctl can) on /LastError/Message and
# /LastError/Timestamp. Both answer 0 and read invalid until the next error; any other SetValue
# answers 1 and changes nothing.
def bus_value(path):
    """GetValue of a diagnostics path as dbus-send prints the variant ("string ...", "array [ ]" when invalid)."""
    out = subprocess.run(["dbus-send", "--bus=" + BUS, "--print-reply", "--dest=" + NAME, path,
                          "com.victronenergy.BusItem.GetValue"], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"variant\s+(.*)", out, re.S)
    return " ".join(m.group(1).split()) if m else None


def set_value(path, *value):
    """SetValue with busctl (signature then values, as busctl takes them): the int answered, or None."""
    r = subprocess.run(["busctl", "--address=" + BUS, "call", NAME, path, "com.victronenergy.BusItem", "SetValue",
                        "v", *value], capture_output=True, text=True, timeout=10)
    m = re.match(r"i (-?\d+)$", r.stdout.strip())
    return int(m.group(1)) if m else None


def error_shown():
    return (bus_value("/LastError/Message") or "").startswith("string") and \
        (bus_value("/LastError/Timestamp") or "").startswith("int")


c = Connection(PORT)
check(c.read(100, 1) == 2, "a read of register 1 at unit 100 answers exception 2 (an error to show)")
c.close()
check(wait_for(error_shown, 5), "/LastError/Message and /Timestamp show it: %s, %s"
      % (bus_value("/LastError/Message"), bus_value("/LastError/Timestamp")))
message = bus_value("/LastError/Message")
check(set_value("/LastError/Message", "s", "something") == 1 and bus_value("/LastError/Message") == message,
      "SetValue of a valid value on /LastError/Message answers 1 and keeps the error")
r = subprocess.run(["dbus-send", "--bus=" + BUS, "--print-reply", "--dest=" + NAME, "/LastError/Timestamp",
                    "com.victronenergy.BusItem.SetValue", "variant:int32:0"], capture_output=True, text=True, timeout=10)
check("int32 1" in r.stdout and error_shown(), "dbus-send's SetValue of 0 on /LastError/Timestamp answers 1, keeps it")
check(set_value("/LastError/Message", "ai", "0") == 0, "SetValue of an invalid value (empty array) answers 0")
check(bus_value("/LastError/Message") == "array [ ]" and bus_value("/LastError/Timestamp") == "array [ ]",
      "both paths read invalid after the clear: %s, %s" % (bus_value("/LastError/Message"), bus_value("/LastError/Timestamp")))
requests = count_in(get_items(), "/Requests/Count") or 0
c = Connection(PORT)
c.read(100, 843)
c.close()
check(wait_for(lambda: (count_in(get_items(), "/Requests/Count") or 0) > requests, 5),
      "a diagnostics refresh after a request without error")
check(bus_value("/LastError/Message") == "array [ ]", "they stay invalid while no new error comes")
c = Connection(PORT)
c.read(100, 1)
c.close()
check(wait_for(error_shown, 5), "the next error shows again")
check(set_value("/LastError/Timestamp", "ai", "0") == 0 and bus_value("/LastError/Message") == "array [ ]",
      "a clear on /LastError/Timestamp clears the message too")

# docs/registers.md "Unit IDs": "When two services of one type share an instance, one is chosen
# deterministically and reported in the diagnostics"; "Device instances of 256 and up that have no row
# cannot be reached". A site of its own: scenarios/twins.yaml (two batteries at instance 512, unit 225)
# and a battery at instance 300, which no row of the unit table names.
EXTRA = """\
services:
  - name: com.victronenergy.battery.unreachable
    paths:
      /DeviceInstance: 300
      /Dc/0/Voltage: {value: 48.0, type: d}
"""
with Site(os.environ["VMD_BUILD"], prefix="vmd-diag-twins.") as site:
    extra = site.path("unreachable.yaml")
    with open(extra, "w") as f:
        f.write(EXTRA)
    site.start_sim(os.path.join(SOURCE, "tests", "integration", "scenarios", "twins.yaml"))
    site.start_sim(extra, log="extra.log")
    site.start_server()

    def entries():
        out = subprocess.run(["dbus-send", "--bus=" + site.bus, "--print-reply", "--dest=" + NAME, "/",
                              "com.victronenergy.BusItem.GetItems"], capture_output=True, text=True, timeout=10).stdout
        values = dict(re.findall(r'string "(/Services/\d+/\w+)"\s+array \[.*?string "Value"\s+variant\s+\S+ "?([^"\n]*)"?',
                                 out, re.S))
        found = {}
        for key, value in values.items():
            if key.endswith("/ServiceName"):
                base = key[:-len("ServiceName")]
                found[value] = (values.get(base + "UnitId"), values.get(base + "Reachable"))
        return found

    want = {"com.victronenergy.battery.ttyA": ("225", "1"), "com.victronenergy.battery.ttyB": ("225", "0"),
            "com.victronenergy.battery.unreachable": ("300", "0")}
    check(wait_for(lambda: all(entries().get(k) == v for k, v in want.items()), 10),
          "the diagnostics list both twins at unit 225, the chosen one (the smaller name) reachable and the other "
          "not, and the battery at instance 300 unreachable: %s" % {k: entries().get(k) for k in want})
checks.finish()
