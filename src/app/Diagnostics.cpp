#include "app/Diagnostics.h"

#include <algorithm>

namespace vmd::app {

Diagnostics::Diagnostics(dbus::ItemExporter& exporter, const regmap::RegisterMap& map)
    : exporter_(exporter), map_(&map) {
    exporter_.clearable("/LastError/Message", [this] { clearLastError(); });
    exporter_.clearable("/LastError/Timestamp", [this] { clearLastError(); });
}

void Diagnostics::clearLastError() {
    exporter_.set("/LastError/Message", codec::Value{});
    exporter_.set("/LastError/Timestamp", codec::Value{});
    exporter_.flush();
}

void Diagnostics::update(const core::ServiceIndex& index, const modbus::Server& server) {
    for (auto& e : entries_)
        e.active = false;
    for (const auto& s : index.services()) {
        if (!core::ServiceIndex::identified(*s)) continue;
        auto it =
            std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == s->name; });
        if (it == entries_.end()) // a replacement (same type and instance) takes over an inactive entry
            it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
                return !e.active && e.type == s->type && e.instance == s->instance &&
                       std::none_of(index.services().begin(), index.services().end(),
                                    [&](const auto& other) { return other->name == e.name; });
            });
        if (it == entries_.end()) it = entries_.insert(entries_.end(), Entry{});
        it->name = s->name;
        it->type = s->type;
        it->instance = s->instance;
        it->active = true;
        it->slots = index.slotSummary(*s);
    }
    exporter_.set("/Services/Count", static_cast<std::int64_t>(entries_.size()));
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        auto& e = entries_[i];
        auto unit = map_->unitForInstance(e.instance);
        bool reachable = unit || e.instance <= 255;
        if (reachable && e.active) { // shadowed by another service of its type and instance?
            auto typeId = map_->serviceTypeId(e.type);
            auto chosen = typeId ? index.resolve(*typeId, static_cast<regmap::UnitId>(unit.value_or(
                                                              static_cast<regmap::UnitId>(e.instance))))
                                 : nullptr;
            reachable = !typeId || (chosen && chosen->name == e.name);
        }
        Entry::Published now{e.name,     e.slots,  unit ? std::int64_t{*unit} : std::int64_t{e.instance},
                             e.instance, e.active, reachable};
        if (e.published == now) continue;
        e.published = now;
        const std::string base = "/Services/" + std::to_string(i) + "/";
        exporter_.set(base + "ServiceName", e.name);
        exporter_.set(base + "UnitId", static_cast<std::int64_t>(unit ? *unit : e.instance));
        exporter_.set(base + "IsActive", static_cast<std::int64_t>(e.active));
        exporter_.set(base + "VrmInstanceId", static_cast<std::int64_t>(e.instance));
        exporter_.set(base + "Reachable", static_cast<std::int64_t>(reachable));
        exporter_.set(base + "Slots", e.slots.empty() ? codec::Value{} : codec::Value{e.slots});
    }

    const auto& stats = server.stats();
    exporter_.set("/Clients/Count", static_cast<std::int64_t>(server.clientCount()));
    exporter_.set("/Requests/Count", static_cast<std::int64_t>(stats.requests));
    for (int code : {1, 2, 3, 4, 10, 11})
        exporter_.set("/Exceptions/" + std::to_string(code),
                      static_cast<std::int64_t>(stats.exceptions[static_cast<std::size_t>(code)]));
    exporter_.set("/Writes/Count", static_cast<std::int64_t>(stats.writes));
    exporter_.set("/Writes/Failed", static_cast<std::int64_t>(stats.failedWrites));
    exporter_.set("/Failsafe/Activations", static_cast<std::int64_t>(stats.failsafeActivations));
    exporter_.set("/Failsafe/Retrying", static_cast<std::int64_t>(server.failsafeRetrying()));
    exporter_.set("/Connections/Refused", static_cast<std::int64_t>(stats.connectionsRefused));
    exporter_.set("/Tls/Connections", static_cast<std::int64_t>(stats.tlsConnections));
    exporter_.set("/Tls/HandshakeFailures", static_cast<std::int64_t>(stats.tlsHandshakeFailures));
    exporter_.set("/Tls/RoleRefusals", static_cast<std::int64_t>(stats.tlsRoleRefusals));
    exporter_.set("/Writes/RefusedByRole", static_cast<std::int64_t>(stats.writesRefusedByRole));
    if (server.lastErrorSequence() != lastErrorSequence_) {
        lastErrorSequence_ = server.lastErrorSequence();
        exporter_.set("/LastError/Message", server.lastError().describe());
        exporter_.set("/LastError/Timestamp", server.lastError().time);
    } else if (!exporter_.get("/LastError/Message")) {
        exporter_.set("/LastError/Message", codec::Value{}); // invalid until the first error
        exporter_.set("/LastError/Timestamp", codec::Value{});
    }
    exporter_.flush();
}

} // namespace vmd::app
