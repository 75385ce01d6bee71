#include "modbus/Mbap.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace vmd::modbus;

TEST_CASE("a frame is recognised once all its bytes arrived", "[mbap]") {
    std::vector<std::uint8_t> bytes{0x12, 0x34, 0, 0, 0, 6, 100, 3, 0, 3, 0, 1};
    Frame frame;
    for (std::size_t n = 0; n < bytes.size(); ++n)
        CHECK(parseFrame({bytes.data(), n}, frame) == FrameStatus::Incomplete);
    REQUIRE(parseFrame(bytes, frame) == FrameStatus::Complete);
    CHECK(frame.transactionId == 0x1234);
    CHECK(frame.unit == 100);
    CHECK(frame.pdu.size() == 5);
    CHECK(frame.size == 12);
}

TEST_CASE("two frames in one segment are taken one after the other", "[mbap]") {
    std::vector<std::uint8_t> bytes{0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1, 0, 2, 0, 0, 0, 6, 1, 4, 0, 0, 0, 1};
    Frame frame;
    REQUIRE(parseFrame(bytes, frame) == FrameStatus::Complete);
    std::span<const std::uint8_t> rest(bytes.data() + frame.size, bytes.size() - frame.size);
    REQUIRE(parseFrame(rest, frame) == FrameStatus::Complete);
    CHECK(frame.transactionId == 2);
    CHECK(frame.pdu[0] == 4);
}

TEST_CASE("a protocol id other than 0 or a length outside 2..254 is malformed", "[mbap]") {
    Frame frame;
    std::vector<std::uint8_t> protocol{0, 1, 0, 1, 0, 6, 1, 3, 0, 0, 0, 1};
    CHECK(parseFrame(protocol, frame) == FrameStatus::Malformed);
    std::vector<std::uint8_t> shortLength{0, 1, 0, 0, 0, 1, 1};
    CHECK(parseFrame(shortLength, frame) == FrameStatus::Malformed);
    std::vector<std::uint8_t> longLength{0, 1, 0, 0, 0x01, 0x00, 1};
    CHECK(parseFrame(longLength, frame) == FrameStatus::Malformed);
}

TEST_CASE("a reply echoes transaction, protocol and unit and counts its length", "[mbap]") {
    std::vector<std::uint8_t> request{0xAB, 0xCD, 0, 0, 0, 6, 246, 3, 0, 3, 0, 1};
    Frame frame;
    REQUIRE(parseFrame(request, frame) == FrameStatus::Complete);
    std::uint8_t pdu[] = {0x83, 0x02};
    std::uint8_t out[kMaxAduSize];
    auto size = buildAdu(frame, pdu, out);
    CHECK(std::vector<std::uint8_t>(out, out + size) ==
          std::vector<std::uint8_t>{0xAB, 0xCD, 0, 0, 0, 3, 246, 0x83, 2});
}
