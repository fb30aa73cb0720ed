// Histogram: a log-linear latency histogram for the load generator
// (bench/loadgen). Values are nanoseconds; every power of two is split into
// 64 sub-buckets, so a reported percentile is within ~1.6% of the true
// value from 1 ns to centuries, in a fixed 30 KiB array with O(1) record.
// Single-threaded, like the load generator's event loop.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace bench {

class Histogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr std::uint64_t kSub = std::uint64_t{1} << kSubBits;  // 64
  static constexpr int kBuckets = 2 * kSub + (63 - kSubBits) * kSub;

  void record(std::int64_t ns) {
    const std::uint64_t v = ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
    ++counts_[static_cast<std::size_t>(index(v))];
    ++total_;
    if (v > max_) max_ = v;
  }
  void clear() {
    counts_.fill(0);
    total_ = 0;
    max_ = 0;
  }
  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }

  // The value at quantile q (0..1), in nanoseconds; -1e6 (printed as -1 ms)
  // when empty, so that "nothing arrived" never reads as "0 ms".
  double quantile(double q) const {
    if (total_ == 0) return -1e6;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[static_cast<std::size_t>(i)];
      if (seen >= rank) return midpoint(i);
    }
    return static_cast<double>(max_);
  }

 private:
  // Values below 2*kSub map one to one; above, the top kSubBits+1 bits.
  static int index(std::uint64_t v) {
    if (v < 2 * kSub) return static_cast<int>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - kSubBits;
    return static_cast<int>(2 * kSub + static_cast<std::uint64_t>(shift - 1) * kSub + ((v >> shift) - kSub));
  }
  static double midpoint(int i) {
    if (i < static_cast<int>(2 * kSub)) return i;
    const int rel = i - static_cast<int>(2 * kSub);
    const int shift = rel / static_cast<int>(kSub) + 1;
    const std::uint64_t sub = static_cast<std::uint64_t>(rel % static_cast<int>(kSub)) + kSub;
    const double lo = static_cast<double>(sub << shift);
    return lo + static_cast<double>(std::uint64_t{1} << shift) / 2;
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace bench
