// A short-lived cache of bearer token → Principal, so an authenticated request does not
// re-read its session and memberships on every call. Correctness rules:
// - entries live at most ttl (config auth_cache_ttl_ms, default 2 s; 0 disables the cache);
// - writes that change who may do what (logout, membership, API key, review changes) call
//   invalidate() after their COMMIT, which empties the cache and bumps a generation; a lookup
//   that read the database before the bump is not stored (the generation check), so on this
//   node a revocation takes effect at once, and on other nodes within ttl.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "identity/types.h"

namespace jishi::api {

class AuthCache {
 public:
  AuthCache(std::int64_t ttl_us, std::size_t entries_max);

  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::optional<identity::Principal> get(const std::string& token_hash, std::int64_t now_us);
  // Stores p unless invalidate() ran since `generation` was read (before the database read).
  void put(const std::string& token_hash, const identity::Principal& p, std::int64_t now_us,
           std::uint64_t generation);
  // Forgets everything (an organisation's status changed, an API key was revoked, ...).
  void invalidate();
  // Forgets one person's sessions (their memberships changed, they signed out). Also bumps the
  // generation, so a read racing this commit is not cached for anyone.
  void invalidate_user(UserId user);
  bool enabled() const { return ttl_us_ > 0; }

 private:
  // Drops token_hash from the user's list (mutex_ held).
  void forget_token_of_user(const identity::Principal& p, const std::string& token_hash);

  struct Entry {
    identity::Principal principal;
    std::int64_t expires_us;
  };
  std::int64_t ttl_us_;
  std::size_t entries_max_;
  std::atomic<std::uint64_t> generation_{0};
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::int64_t, std::unordered_set<std::string>> tokens_of_user_;
};

}  // namespace jishi::api
