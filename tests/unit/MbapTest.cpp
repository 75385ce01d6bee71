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

TEST_CASE("a protocol id other than 0 or a length outside 2..260 is malformed, and says which", "[mbap]") {
    Frame frame;
    std::vector<std::uint8_t> protocol{0, 1, 0, 1, 0, 6, 1, 3, 0, 0, 0, 1};
    CHECK(parseFrame(protocol, frame) == FrameStatus::Malformed);
    CHECK(headerProblem(frame) == "protocol id 1 (must be 0)");
    std::vector<std::uint8_t> shortLength{0, 1, 0, 0, 0, 1, 1};
    CHECK(parseFrame(shortLength, frame) == FrameStatus::Malformed);
    CHECK(headerProblem(frame) == "length 1 (must be 2..260)");
    std::vector<std::uint8_t> longLength{0, 1, 0, 0, 0x01, 0x05, 1};
    CHECK(parseFrame(longLength, frame) == FrameStatus::Malformed);
    CHECK(headerProblem(frame) == "length 261 (must be 2..260)");
    std::vector<std::uint8_t> both{0, 1, 0xFF, 0xFF, 0, 0};
    CHECK(parseFrame(both, frame) == FrameStatus::Malformed);
    CHECK(headerProblem(frame) == "protocol id 65535 (must be 0) and length 0 (must be 2..260)");
}

TEST_CASE("a frame longer than the spec allows but up to length 260 is taken whole", "[mbap]") {
    std::vector<std::uint8_t> bytes{0, 1, 0, 0, 0x01, 0x04, 1}; // length 260: a PDU of 259 bytes
    bytes.resize(6 + 260, 0x10);
    Frame frame;
    CHECK(parseFrame({bytes.data(), bytes.size() - 1}, frame) == FrameStatus::Incomplete);
    REQUIRE(parseFrame(bytes, frame) == FrameStatus::Complete);
    CHECK(frame.pdu.size() == 259);
    CHECK(frame.size == 266);
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
