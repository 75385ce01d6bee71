#include "dbus/ItemExporter.h"

#include "dbus/BusItem.h"

namespace vmd::dbus {

namespace {
using Properties = std::map<std::string, sdbus::Variant>;

Properties properties(const codec::Value& value) {
    return {{"Value", publishedVariant(value)}, {"Text", sdbus::Variant(codec::toText(value))}};
}
} // namespace

sdbus::Variant publishedVariant(const codec::Value& value) {
    struct Visitor {
        sdbus::Variant operator()(std::monostate) const {
            return sdbus::Variant(std::vector<std::int32_t>{});
        }
        sdbus::Variant operator()(std::int64_t v) const {
            return v >= INT32_MIN && v <= INT32_MAX ? sdbus::Variant(static_cast<std::int32_t>(v))
                                                    : sdbus::Variant(v);
        }
        sdbus::Variant operator()(std::uint64_t v) const {
            return v <= UINT32_MAX ? sdbus::Variant(static_cast<std::uint32_t>(v)) : sdbus::Variant(v);
        }
        sdbus::Variant operator()(double v) const { return sdbus::Variant(v); }
        sdbus::Variant operator()(bool v) const { return sdbus::Variant(static_cast<std::int32_t>(v)); }
        sdbus::Variant operator()(const std::string& v) const { return sdbus::Variant(v); }
    };
    return std::visit(Visitor{}, value);
}

ItemExporter::ItemExporter(sdbus::IConnection& connection) : connection_(connection) {
    root_ = sdbus::createObject(connection_, "/");
    root_->registerMethod("GetItems").onInterface(kBusItemInterface).implementedAs([this] {
        std::map<std::string, Properties> all;
        for (const auto& [path, item] : items_)
            all.emplace(path, properties(item.value));
        return all;
    });
    root_->registerMethod("GetValue").onInterface(kBusItemInterface).implementedAs([this] {
        std::map<std::string, sdbus::Variant> all;
        for (const auto& [path, item] : items_)
            all.emplace(path.substr(1), publishedVariant(item.value));
        return sdbus::Variant(all);
    });
    root_->registerMethod("GetText").onInterface(kBusItemInterface).implementedAs([] {
        return std::string();
    });
    root_->registerSignal("ItemsChanged")
        .onInterface(kBusItemInterface)
        .withParameters<std::map<std::string, Properties>>();
    root_->finishRegistration();
}

ItemExporter::~ItemExporter() = default;

void ItemExporter::registerItem(const std::string& path, Item& item) {
    item.object = sdbus::createObject(connection_, path);
    auto* value = &item.value; // map nodes are stable
    item.object->registerMethod("GetValue").onInterface(kBusItemInterface).implementedAs([value] {
        return publishedVariant(*value);
    });
    item.object->registerMethod("GetText").onInterface(kBusItemInterface).implementedAs([value] {
        return codec::toText(*value);
    });
    auto* onClear = &item.onClear;
    item.object->registerMethod("SetValue").onInterface(kBusItemInterface).implementedAs(
        [onClear](const sdbus::Variant& v) {
            // Diagnostics are read-only, but a clearable path takes an invalid value (clearable()).
            if (!*onClear || !std::holds_alternative<std::monostate>(fromVariant(v))) return std::int32_t{1};
            auto clear = *onClear; // the handler may publish, and so touch this item
            clear();
            return std::int32_t{0};
        });
    item.object->registerSignal("PropertiesChanged")
        .onInterface(kBusItemInterface)
        .withParameters<Properties>();
    item.object->finishRegistration();
}

void ItemExporter::clearable(const std::string& path, std::function<void()> onClear) {
    auto [it, inserted] = items_.try_emplace(path);
    if (inserted) {
        registerItem(path, it->second);
        changed_.insert(path);
    }
    it->second.onClear = std::move(onClear);
}

void ItemExporter::set(const std::string& path, codec::Value value) {
    auto [it, inserted] = items_.try_emplace(path);
    if (inserted)
        registerItem(path, it->second);
    else if (it->second.value == value)
        return;
    it->second.value = std::move(value);
    changed_.insert(path);
}

const codec::Value* ItemExporter::get(const std::string& path) const {
    auto it = items_.find(path);
    return it == items_.end() ? nullptr : &it->second.value;
}

void ItemExporter::flush() {
    if (changed_.empty()) return;
    std::map<std::string, Properties> batch;
    for (const auto& path : changed_) {
        auto& item = items_.at(path);
        auto props = properties(item.value);
        item.object->emitSignal("PropertiesChanged").onInterface(kBusItemInterface).withArguments(props);
        batch.emplace(path, std::move(props));
    }
    root_->emitSignal("ItemsChanged").onInterface(kBusItemInterface).withArguments(batch);
    changed_.clear();
}

} // namespace vmd::dbus
