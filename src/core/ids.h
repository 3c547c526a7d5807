// Typed 64-bit ids and their Snowflake generator. Ids are time-ordered and unique across
// nodes: 41 bits of milliseconds since 2024-01-01, 10 bits of node, 12 bits of sequence.
// The API shows them as decimal strings (JSON numbers lose precision above 2^53).
#pragma once

#include <compare>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace jishi {

class Clock;

// A distinct id type per entity, so an OrgId cannot be passed where a UserId is expected.
template <class Tag>
struct Id {
  std::int64_t value = 0;
  constexpr auto operator<=>(const Id&) const = default;
  explicit constexpr operator bool() const { return value != 0; }
  std::string str() const { return std::to_string(value); }
};

using UserId = Id<struct UserTag>;
using OrgId = Id<struct OrgTag>;
using SessionId = Id<struct SessionTag>;
using ApiKeyId = Id<struct ApiKeyTag>;

// Parses a decimal id string; nullopt for anything but 1..19 digits of a positive int64.
std::optional<std::int64_t> parse_id(std::string_view text);

template <class IdT>
std::optional<IdT> parse_typed_id(std::string_view text) {
  auto v = parse_id(text);
  if (!v) return std::nullopt;
  return IdT{*v};
}

class IdGenerator {
 public:
  static constexpr int kNodeBits = 10;
  static constexpr int kSequenceBits = 12;
  static constexpr std::int64_t kNodeMax = (1 << kNodeBits) - 1;
  // 2024-01-01T00:00:00Z in Unix milliseconds.
  static constexpr std::int64_t kEpochMs = 1'704'067'200'000;

  IdGenerator(const Clock& clock, int node);
  // Never returns the same value twice in this process; waits (spins) if 4096 ids were
  // issued in one millisecond, and stays monotonic if the wall clock steps back.
  std::int64_t next();
  // Ids from now on are above `id`: at start, with the largest id already stored, so that a
  // wall clock set back across a restart cannot issue ids below stored ones (the events feed's
  // cursor and order.created's cutover rely on ids growing with time).
  void issue_after(std::int64_t id);
  int node() const { return node_; }

  // The millisecond timestamp an id was minted at.
  static std::int64_t unix_ms_of(std::int64_t id) { return (id >> 22) + kEpochMs; }

 private:
  const Clock& clock_;
  int node_;
  std::mutex mutex_;
  std::int64_t last_ms_ = 0;
  std::int64_t sequence_ = 0;
};

}  // namespace jishi
