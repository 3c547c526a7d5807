// JSON at the edge: parsing with the limits from limits.h, and a field reader that turns a
// request object into typed values with precise errors (field = JSON pointer).
#pragma once

#include <boost/json/fwd.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi {

// Parses a request body: valid UTF-8 JSON, depth <= json_depth_max, every string <=
// json_string_bytes_max, every array/object <= json_container_items_max.
Result<boost::json::value> parse_json(std::string_view text);

std::string json_to_string(const boost::json::value& v);

// Reads fields of one JSON object. The first error sticks; later reads return defaults.
// finish() also rejects fields the handler did not read (typos should not pass silently).
class FieldReader {
 public:
  explicit FieldReader(const boost::json::value& v, std::string pointer_prefix = "");

  // Trimmed string with 1..max_bytes bytes (required) or absent. Trim::no keeps the value as
  // sent (passwords: spaces are part of them).
  enum class Trim { yes, no };
  std::string string(std::string_view key, std::size_t max_bytes, Trim trim = Trim::yes);
  std::optional<std::string> optional_string(std::string_view key, std::size_t max_bytes,
                                             Trim trim = Trim::yes);
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t min,
                                               std::int64_t max);
  std::optional<bool> optional_bool(std::string_view key);
  // Raw access for nested values (money, arrays); marks the key as read.
  const boost::json::value* value(std::string_view key, bool required);

  void set_error(Error e);
  bool ok() const { return !error_; }
  Status finish();

 private:
  const boost::json::value* find(std::string_view key, bool required);
  std::string pointer(std::string_view key) const;
  // Which members were read, by position in the object: finish() names the first one not read.
  void mark_seen(std::size_t i);
  bool was_seen(std::size_t i) const;

  const boost::json::object* object_ = nullptr;
  std::string prefix_;
  std::uint64_t seen_ = 0;                      // objects of up to 64 members
  std::unique_ptr<std::uint64_t[]> seen_more_;  // larger ones (json_container_items_max)
  std::optional<Error> error_;
};

}  // namespace jishi
