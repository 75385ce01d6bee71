// libFuzzer target: arbitrary bytes as a Modbus TCP stream -> MBAP framing -> request handling (also
// under the access policies of TLS roles), and as a TLS client certificate's role extension value,
// against the shipped map and a site with a few services. Built with -DVMD_FUZZ=ON (clang).
#include "modbus/Mbap.h"
#include "modbus/RequestHandler.h"
#include "modbus/Tls.h"
#include "regmap/MapLoader.h"

#include <algorithm>
#include <cstdlib>

using namespace vmd;

namespace {

struct Site {
    regmap::RegisterMap map = regmap::loadMapFile(VMD_SOURCE_DIR "/register-maps/victron.yaml");
    core::ServiceIndex index{map};
    modbus::RequestHandler handler{index, {}};

    Site() {
        add("com.victronenergy.system", 0, true);
        add("com.victronenergy.settings", 0, false);
        add("com.victronenergy.vebus.ttyO1", 257, true);
        add("com.victronenergy.battery.ttyO2", 258, true);
        index.reindex();
    }
    void add(const std::string& name, regmap::DeviceInstance instance, bool hasInstance) {
        auto& s = index.add(name);
        s.instance = instance;
        s.hasInstance = hasInstance;
        // Every path gets a value; the kinds rotate so that every codec branch is reached.
        for (std::size_t i = 0; i < s.values.size(); ++i) {
            switch (i % 6) {
            case 0:
                s.values[i] = 1234.5678 * static_cast<double>(i);
                break;
            case 1:
                s.values[i] = -static_cast<std::int64_t>(i) * 1000;
                break;
            case 2:
                s.values[i] = std::uint64_t{i} << 40;
                break;
            case 3:
                s.values[i] = std::string("text \xC3\xA4 ") + std::to_string(i);
                break;
            case 4:
                s.values[i] = (i & 8) != 0;
                break;
            default:
                break; // invalid
            }
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Site site;
    // The TLS path's own parsing: the client certificate's role extension value (DER). TLS records
    // are OpenSSL's; what they carry is the same MBAP stream as below.
    if (auto role = modbus::decodeRole(data, static_cast<long>(size)); role && role->empty()) std::abort();
    static const modbus::AccessPolicy viewer = modbus::AccessPolicy::readOnly();
    static const modbus::AccessPolicy ess = modbus::AccessPolicy::writeRanges({{2700, 2722}, {37, 41}});
    std::span<const std::uint8_t> stream(data, size);
    while (!stream.empty()) {
        modbus::Frame frame;
        if (modbus::parseFrame(stream, frame) != modbus::FrameStatus::Complete) break;
        // Every request also under the access policies of a read role and a write-ranges role:
        // neither may ever produce a write outside what it allows.
        if (!site.handler.handle(frame.unit, frame.pdu, 0, viewer).writes.empty()) std::abort();
        for (const auto& op : site.handler.handle(frame.unit, frame.pdu, 0, ess).writes)
            if (!op.reg || std::none_of(ess.ranges.begin(), ess.ranges.end(), [&](const auto& range) {
                    return op.reg->address <= range.last && op.reg->end() > range.first; // overlaps
                }))
                std::abort();
        auto outcome = site.handler.handle(frame.unit, frame.pdu, 1764201600);
        if (outcome.readAfterWrite) // function 23: the read part, as the server does after the writes
            site.handler.read(frame.unit, frame.pdu[0], outcome.readAddress, outcome.readQuantity, 0,
                              outcome.reply);
        if (outcome.reply.size < 2 || outcome.reply.size > modbus::kMaxPduSize) std::abort();
        std::uint8_t adu[modbus::kMaxAduSize];
        if (modbus::buildAdu(frame, outcome.reply.pdu(), adu) > modbus::kMaxAduSize) std::abort();
        stream = stream.subspan(frame.size);
    }
    return 0;
}
