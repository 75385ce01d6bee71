#pragma once

#include "codec/Value.h"

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace vmd::dbus {

/// Publishes values on the bus the way Venus services do (the BusItem interface): one object per
/// path with GetValue/GetText/SetValue (read-only: SetValue answers 1, but see clearable()), and "/"
/// with GetItems, a dict GetValue and ItemsChanged. Changes are batched: flush() sends one ItemsChanged.
class ItemExporter {
  public:
    explicit ItemExporter(sdbus::IConnection& connection);
    ~ItemExporter();
    ItemExporter(const ItemExporter&) = delete;
    ItemExporter& operator=(const ItemExporter&) = delete;

    void set(const std::string& path, codec::Value value);
    /// Sends ItemsChanged (from "/") and PropertiesChanged (per path) for what changed since the last flush.
    void flush();
    [[nodiscard]] const codec::Value* get(const std::string& path) const;
    /// Lets a SetValue of an invalid value (an empty array, as the GX GUI's "Clear error" button
    /// sends) on `path` run `onClear` and answer 0; any other SetValue there still answers 1. The
    /// path is published (invalid) if it was not yet.
    void clearable(const std::string& path, std::function<void()> onClear);

  private:
    struct Item {
        codec::Value value;
        std::unique_ptr<sdbus::IObject> object;
        std::function<void()> onClear;
    };
    void registerItem(const std::string& path, Item& item);

    sdbus::IConnection& connection_;
    std::unique_ptr<sdbus::IObject> root_;
    std::map<std::string, Item> items_;
    std::set<std::string> changed_;
};

/// The variant a Venus service sends for a value: its own type, or an empty array when invalid.
[[nodiscard]] sdbus::Variant publishedVariant(const codec::Value& value);

} // namespace vmd::dbus
