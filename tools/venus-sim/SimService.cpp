#include "SimService.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <map>

namespace vmd::sim {
namespace {

using ItemDict = std::map<std::string, sdbus::Variant>; // {"Value": v, "Text": s}
using ItemsDict = std::map<std::string, ItemDict>;

sdbus::Variant toVariant(char type, const Value& value) {
    if (!value) return sdbus::Variant(std::vector<std::int32_t>{});
    const Scalar& v = *value;
    switch (type) {
    case 'y':
        return sdbus::Variant(static_cast<std::uint8_t>(std::get<std::uint64_t>(v)));
    case 'b':
        return sdbus::Variant(std::get<bool>(v));
    case 'n':
        return sdbus::Variant(static_cast<std::int16_t>(std::get<std::int64_t>(v)));
    case 'q':
        return sdbus::Variant(static_cast<std::uint16_t>(std::get<std::uint64_t>(v)));
    case 'i':
        return sdbus::Variant(static_cast<std::int32_t>(std::get<std::int64_t>(v)));
    case 'u':
        return sdbus::Variant(static_cast<std::uint32_t>(std::get<std::uint64_t>(v)));
    case 'x':
        return sdbus::Variant(std::get<std::int64_t>(v));
    case 't':
        return sdbus::Variant(std::get<std::uint64_t>(v));
    case 'd':
        return sdbus::Variant(std::get<double>(v));
    default:
        return sdbus::Variant(std::get<std::string>(v));
    }
}

// A value received by SetValue: a scalar, an empty array (invalid), or something unusable.
struct Received {
    bool usable = false;
    Value value;
};

Received fromVariant(const sdbus::Variant& v) {
    const std::string sig = v.peekValueType();
    if (sig == "y") return {true, Scalar{std::uint64_t{v.get<std::uint8_t>()}}};
    if (sig == "b") return {true, Scalar{v.get<bool>()}};
    if (sig == "n") return {true, Scalar{std::int64_t{v.get<std::int16_t>()}}};
    if (sig == "q") return {true, Scalar{std::uint64_t{v.get<std::uint16_t>()}}};
    if (sig == "i") return {true, Scalar{std::int64_t{v.get<std::int32_t>()}}};
    if (sig == "u") return {true, Scalar{std::uint64_t{v.get<std::uint32_t>()}}};
    if (sig == "x") return {true, Scalar{v.get<std::int64_t>()}};
    if (sig == "t") return {true, Scalar{v.get<std::uint64_t>()}};
    if (sig == "d") return {true, Scalar{v.get<double>()}};
    if (sig == "s") return {true, Scalar{v.get<std::string>()}};
    if (sig == "ai") return {v.get<std::vector<std::int32_t>>().empty(), std::nullopt};
    if (sig == "av") return {v.get<std::vector<sdbus::Variant>>().empty(), std::nullopt};
    return {};
}

ItemDict itemDict(char type, const Value& value) {
    return {{"Value", toVariant(type, value)}, {"Text", sdbus::Variant(toText(value))}};
}

std::uint32_t seedFor(const std::string& name) {
    std::uint32_t h = 2166136261u; // FNV-1a: a fixed, per-service seed
    for (char c : name)
        h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return h;
}

} // namespace

SimService::SimService(ServiceSpec spec, std::unique_ptr<sdbus::IConnection> connection)
    : connection_(std::move(connection)), spec_(std::move(spec)), rng_(seedFor(spec_.name)) {
    items_.reserve(spec_.paths.size()); // never grows later: the objects keep references
    for (const auto& p : spec_.paths)
        items_.push_back(Item{p, p.value, nullptr});
}

void SimService::publish() {
    for (auto& item : items_)
        registerItem(item);
    registerRoot();
    publishedAt_ = std::chrono::steady_clock::now();
    if (spec_.queue) { // RequestName without DO_NOT_QUEUE: the bus daemon queues us behind the owner
        auto bus = sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        std::uint32_t reply = 0;
        bus->callMethod("RequestName")
            .onInterface("org.freedesktop.DBus")
            .withArguments(spec_.name, std::uint32_t{0})
            .storeResultsTo(reply);
        spdlog::info("{}: {}", spec_.name, reply == 1 ? "owner" : "queued for the name");
    } else {
        connection_->requestName(spec_.name);
    }
    if (spec_.releaseAfterMs >= 0)
        later(std::chrono::milliseconds(spec_.releaseAfterMs), [this] {
            connection_->releaseName(spec_.name);
            const std::string line = "RELEASED " + spec_.name + "\n";
            std::fputs(line.c_str(), stdout);
            std::fflush(stdout);
        });
    spdlog::info("{}: published {} paths", spec_.name, items_.size());
}

void SimService::later(std::chrono::milliseconds delay, std::function<void()> action) {
    due_.emplace_back(std::chrono::steady_clock::now() + delay, std::move(action));
}

void SimService::runDue(std::chrono::steady_clock::time_point now) {
    // Actions may add more: take the due ones out first.
    std::vector<std::function<void()>> ready;
    for (auto it = due_.begin(); it != due_.end();)
        if (it->first <= now) {
            ready.push_back(std::move(it->second));
            it = due_.erase(it);
        } else {
            ++it;
        }
    for (auto& action : ready)
        action();
}

std::optional<std::chrono::steady_clock::time_point> SimService::nextDue() const {
    std::optional<std::chrono::steady_clock::time_point> next;
    for (const auto& [when, action] : due_)
        if (!next || when < *next) next = when;
    return next;
}

template <typename T>
void SimService::answerRead(sdbus::Result<T>&& result, const char* what, std::function<T()> value) {
    const auto now = std::chrono::steady_clock::now();
    if (now < publishedAt_ + std::chrono::milliseconds(spec_.readsFailForMs)) {
        result.returnError(
            sdbus::Error("org.freedesktop.DBus.Error.Failed", "venus-sim: reads fail for now"));
        return;
    }
    if (spec_.readDelayMs <= 0) {
        result.returnResults(value());
        return;
    }
    const std::string line = "READ " + spec_.name + " " + what + " delayed\n";
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
    auto shared = std::make_shared<sdbus::Result<T>>(std::move(result));
    later(std::chrono::milliseconds(spec_.readDelayMs), [this, shared, what, value = std::move(value)] {
        shared->returnResults(value());
        const std::string line = "REPLY " + spec_.name + " " + what + " (delayed)\n";
        std::fputs(line.c_str(), stdout);
        std::fflush(stdout);
    });
}

void SimService::registerItem(Item& item) {
    item.object = sdbus::createObject(*connection_, item.spec.path);
    auto& o = *item.object;
    o.registerMethod("GetValue")
        .onInterface(kBusItemInterface)
        .withOutputParamNames("value")
        .implementedAs([this, &item](sdbus::Result<sdbus::Variant>&& result) {
            if (std::chrono::steady_clock::now() <
                publishedAt_ + std::chrono::milliseconds(item.spec.readFailsForMs)) {
                const std::string line = "READ " + spec_.name + " " + item.spec.path + " failed\n";
                std::fputs(line.c_str(), stdout);
                std::fflush(stdout);
                result.returnError(sdbus::Error("org.freedesktop.DBus.Error.Failed",
                                                "venus-sim: reading " + item.spec.path + " fails for now"));
                return;
            }
            answerRead<sdbus::Variant>(std::move(result), "GetValue",
                                       [&item] { return toVariant(item.spec.type, item.value); });
        });
    o.registerMethod("GetText")
        .onInterface(kBusItemInterface)
        .withOutputParamNames("text")
        .implementedAs([&item] { return toText(item.value); });
    o.registerMethod("SetValue")
        .onInterface(kBusItemInterface)
        .withInputParamNames("value")
        .withOutputParamNames("result")
        .implementedAs([this, &item](sdbus::Result<std::int32_t>&& result, sdbus::Variant in) {
            setValue(item, std::move(result), in);
        });
    o.registerSignal("PropertiesChanged").onInterface(kBusItemInterface).withParameters<ItemDict>("changes");
    o.finishRegistration();
}

void SimService::registerRoot() {
    root_ = sdbus::createObject(*connection_, "/");
    if (spec_.rootGetValue)
        root_->registerMethod("GetValue")
            .onInterface(kBusItemInterface)
            .withOutputParamNames("value")
            .implementedAs([this](sdbus::Result<sdbus::Variant>&& result) {
                answerRead<sdbus::Variant>(std::move(result), "GetValue", [this] {
                    std::map<std::string, sdbus::Variant> all;
                    for (const auto& item : items_)
                        all.emplace(item.spec.path.substr(1), toVariant(item.spec.type, item.value));
                    for (const auto& p : spec_.listedOnly)
                        all.emplace(p.path.substr(1), toVariant(p.type, p.value));
                    return sdbus::Variant(all);
                });
            });
    root_->registerMethod("GetText")
        .onInterface(kBusItemInterface)
        .withOutputParamNames("text")
        .implementedAs([] { return std::string(); });
    if (spec_.getItems) {
        root_->registerMethod("GetItems")
            .onInterface(kBusItemInterface)
            .withOutputParamNames("items")
            .implementedAs([this](sdbus::Result<ItemsDict>&& result) {
                answerRead<ItemsDict>(std::move(result), "GetItems", [this] {
                    ItemsDict all;
                    for (const auto& item : items_)
                        all.emplace(item.spec.path, itemDict(item.spec.type, item.value));
                    for (const auto& p : spec_.listedOnly)
                        all.emplace(p.path, itemDict(p.type, p.value));
                    return all;
                });
            });
        root_->registerSignal("ItemsChanged")
            .onInterface(kBusItemInterface)
            .withParameters<ItemsDict>("changes");
    }
    root_->finishRegistration();
}

namespace {
/// Prints the line the tests read: "SET SERVICE PATH SIGNATURE VALUE -> OUTCOME".
void reportSet(const std::string& service, const std::string& path, const sdbus::Variant& in,
               const std::string& outcome) {
    const Received received = fromVariant(in);
    const std::string shown = !received.usable ? "?" : received.value ? toText(received.value) : "[]";
    const std::string line =
        "SET " + service + " " + path + " " + in.peekValueType() + " " + shown + " -> " + outcome + "\n";
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
    spdlog::debug("{}", line.substr(0, line.size() - 1));
}
} // namespace

void SimService::setValue(Item& item, sdbus::Result<std::int32_t>&& result, const sdbus::Variant& in) {
    if (item.spec.setDelaySeconds > 0) { // handled later, by runDelayedSets
        reportSet(spec_.name, item.spec.path, in, "delayed");
        const auto delay = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(item.spec.setDelaySeconds));
        delayed_.push_back({std::chrono::steady_clock::now() + delay, &item, std::move(result), in});
        return;
    }
    applySet(item, std::move(result), in);
}

std::optional<std::chrono::steady_clock::time_point>
SimService::runDelayedSets(std::chrono::steady_clock::time_point now) {
    std::optional<std::chrono::steady_clock::time_point> next;
    for (std::size_t i = 0; i < delayed_.size();) {
        if (delayed_[i].due <= now) {
            auto set = std::move(delayed_[i]);
            delayed_.erase(delayed_.begin() + static_cast<std::ptrdiff_t>(i));
            applySet(*set.item, std::move(set.result), set.value);
            continue;
        }
        if (!next || delayed_[i].due < *next) next = delayed_[i].due;
        ++i;
    }
    return next;
}

void SimService::applySet(Item& item, sdbus::Result<std::int32_t>&& result, const sdbus::Variant& in) {
    const Received received = fromVariant(in);
    auto report = [&](const std::string& outcome) { reportSet(spec_.name, item.spec.path, in, outcome); };

    std::int32_t rc = 0;
    if (!item.spec.writable)
        rc = 1;
    else if (item.spec.set == SetMode::Refuse)
        rc = 2;
    else if (item.spec.set == SetMode::Hang) {
        report("hang");
        hung_.push_back(std::move(result)); // kept, never answered: the caller times out
        return;
    } else if (!received.usable)
        rc = 1;
    else if (!received.value)
        item.value = std::nullopt;
    else if (auto converted = convertScalar(*received.value, item.spec.type))
        item.value = std::move(converted);
    else
        rc = 1;

    report(std::to_string(rc));
    if (rc == 0) emitChanges({&item}); // like Venus services: the change signals precede the reply
    result.returnResults(rc);
}

void SimService::tick() {
    std::vector<const Item*> changed;
    for (auto& item : items_) {
        if (!item.spec.walk) continue;
        const bool up = (rng_() & 1u) != 0;
        Value next = walkStep(item.value, item.spec.type, *item.spec.walk, up);
        if (next != item.value) {
            item.value = std::move(next);
            changed.push_back(&item);
        }
    }
    if (!changed.empty()) emitChanges(changed);
}

std::optional<double> SimService::number(const std::string& path) const {
    for (const auto& item : items_) {
        if (item.spec.path != path || !item.value) continue;
        auto d = convertScalar(*item.value, 'd');
        if (d) return std::get<double>(*d);
    }
    return std::nullopt;
}

void SimService::setNumbers(const std::vector<std::pair<std::string, double>>& values) {
    std::vector<const Item*> changed;
    for (const auto& [path, number] : values)
        for (auto& item : items_) {
            if (item.spec.path != path) continue;
            auto converted = convertScalar(Scalar{number}, item.spec.type);
            if (!converted) {
                // Out of the type's range (or a rounding of an integer type): keep the old value.
                auto rounded = convertScalar(Scalar{std::round(number)}, item.spec.type);
                if (!rounded) continue;
                converted = rounded;
            }
            if (item.value != converted) {
                item.value = converted;
                changed.push_back(&item);
            }
        }
    if (!changed.empty()) emitChanges(changed);
}

void SimService::drive(const std::string& path) {
    for (auto& item : items_)
        if (item.spec.path == path) item.spec.walk.reset();
}

std::string SimService::type() const {
    auto first = spec_.name.find('.');
    auto second = spec_.name.find('.', first + 1);
    auto third = spec_.name.find('.', second + 1);
    return spec_.name.substr(second + 1, third == std::string::npos ? third : third - second - 1);
}

std::vector<std::size_t> SimService::churnable() const {
    std::vector<std::size_t> result;
    for (std::size_t i = 0; i < items_.size(); ++i)
        if (items_[i].spec.type != 's' && items_[i].spec.path != "/DeviceInstance" && items_[i].spec.value &&
            convertScalar(*items_[i].spec.value, 'd'))
            result.push_back(i);
    return result;
}

std::size_t SimService::churn(const std::vector<std::size_t>& items, Emission emission) {
    ItemsDict all;
    std::size_t signals = 0;
    for (std::size_t index : items) {
        Item& item = items_.at(index);
        const double base = std::get<double>(*convertScalar(*item.spec.value, 'd'));
        item.churned = !item.churned;
        Value next = item.spec.value;
        if (item.churned) { // one step up, or down where the type ends
            auto up = convertScalar(Scalar{base + 1}, item.spec.type);
            next = up ? up : convertScalar(Scalar{base - 1}, item.spec.type);
        }
        item.value = std::move(next);
        ItemDict dict = itemDict(item.spec.type, item.value);
        if (emission == Emission::PropertiesChanged) {
            item.object->emitSignal("PropertiesChanged").onInterface(kBusItemInterface).withArguments(dict);
            ++signals;
        } else {
            all.emplace(item.spec.path, std::move(dict));
        }
    }
    if (emission == Emission::ItemsChanged && !all.empty()) {
        root_->emitSignal("ItemsChanged").onInterface(kBusItemInterface).withArguments(all);
        ++signals;
    }
    return signals;
}

void SimService::emitChanges(const std::vector<const Item*>& changed) {
    ItemsDict all;
    for (const Item* item : changed) {
        ItemDict dict = itemDict(item->spec.type, item->value);
        item->object->emitSignal("PropertiesChanged").onInterface(kBusItemInterface).withArguments(dict);
        all.emplace(item->spec.path, std::move(dict));
    }
    if (spec_.getItems) root_->emitSignal("ItemsChanged").onInterface(kBusItemInterface).withArguments(all);
}

} // namespace vmd::sim
