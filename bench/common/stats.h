// Latency histograms and per-command-type counters for the load generators.
// Handles no untrusted bytes; values are bounded (latencies clamp to the last bucket).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace tern::bench {

// Log-linear histogram of microseconds: exact below 64 us, then 32 sub-buckets per power of two
// (about 3% resolution), up to 2^36 us (19 hours).
class Histogram {
 public:
  static constexpr int kSub = 32;
  static constexpr int kBuckets = 64 + (36 - 6) * kSub;

  void add(uint64_t us) {
    ++buckets_[index(us)];
    ++count_;
    sum_ += us;
    max_ = std::max(max_, us);
  }
  void merge(const Histogram& o) {
    for (int i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
  }
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }
  // The value below which a fraction q of the samples fall (bucket midpoint).
  double quantile(double q) const {
    if (count_ == 0) return 0.0;
    uint64_t rank = static_cast<uint64_t>(q * double(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen >= rank) return std::min(double(max_), midpoint(i));
    }
    return double(max_);
  }

 private:
  static int index(uint64_t v) {
    if (v < 64) return int(v);
    int e = 63 - __builtin_clzll(v);
    if (e >= 36) return kBuckets - 1;
    int sub = int((v >> (e - 5)) & (kSub - 1));
    return 64 + (e - 6) * kSub + sub;
  }
  static double midpoint(int i) {
    if (i < 64) return i;
    int e = (i - 64) / kSub + 6;
    int sub = (i - 64) % kSub;
    double width = double(uint64_t{1} << (e - 5));
    return double(uint64_t{1} << e) + sub * width + width / 2;
  }
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0, sum_ = 0, max_ = 0;
};

struct TypeStats {
  uint64_t ok = 0;
  uint64_t errors = 0;
  Histogram latency;  // of successful and failed completions alike
  void merge(const TypeStats& o) {
    ok += o.ok;
    errors += o.errors;
    latency.merge(o.latency);
  }
};

// One TypeStats per named command type, in first-use order (the report keeps that order).
class StatsTable {
 public:
  TypeStats& operator[](const std::string& name) {
    for (auto& [n, s] : rows_)
      if (n == name) return s;
    rows_.emplace_back(name, TypeStats{});
    return rows_.back().second;
  }
  void merge(const StatsTable& o) {
    for (auto& [n, s] : o.rows_) (*this)[n].merge(s);
  }
  const std::vector<std::pair<std::string, TypeStats>>& rows() const { return rows_; }

 private:
  std::vector<std::pair<std::string, TypeStats>> rows_;
};

// Prints the table and returns the total of IMAP commands (CONNECT excluded) and errors.
inline void printTable(const StatsTable& t, double seconds, uint64_t& commands, uint64_t& errors) {
  commands = 0;
  errors = 0;
  std::printf("  %-12s %10s %10s %8s %10s %10s %10s\n", "type", "count", "per_s", "errors", "p50_ms",
              "p99_ms", "max_ms");
  for (auto& [name, s] : t.rows()) {
    uint64_t n = s.ok + s.errors;
    std::printf("  %-12s %10llu %10.1f %8llu %10.2f %10.2f %10.2f\n", name.c_str(), (unsigned long long)n,
                seconds > 0 ? double(n) / seconds : 0.0, (unsigned long long)s.errors,
                s.latency.quantile(0.50) / 1000.0, s.latency.quantile(0.99) / 1000.0,
                double(s.latency.max()) / 1000.0);
    if (name != "CONNECT") commands += n;
    errors += s.errors;
  }
}

}  // namespace tern::bench
