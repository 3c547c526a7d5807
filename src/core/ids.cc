#include "core/ids.h"

#include <cassert>
#include <charconv>
#include <stdexcept>

#include "core/clock.h"

namespace jishi {

std::optional<std::int64_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

IdGenerator::IdGenerator(const Clock& clock, int node) : clock_(clock), node_(node) {
  if (node < 0 || node > kNodeMax) throw std::invalid_argument("node id must be 0..1023");
}

void IdGenerator::issue_after(std::int64_t id) {
  std::lock_guard lock(mutex_);
  std::int64_t ms = id >> (kNodeBits + kSequenceBits);
  if (ms < last_ms_) return;
  // The sequence at its end: the next id moves on to the following millisecond (or the clock's).
  last_ms_ = ms;
  sequence_ = (1 << kSequenceBits) - 1;
}

std::int64_t IdGenerator::next() {
  std::lock_guard lock(mutex_);
  std::int64_t ms = clock_.now_us() / 1000 - kEpochMs;
  if (ms < last_ms_) ms = last_ms_;  // wall clock stepped back: keep issuing from last_ms_
  if (ms == last_ms_) {
    if (++sequence_ > (1 << kSequenceBits) - 1) {
      // Sequence exhausted for this millisecond: borrow the next one. Ids stay unique and
      // ordered; they run at most briefly ahead of the clock under extreme load.
      ++last_ms_;
      sequence_ = 0;
    }
  } else {
    last_ms_ = ms;
    sequence_ = 0;
  }
  std::int64_t id = (last_ms_ << (kNodeBits + kSequenceBits)) |
                    (static_cast<std::int64_t>(node_) << kSequenceBits) | sequence_;
  assert(id > 0);
  return id;
}

}  // namespace jishi
