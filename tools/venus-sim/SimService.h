#pragma once

// One simulated Venus OS service: its own bus connection, its bus name, and one
// com.victronenergy.BusItem object per path plus the root object "/".

#include "Scenario.h"

#include <sdbus-c++/sdbus-c++.h>

#include <memory>
#include <random>
#include <vector>

namespace vmd::sim {

inline constexpr const char* kBusItemInterface = "com.victronenergy.BusItem";

class SimService {
  public:
    SimService(ServiceSpec spec, std::unique_ptr<sdbus::IConnection> connection);
    SimService(const SimService&) = delete;
    SimService& operator=(const SimService&) = delete;

    // Registers every object, then requests the bus name.
    void publish();
    // Moves every walking path one step and publishes the changes.
    void tick();

    sdbus::IConnection& connection() { return *connection_; }
    const std::string& name() const { return spec_.name; }

  private:
    struct Item {
        PathSpec spec;
        Value value;
        std::unique_ptr<sdbus::IObject> object;
    };

    void registerItem(Item& item);
    void registerRoot();
    void setValue(Item& item, sdbus::Result<std::int32_t>&& result, const sdbus::Variant& in);
    void emitChanges(const std::vector<const Item*>& changed);

    // Declared first so that it is destroyed last, after every object using it.
    std::unique_ptr<sdbus::IConnection> connection_;
    ServiceSpec spec_;
    std::vector<Item> items_;
    std::unique_ptr<sdbus::IObject> root_;
    std::vector<sdbus::Result<std::int32_t>> hung_; // SetValue calls that never get a reply
    std::mt19937 rng_;
};

} // namespace vmd::sim
