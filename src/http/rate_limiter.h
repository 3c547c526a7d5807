// Per-client token buckets: `rate` tokens per second up to `burst`. Sharded by key hash so
// I/O threads rarely contend; the number of tracked clients is bounded.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace jishi::http {

class RateLimiter {
 public:
  RateLimiter(double rate_per_s, double burst, std::size_t clients_max);
  // Takes one token for key at now_us. When none is left returns false and sets
  // retry_after_s to the whole seconds until one is.
  bool allow(std::string_view key, std::int64_t now_us, std::uint32_t& retry_after_s);

 private:
  struct Bucket {
    double tokens;
    std::int64_t updated_us;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr std::size_t kShards = 16;
  void evict(Shard& shard, std::int64_t now_us);

  double rate_;
  double burst_;
  std::size_t per_shard_max_;
  std::array<Shard, kShards> shards_;
};

}  // namespace jishi::http
