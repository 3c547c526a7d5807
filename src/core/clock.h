// Time source for every module: int64 microseconds since the Unix epoch, UTC. Tests use
// ManualClock to move time (timeouts, expiries) without sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jishi {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now_us() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_us() const override;
  // Shifts this clock (config clock_offset_s: rehearsing a settlement day, tests of daily
  // cut-offs against the real binary). Set before threads start.
  void set_offset_us(std::int64_t offset) { offset_us_ = offset; }

 private:
  std::int64_t offset_us_ = 0;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_us) : now_(start_us) {}
  std::int64_t now_us() const override { return now_.load(); }
  void set_us(std::int64_t t) { now_.store(t); }
  void advance_us(std::int64_t d) { now_.fetch_add(d); }

 private:
  std::atomic<std::int64_t> now_;
};

// RFC 3339 in UTC with microseconds: 2026-11-28T09:17:10.123456Z.
std::string format_rfc3339(std::int64_t unix_us);
// Parses RFC 3339 (Z or +hh:mm offsets, optional fraction); nullopt when malformed.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace jishi
