// sdbus-floor: what receiving the mirror's signals costs through sd-bus alone, for the mirror benchmark
// (docs/benchmarks.md, "Mirroring a busy bus"). It connects to ADDRESS, adds the mirror's three match
// rules and drops every message: no map, no decoding. Watch it with venus-bench --mirror --pid.
//
//     sdbus-floor ADDRESS

#include <systemd/sd-bus.h>

#include <cstdint>
#include <cstdio>
#include <initializer_list>

namespace {

int drop(sd_bus_message*, void*, sd_bus_error*) {
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: sdbus-floor ADDRESS\n");
        return 2;
    }
    sd_bus* bus = nullptr;
    if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, argv[1]) < 0 || sd_bus_set_bus_client(bus, 1) < 0 ||
        sd_bus_start(bus) < 0) {
        std::fprintf(stderr, "sdbus-floor: cannot connect to %s\n", argv[1]);
        return 1;
    }
    for (const char* rule :
         {"type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',"
          "arg0namespace='com.victronenergy'",
          "type='signal',interface='com.victronenergy.BusItem',member='ItemsChanged',path='/'",
          "type='signal',interface='com.victronenergy.BusItem',member='PropertiesChanged'"})
        if (sd_bus_add_match(bus, nullptr, rule, drop, nullptr) < 0) {
            std::fprintf(stderr, "sdbus-floor: AddMatch failed: %s\n", rule);
            return 1;
        }
    for (;;) {
        const int r = sd_bus_process(bus, nullptr);
        if (r < 0) return 1;
        if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0) return 1;
    }
}
