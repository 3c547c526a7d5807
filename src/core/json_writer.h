// JSON text written straight into a string, for the replies on hot paths: building a
// boost::json tree first (allocating every key and value, growing each object's table, then
// serialising and freeing it) cost as much as the checkout's whole write. The output is exactly
// what boost::json::serialize gives for the same tree (same escapes, no spaces), so a writer
// and a tree builder for one shape can be checked against each other.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jishi {

class JsonWriter {
 public:
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  // The key of the next member (inside an object).
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view s);
  JsonWriter& integer(std::int64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  JsonWriter& string_or_null(const std::optional<std::string>& s);
  std::string take() { return std::move(out_); }

 private:
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  void before_value();
  void escaped(std::string_view s);
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace jishi
