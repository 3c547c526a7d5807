#include "core/timezone.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace jishi {

namespace {

constexpr std::int64_t kDayS = 86'400;
constexpr std::int64_t kUsPerS = 1'000'000;
// A TZif file for one zone is a few KiB; refuse anything absurd rather than read it whole.
constexpr std::size_t kTzifBytesMax = 1 << 20;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::int64_t be(const std::string& s, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

// "+08:00", "-05:30", "+0800": seconds east of UTC.
bool parse_fixed(std::string_view s, std::int32_t& out) {
  if (s.size() != 6 && s.size() != 5) return false;
  if (s[0] != '+' && s[0] != '-') return false;
  std::string digits;
  for (char c : s.substr(1))
    if (c != ':') digits += c;
  if (digits.size() != 4 || (s.size() == 6 && s[3] != ':')) return false;
  for (char c : digits)
    if (c < '0' || c > '9') return false;
  int h = (digits[0] - '0') * 10 + (digits[1] - '0');
  int m = (digits[2] - '0') * 10 + (digits[3] - '0');
  if (h > 14 || m > 59) return false;
  out = (h * 3600 + m * 60) * (s[0] == '-' ? -1 : 1);
  return true;
}

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.find("..") != name.npos)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '-' || c == '+';
  });
}

}  // namespace

TimeZone TimeZone::fixed(std::string name, std::int32_t offset_s) {
  TimeZone z;
  z.name_ = std::move(name);
  z.initial_offset_s_ = offset_s;
  return z;
}

const TimeZone& TimeZone::asia_shanghai() {
  static const TimeZone zone = fixed("Asia/Shanghai", 8 * 3600);
  return zone;
}

Result<TimeZone> TimeZone::load(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC") return fixed(std::string(name), 0);
  std::int32_t offset = 0;
  if (parse_fixed(name, offset)) return fixed(std::string(name), offset);
  if (!valid_zone_name(name))
    return fail(Code::validation_failed,
                "time zone must be an IANA name such as Asia/Shanghai, UTC, or +08:00");
  const char* dir = std::getenv("TZDIR");
  std::string path =
      std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (name == "Asia/Shanghai") return asia_shanghai();
    return fail(Code::validation_failed, "unknown time zone " + std::string(name));
  }
  std::string data;
  data.resize(kTzifBytesMax);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  auto bad = [&] { return fail(Code::validation_failed, path + " is not a TZif file"); };
  if (data.size() < 44 || data.compare(0, 4, "TZif") != 0) return bad();

  // Header: magic, version, 15 reserved, then six counts (RFC 8536 section 3.1).
  auto counts = [&](std::size_t h, std::int64_t c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = be(data, h + 20 + 4 * i, 4);
  };
  std::int64_t c[6];  // isutcnt isstdcnt leapcnt timecnt typecnt charcnt
  counts(0, c);
  int time_bytes = 4;
  std::size_t h = 0;
  auto block_size = [&](int tb) {
    return c[3] * tb + c[3] + c[4] * 6 + c[5] + c[2] * (tb + 4) + c[1] + c[0];
  };
  if (data[4] >= '2') {  // skip the 32-bit block: the 64-bit one follows its own header
    h = 44 + static_cast<std::size_t>(block_size(4));
    if (data.size() < h + 44 || data.compare(h, 4, "TZif") != 0) return bad();
    counts(h, c);
    time_bytes = 8;
  }
  for (auto n : c)
    if (n < 0 || n > 100'000) return bad();
  std::size_t p = h + 44;
  if (data.size() < p + static_cast<std::size_t>(block_size(time_bytes)) || c[4] < 1) return bad();
  std::size_t times_at = p;
  std::size_t idx_at = times_at + c[3] * time_bytes;
  std::size_t types_at = idx_at + c[3];
  auto type_offset = [&](std::int64_t i) {
    return static_cast<std::int32_t>(be(data, types_at + 6 * i, 4));
  };
  TimeZone z;
  z.name_ = std::string(name);
  // RFC 8536: local time before the first transition uses type 0.
  z.initial_offset_s_ = type_offset(0);
  for (std::int64_t i = 0; i < c[3]; ++i) {
    auto type = static_cast<unsigned char>(data[idx_at + i]);
    if (type >= c[4]) return bad();
    z.transitions_.push_back({be(data, times_at + i * time_bytes, time_bytes), type_offset(type)});
  }
  return z;
}

std::int32_t TimeZone::offset_s_at(std::int64_t unix_us) const {
  std::int64_t s = floor_div(unix_us, kUsPerS);
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), s,
                             [](std::int64_t v, const Transition& t) { return v < t.at_s; });
  if (it == transitions_.begin()) return initial_offset_s_;
  // After the last transition the last offset stays: exact for zones without DST today; zones
  // with DST rules have transitions written out to 2037 in the system database.
  return std::prev(it)->offset_s;
}

std::int64_t TimeZone::day_start_us(std::int64_t unix_us) const {
  std::int64_t offset_us = std::int64_t{offset_s_at(unix_us)} * kUsPerS;
  std::int64_t local_midnight_us =
      floor_div(unix_us + offset_us, kDayS * kUsPerS) * kDayS * kUsPerS;
  // The offset at midnight can differ from the offset now (a DST change during the day).
  std::int64_t guess = local_midnight_us - offset_us;
  return local_midnight_us - std::int64_t{offset_s_at(guess)} * kUsPerS;
}

}  // namespace jishi
