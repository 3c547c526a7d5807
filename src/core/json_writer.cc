#include "core/json_writer.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace jishi {

void JsonWriter::grow(std::size_t n) {
  std::size_t want = len_ + n;
  std::size_t size = out_.size() < 256 ? 256 : out_.size();
  while (size < want) size *= 2;
  // The new room is written before it is read (take() cuts the text at len_): no zero fill.
  out_.resize_and_overwrite(size, [](char*, std::size_t room) { return room; });
}

JsonWriter& JsonWriter::key_escaped(std::string_view k) {
  comma();
  escaped(k);
  put(':');
  comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view s) {
  comma();
  escaped(s);
  comma_ = true;
  return *this;
}

void JsonWriter::digits(std::int64_t v) {
  char* at = reserve(20);  // "-9223372036854775808"
  len_ += static_cast<std::size_t>(std::to_chars(at, at + 20, v).ptr - at);
}

JsonWriter& JsonWriter::integer(std::int64_t v) {
  comma();
  digits(v);
  comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::integer_string(std::int64_t v) {
  comma();
  put('"');
  digits(v);
  put('"');
  comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::boolean(bool v) {
  comma();
  put(v ? std::string_view("true") : std::string_view("false"));
  comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::null() {
  comma();
  put("null");
  comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::string_or_null(const std::optional<std::string>& s) {
  return s ? string(*s) : null();
}

// As boost::json::serialize escapes: the two-character forms where JSON has them, \u00XX for
// the other control characters, everything else (UTF-8 included) as it is.
namespace {
// 0: as it is; otherwise the letter after the backslash ('u': \u00XX).
constexpr std::array<char, 256> kEscape = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['"'] = '"';
  t['\\'] = '\\';
  return t;
}();
}  // namespace

void JsonWriter::escaped(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Room is reserved once, then written through a pointer: for a short string the worst case
  // (six bytes per byte, \u00XX, plus the quotes); for a long one, exactly what it needs.
  std::size_t room = s.size() * 6 + 2;
  if (s.size() > 1024) {
    room = s.size() + 2;
    for (char ch : s) {
      char e = kEscape[static_cast<unsigned char>(ch)];
      room += e == 0 ? 0 : e == 'u' ? 5 : 1;
    }
  }
  char* const start = reserve(room);
  char* o = start;
  *o++ = '"';
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p != end) {
    // Byte by byte into the reserved room: keys and most values are a few bytes long, where a
    // memcpy per run costs more than the copy.
    auto c = static_cast<unsigned char>(*p++);
    char e = kEscape[c];
    if (e == 0) {
      *o++ = static_cast<char>(c);
      continue;
    }
    *o++ = '\\';
    *o++ = e;
    if (e == 'u') {
      *o++ = '0';
      *o++ = '0';
      *o++ = kHex[c >> 4];
      *o++ = kHex[c & 0xf];
    }
  }
  *o++ = '"';
  len_ += static_cast<std::size_t>(o - start);
}

}  // namespace jishi
