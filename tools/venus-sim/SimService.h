#pragma once

// One simulated Venus OS service: its own bus connection, its bus name, and one
// com.victronenergy.BusItem object per path plus the root object "/".

#include "Scenario.h"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
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

    /// The current value of a path as a number, if it exists and holds one.
    [[nodiscard]] std::optional<double> number(const std::string& path) const;
    /// Sets the paths that exist (converted to their D-Bus type) and publishes the changes.
    void setNumbers(const std::vector<std::pair<std::string, double>>& values);
    /// The path is driven by a model from now on: its walk stops.
    void drive(const std::string& path);
    /// Handles the SetValue calls whose `set-delay` has passed; returns when the next one is due.
    std::optional<std::chrono::steady_clock::time_point>
    runDelayedSets(std::chrono::steady_clock::time_point now);
    /// The service type: the third part of the bus name.
    [[nodiscard]] std::string type() const;

    /// How a service publishes the changes of one churn step (venus-sim --churn).
    enum class Emission {
        ItemsChanged,     ///< one ItemsChanged on "/" for all of them, no PropertiesChanged
        PropertiesChanged ///< one PropertiesChanged per path, no ItemsChanged
    };
    /// The paths --churn may change: numeric, with a valid value, not /DeviceInstance (indices for churn()).
    [[nodiscard]] std::vector<std::size_t> churnable() const;
    /// Whether the service can emit ItemsChanged (it offers GetItems).
    [[nodiscard]] bool emitsItemsChanged() const { return spec_.getItems; }
    /// Changes each of `items` (churnable() indices: between its scenario value and one step beside it)
    /// and publishes the changes as `emission` says. Returns the number of signals emitted.
    std::size_t churn(const std::vector<std::size_t>& items, Emission emission);

    /// Sends the delayed replies and does the scheduled actions that are due.
    void runDue(std::chrono::steady_clock::time_point now);
    /// When runDue() has something to do next, if anything.
    [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> nextDue() const;

    sdbus::IConnection& connection() { return *connection_; }
    const std::string& name() const { return spec_.name; }

  private:
    struct Item {
        PathSpec spec;
        Value value;
        std::unique_ptr<sdbus::IObject> object;
        bool churned = false; ///< --churn: away from the scenario value (the next churn goes back)
    };

    void registerItem(Item& item);
    void registerRoot();
    void setValue(Item& item, sdbus::Result<std::int32_t>&& result, const sdbus::Variant& in);
    void applySet(Item& item, sdbus::Result<std::int32_t>&& result, const sdbus::Variant& in);
    void emitChanges(const std::vector<const Item*>& changed);
    /// Answers a read (GetItems, GetValue) as the scenario's faults say: at once, later, or an error.
    template <typename T>
    void answerRead(sdbus::Result<T>&& result, const char* what, std::function<T()> value);
    void later(std::chrono::milliseconds delay, std::function<void()> action);

    // Declared first so that it is destroyed last, after every object using it.
    std::unique_ptr<sdbus::IConnection> connection_;
    ServiceSpec spec_;
    std::vector<Item> items_;
    std::unique_ptr<sdbus::IObject> root_;
    std::vector<sdbus::Result<std::int32_t>> hung_; // SetValue calls that never get a reply
    struct DelayedSet {
        std::chrono::steady_clock::time_point due;
        Item* item;
        sdbus::Result<std::int32_t> result;
        sdbus::Variant value;
    };
    std::vector<DelayedSet> delayed_; // SetValue calls of paths with a set-delay, in arrival order
    std::chrono::steady_clock::time_point publishedAt_;
    std::vector<std::pair<std::chrono::steady_clock::time_point, std::function<void()>>> due_;
    std::mt19937 rng_;
};

} // namespace vmd::sim
