#include "http/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace jishi::http {

RateLimiter::RateLimiter(double rate_per_s, double burst, std::size_t clients_max)
    : rate_(rate_per_s),
      burst_(burst),
      per_shard_max_(std::max<std::size_t>(1, clients_max / kShards)) {}

void RateLimiter::evict(Shard& shard, std::int64_t now_us) {
  // Drop buckets that have refilled completely: forgetting them changes nothing.
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    double refill = static_cast<double>(now_us - it->second.updated_us) / 1e6 * rate_;
    if (it->second.tokens + refill >= burst_)
      it = shard.buckets.erase(it);
    else
      ++it;
  }
  // Still full (a flood of distinct clients): drop arbitrary ones; they restart with a full
  // bucket, which errs towards serving rather than refusing.
  while (shard.buckets.size() >= per_shard_max_) shard.buckets.erase(shard.buckets.begin());
}

bool RateLimiter::allow(std::string_view key, std::int64_t now_us, std::uint32_t& retry_after_s) {
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= per_shard_max_) evict(shard, now_us);
    it = shard.buckets.emplace(std::string(key), Bucket{burst_, now_us}).first;
  }
  Bucket& b = it->second;
  double elapsed = static_cast<double>(std::max<std::int64_t>(0, now_us - b.updated_us)) / 1e6;
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.updated_us = now_us;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  retry_after_s = static_cast<std::uint32_t>(std::ceil((1.0 - b.tokens) / rate_));
  if (retry_after_s == 0) retry_after_s = 1;
  return false;
}

}  // namespace jishi::http
