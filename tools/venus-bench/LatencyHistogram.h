#pragma once

// A fixed-size log-linear histogram of latencies in nanoseconds: exact below 1,024 ns, then 512
// buckets per power of two (0.2 % resolution) up to about 18 minutes. Constant memory, so a run
// of any length records every request.

#include <array>
#include <cstdint>

namespace vmd::bench {

class LatencyHistogram {
  public:
    void record(std::uint64_t nanoseconds);
    void merge(const LatencyHistogram& other);

    [[nodiscard]] std::uint64_t count() const { return count_; }
    [[nodiscard]] std::uint64_t maxNs() const { return max_; }
    [[nodiscard]] double meanNs() const;
    /// The latency below which `fraction` (0..1) of the samples lie, in nanoseconds; 0 when empty.
    [[nodiscard]] std::uint64_t quantileNs(double fraction) const;

  private:
    static constexpr unsigned kSubBits = 9;                        // 512 buckets per power of two
    static constexpr std::uint64_t kLinear = 1u << (kSubBits + 1); // exact below 1,024 ns
    static constexpr unsigned kMaxShift = 31;                      // 1023 << 31 ns ~ 36 min
    static constexpr std::size_t kBuckets = kLinear + kMaxShift * (1u << kSubBits);

    static std::size_t bucketOf(std::uint64_t ns);
    static std::uint64_t valueOf(std::size_t bucket);

    std::array<std::uint64_t, kBuckets> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
    long double sum_ = 0;
};

} // namespace vmd::bench
