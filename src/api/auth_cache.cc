#include "api/auth_cache.h"

namespace jishi::api {

AuthCache::AuthCache(std::int64_t ttl_us, std::size_t entries_max)
    : ttl_us_(ttl_us), entries_max_(entries_max) {}

std::optional<identity::Principal> AuthCache::get(const std::string& token_hash,
                                                  std::int64_t now_us) {
  if (ttl_us_ <= 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(token_hash);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires_us <= now_us) {
    forget_token_of_user(it->second.principal, it->first);
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.principal;
}

void AuthCache::put(const std::string& token_hash, const identity::Principal& p,
                    std::int64_t now_us, std::uint64_t generation) {
  if (ttl_us_ <= 0) return;
  std::lock_guard lock(mutex_);
  if (generation != generation_.load(std::memory_order_acquire)) return;
  // Bounded. When full, the expired entries go first: a crowd of one-time visitors (a flash
  // sale's buyers, each with a new session) fills the table with entries no lookup will ever
  // erase, and dropping every entry for them would send the regulars back to the database too.
  // A sweep visits every entry under the mutex, so it must free a good share of the table to
  // be worth it: when less than a quarter of it had expired, it starts over instead (no
  // recency to track; a refill costs one read each). A token already held is replaced.
  if (entries_.size() >= entries_max_ && !entries_.contains(token_hash)) {
    std::erase_if(entries_, [&](const auto& kv) {
      if (kv.second.expires_us > now_us) return false;
      forget_token_of_user(kv.second.principal, kv.first);
      return true;
    });
    if (entries_.size() > entries_max_ - entries_max_ / 4) {
      entries_.clear();
      tokens_of_user_.clear();
    }
  }
  entries_[token_hash] = Entry{p, now_us + ttl_us_};
  if (p.is_user()) tokens_of_user_[p.user.value].insert(token_hash);
}

void AuthCache::forget_token_of_user(const identity::Principal& p, const std::string& token_hash) {
  if (!p.is_user()) return;
  auto it = tokens_of_user_.find(p.user.value);
  if (it == tokens_of_user_.end()) return;
  it->second.erase(token_hash);
  if (it->second.empty()) tokens_of_user_.erase(it);
}

void AuthCache::invalidate_user(UserId user) {
  std::lock_guard lock(mutex_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  auto it = tokens_of_user_.find(user.value);
  if (it == tokens_of_user_.end()) return;
  for (const auto& hash : it->second) entries_.erase(hash);
  tokens_of_user_.erase(it);
}

void AuthCache::invalidate() {
  std::lock_guard lock(mutex_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  entries_.clear();
  tokens_of_user_.clear();
}

}  // namespace jishi::api
