#include "core/json.h"

#include <boost/json.hpp>

#include "core/limits.h"

namespace jishi {

namespace json = boost::json;

namespace {
// Walks a parsed document checking the size limits Boost.JSON's parser does not enforce. On
// the first breach, `message` says what and `path` gets the offending value's JSON pointer,
// built only then, while the walk unwinds (a valid document costs no string work).
bool within_limits(const json::value& v, std::string& message, std::string& path) {
  switch (v.kind()) {
    case json::kind::string:
      if (v.get_string().size() <= limits::json_string_bytes_max) return true;
      message = "string longer than " + std::to_string(limits::json_string_bytes_max) + " bytes";
      return false;
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.size() > limits::json_container_items_max) {
        message = "array has too many items";
        return false;
      }
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!within_limits(a[i], message, path)) {
          path.insert(0, "/" + std::to_string(i));
          return false;
        }
      }
      return true;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.size() > limits::json_container_items_max) {
        message = "object has too many members";
        return false;
      }
      for (const auto& kv : o) {
        if (kv.key().size() > limits::json_string_bytes_max) {
          message = "member name too long";
          return false;
        }
        if (!within_limits(kv.value(), message, path)) {
          path.insert(0, "/" + std::string(kv.key()));
          return false;
        }
      }
      return true;
    }
    default:
      return true;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}
}  // namespace

Result<json::value> parse_json(std::string_view text) {
  json::parse_options opt;
  opt.max_depth = limits::json_depth_max;
  std::error_code ec;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec) {
    if (ec == json::error::too_deep)
      return fail(Code::validation_failed,
                  "JSON nests deeper than " + std::to_string(limits::json_depth_max));
    return fail(Code::invalid_json, "body is not valid JSON: " + ec.message());
  }
  std::string message, path;
  if (!within_limits(v, message, path)) return fail(Code::validation_failed, message, path);
  return v;
}

std::string json_to_string(const json::value& v) {
  return json::serialize(v);
}

FieldReader::FieldReader(const json::value& v, std::string pointer_prefix)
    : prefix_(std::move(pointer_prefix)) {
  object_ = v.if_object();
  if (object_ && object_->size() > 64)
    seen_more_ = std::make_unique<std::uint64_t[]>((object_->size() + 63) / 64);
  if (!object_)
    error_ =
        Error{Code::validation_failed, "expected a JSON object", prefix_.empty() ? "" : prefix_};
}

std::string FieldReader::pointer(std::string_view key) const {
  return prefix_ + "/" + std::string(key);
}

void FieldReader::set_error(Error e) {
  if (!error_) error_ = std::move(e);
}

const json::value* FieldReader::find(std::string_view key, bool required) {
  if (error_) return nullptr;
  auto it = object_->find(key);
  if (it != object_->end()) mark_seen(static_cast<std::size_t>(it - object_->begin()));
  if (it == object_->end() || it->value().is_null()) {
    if (required)
      set_error({Code::validation_failed, std::string(key) + " is required", pointer(key)});
    return nullptr;
  }
  return &it->value();
}

const json::value* FieldReader::value(std::string_view key, bool required) {
  return find(key, required);
}

std::optional<std::string> FieldReader::optional_string(std::string_view key, std::size_t max_bytes,
                                                        Trim trim_mode) {
  const json::value* v = find(key, false);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    set_error({Code::validation_failed, std::string(key) + " must be a string", pointer(key)});
    return std::nullopt;
  }
  std::string_view s = v->get_string();
  if (trim_mode == Trim::yes) s = trim(s);
  if (s.empty()) {
    set_error({Code::validation_failed, std::string(key) + " must not be empty", pointer(key)});
    return std::nullopt;
  }
  if (s.size() > max_bytes) {
    set_error({Code::validation_failed,
               std::string(key) + " is longer than " + std::to_string(max_bytes) + " bytes",
               pointer(key)});
    return std::nullopt;
  }
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\n' && c != '\t') {
      set_error({Code::validation_failed, std::string(key) + " contains control characters",
                 pointer(key)});
      return std::nullopt;
    }
  }
  return std::string(s);
}

std::string FieldReader::string(std::string_view key, std::size_t max_bytes, Trim trim_mode) {
  if (!error_ && !object_->contains(key)) {
    find(key, true);
    return {};
  }
  auto s = optional_string(key, max_bytes, trim_mode);
  if (!s && !error_) find(key, true);
  return s.value_or(std::string());
}

std::optional<std::int64_t> FieldReader::optional_integer(std::string_view key, std::int64_t min,
                                                          std::int64_t max) {
  const json::value* v = find(key, false);
  if (!v) return std::nullopt;
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64()) {
    set_error({Code::validation_failed, std::string(key) + " is out of range", pointer(key)});
    return std::nullopt;
  } else {
    set_error({Code::validation_failed, std::string(key) + " must be an integer", pointer(key)});
    return std::nullopt;
  }
  if (n < min || n > max) {
    set_error({Code::validation_failed,
               std::string(key) + " must be between " + std::to_string(min) + " and " +
                   std::to_string(max),
               pointer(key)});
    return std::nullopt;
  }
  return n;
}

std::int64_t FieldReader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  if (!error_ && !object_->contains(key)) {
    find(key, true);
    return 0;
  }
  return optional_integer(key, min, max).value_or(0);
}

std::optional<bool> FieldReader::optional_bool(std::string_view key) {
  const json::value* v = find(key, false);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    set_error({Code::validation_failed, std::string(key) + " must be true or false", pointer(key)});
    return std::nullopt;
  }
  return v->get_bool();
}

void FieldReader::mark_seen(std::size_t i) {
  std::uint64_t bit = std::uint64_t{1} << (i % 64);
  if (seen_more_)
    seen_more_[i / 64] |= bit;
  else
    seen_ |= bit;
}

bool FieldReader::was_seen(std::size_t i) const {
  std::uint64_t bit = std::uint64_t{1} << (i % 64);
  return ((seen_more_ ? seen_more_[i / 64] : seen_) & bit) != 0;
}

Status FieldReader::finish() {
  if (error_) return fail(*error_);
  for (std::size_t i = 0; i < object_->size(); ++i) {
    if (!was_seen(i)) {
      std::string_view key = object_->begin()[i].key();
      return fail(Code::validation_failed, "unknown field " + std::string(key), pointer(key));
    }
  }
  return {};
}

}  // namespace jishi
