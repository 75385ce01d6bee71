#include "dbus/BusItem.h"

#include <catch2/catch.hpp>

using vmd::dbus::needsAnonymousAuth;

TEST_CASE("a tcp: bus address authenticates with ANONYMOUS, others with EXTERNAL", "[dbus]") {
    CHECK(needsAnonymousAuth("tcp:host=192.0.2.10,port=78"));
    CHECK(needsAnonymousAuth("unix:path=/nonexistent;tcp:host=gx,port=78")); // tried in order, one mechanism
    CHECK_FALSE(needsAnonymousAuth("system"));
    CHECK_FALSE(needsAnonymousAuth("session"));
    CHECK_FALSE(needsAnonymousAuth("unix:path=/run/dbus/system_bus_socket"));
    CHECK_FALSE(needsAnonymousAuth("unix:path=/tmp/tcp:x"));
    CHECK_FALSE(needsAnonymousAuth(""));
    CHECK_FALSE(needsAnonymousAuth("tcp"));
}
