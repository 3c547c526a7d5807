// JSON text written straight into a string, for the replies on hot paths: building a
// boost::json tree first (allocating every key and value, growing each object's table, then
// serialising and freeing it) cost as much as the checkout's whole write. The output is exactly
// what boost::json::serialize gives for the same tree (same escapes, no spaces), so a writer
// and a tree builder for one shape can be checked against each other.
//
// It is cheap per call (a checkout's reply is ~60 keys and ~30 strings): the text goes into a
// buffer that grows geometrically and is written through a pointer, and the comma before a
// value is decided by one flag, with no stack of open containers. It does not check that calls
// are balanced; the tests of each reply do.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace jishi {

// A member name written as it is: a string literal, checked at compile time to need no escape
// (the replies' keys are all literals, and escaping one cost ~150 instructions of a reply's
// ~60). Runtime names go through JsonWriter::key_escaped.
struct JsonKey {
  template <std::size_t N>
  consteval JsonKey(const char (&k)[N]) : text(k, N - 1) {  // NOLINT: implicit on purpose
    for (char c : text)
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\')
        throw "a JsonKey literal must need no JSON escape";
  }
  std::string_view text;
};

class JsonWriter {
 public:
  // `expected_bytes`: room made up front for a text of about that size (the checkout's reply
  // is ~2.5 KB), instead of growing to it from 256 bytes, a copy per doubling.
  explicit JsonWriter(std::size_t expected_bytes = 0) {
    if (expected_bytes > 0) grow(expected_bytes);
  }
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  // The key of the next member (inside an object).
  JsonWriter& key(JsonKey k) {
    comma();
    char* o = reserve(k.text.size() + 3);
    *o++ = '"';
    std::memcpy(o, k.text.data(), k.text.size());
    o += k.text.size();
    *o++ = '"';
    *o++ = ':';
    len_ += k.text.size() + 3;
    comma_ = false;
    return *this;
  }
  JsonWriter& key_escaped(std::string_view k);
  JsonWriter& string(std::string_view s);
  JsonWriter& integer(std::int64_t v);
  // An integer as a JSON string ("123"): ids, which exceed a double's 53 bits.
  JsonWriter& integer_string(std::int64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  JsonWriter& string_or_null(const std::optional<std::string>& s);
  std::string take() {
    out_.resize(len_);
    len_ = 0;
    comma_ = false;
    return std::move(out_);
  }

 private:
  // Room for n more bytes at out_.data() + len_.
  char* reserve(std::size_t n) {
    if (out_.size() - len_ < n) grow(n);
    return out_.data() + len_;
  }
  void grow(std::size_t n);
  void put(char c) { *reserve(1) = c, ++len_; }
  void put(std::string_view s) {
    std::memcpy(reserve(s.size()), s.data(), s.size());
    len_ += s.size();
  }
  void comma() {
    if (comma_) put(',');
  }
  JsonWriter& open(char bracket) {
    comma();
    put(bracket);
    comma_ = false;
    return *this;
  }
  JsonWriter& close(char bracket) {
    put(bracket);
    comma_ = true;
    return *this;
  }
  void escaped(std::string_view s);
  void digits(std::int64_t v);
  std::string out_;  // its size is the capacity in use; len_ bytes are written
  std::size_t len_ = 0;
  bool comma_ = false;  // a value was written last: the next one needs a comma
};

}  // namespace jishi
