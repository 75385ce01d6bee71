#include "LatencyHistogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace vmd::bench {

std::size_t LatencyHistogram::bucketOf(std::uint64_t ns) {
    if (ns < kLinear) return static_cast<std::size_t>(ns);
    const auto msb = static_cast<unsigned>(std::bit_width(ns) - 1); // >= kSubBits + 1
    auto shift = msb - kSubBits;
    if (shift > kMaxShift) return kBuckets - 1;
    const auto top = static_cast<std::size_t>(ns >> shift); // in [512, 1023]
    return static_cast<std::size_t>(kLinear) + (shift - 1) * (std::size_t{1} << kSubBits) +
           (top - (std::size_t{1} << kSubBits));
}

std::uint64_t LatencyHistogram::valueOf(std::size_t bucket) {
    if (bucket < kLinear) return bucket;
    const std::size_t k = bucket - static_cast<std::size_t>(kLinear);
    const auto shift = static_cast<unsigned>(k >> kSubBits) + 1;
    const std::uint64_t top = (k & ((std::size_t{1} << kSubBits) - 1)) + (std::uint64_t{1} << kSubBits);
    // The middle of the bucket.
    return (top << shift) + (std::uint64_t{1} << (shift - 1));
}

void LatencyHistogram::record(std::uint64_t nanoseconds) {
    ++buckets_[bucketOf(nanoseconds)];
    ++count_;
    max_ = std::max(max_, nanoseconds);
    sum_ += static_cast<long double>(nanoseconds);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i)
        buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
}

double LatencyHistogram::meanNs() const {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t LatencyHistogram::quantileNs(double fraction) const {
    if (count_ == 0) return 0;
    const double clamped = std::clamp(fraction, 0.0, 1.0);
    // The rank of the sample, 1-based: the smallest value with at least this many samples at or below.
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(clamped * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += buckets_[i];
        if (seen >= rank) return std::min(valueOf(i), max_);
    }
    return max_;
}

} // namespace vmd::bench
